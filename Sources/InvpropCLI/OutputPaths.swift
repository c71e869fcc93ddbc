import ArgumentParser
import Data
import Evaluation

/// Refuses a result file `path` given to `option` that could not be written (its folder missing,
/// a file, or not writable), so the mistake is reported before the work rather than after it.
func checkOutputFile(_ path: String?, option: String) throws {
    guard let path, let problem = OutputLocation.fileProblem(path) else { return }
    throw ValidationError("\(option): \(problem)")
}

/// Refuses an output folder `path` given to `option` that could not be used or created.
func checkOutputFolder(_ path: String?, option: String) throws {
    guard let path, let problem = OutputLocation.folderProblem(path) else { return }
    throw ValidationError("\(option): \(problem)")
}

/// Where `session`'s result `name` goes (`json`, else the run directory), checked before the
/// evaluation starts: the default lies in the checkpoint's folder, which may be read-only.
func checkedResultPath(_ session: EvaluationSession, _ name: String, json: String?) throws -> String {
    let path = session.resultPath(name, json: json)
    try checkOutputFile(path, option: json == nil ? "the result file (choose another with --json)" : "--json")
    return path
}

/// Refuses an augmentation preset name given to `option` that does not exist, before any
/// checkpoint is opened or feature computed.
func checkTransform(_ name: String?, option: String) throws {
    guard let name else { return }
    do { _ = try AugmentationPresets.pipeline(named: name) } catch {
        throw ValidationError("\(option): \(error)")
    }
}

/// Refuses a value of `option` that is not a finite number at least `minimum` (or above it when
/// `inclusive` is false): an infinite rate or decay trains to chance level without an error.
func checkFinite(_ value: Float, option: String, atLeast minimum: Float, inclusive: Bool = true) throws {
    let inRange = inclusive ? value >= minimum : value > minimum
    guard value.isFinite, inRange else {
        throw ValidationError("\(option) must be a finite number \(inclusive ? "≥" : ">") \(minimum.formatted()), got \(value)")
    }
}

private extension Float {
    /// `0` rather than `0.0` in messages.
    func formatted() -> String { self == rounded() && abs(self) < 1e9 ? String(Int(self)) : String(self) }
}
