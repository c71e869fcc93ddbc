import ArgumentParser
import Collectives
import Dispatch
import Foundation
import Kernels
import Methods
import Models
import Data
import Training

/// `invprop train`: self-supervised training from a preset with any option overridden.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a network on unlabeled images with Invariance Propagation or another method (--method).",
        discussion: """
        With no options, trains the Fashion-MNIST CPU preset on the embedded dataset. Every epoch \
        appends a line to metrics.jsonl in the output directory, writes checkpoint-last.safetensors \
        (and checkpoint-best.safetensors when the kNN monitor improves). Ctrl-C saves and stops; \
        --resume continues from the last checkpoint.

        Presets (recipe files, see docs/recipes.md): \(Recipe.catalog.map { "\($0.name) (\($0.description))" }.joined(separator: "; ")).
        """)

    @Option(help: "Starting point: \(Recipe.builtinNames.joined(separator: ", ")) (default \(Recipe.defaultPreset)).") var preset: String?
    @Option(help: "A recipe file (YAML or JSON: train options by name, and the preset it starts from), e.g. one written by `invprop tune`.") var recipe: String?
    @Option(help: "Run directory (default: runs/<dataset>-<method>-<time>).") var output: String?
    @Flag(help: "Continue the run in --output from its last checkpoint.") var resume = false

    @OptionGroup var options: TrainOptions

    /// The preset or recipe with every given option applied; for an image folder, the choices
    /// the preset made for another dataset are made from the images (`FolderDefaults`).
    func resolvedConfig(log: (String) -> Void = { _ in }) throws -> TrainingConfig {
        var c = try Recipe.starting(preset: preset, recipe: recipe).configuration()
        try options.apply(to: &c)
        if !resume {
            try options.chooseFolderDefaults(for: &c, preset: preset, log: log)
            try options.chooseDomainDefaults(for: &c, preset: preset, log: log)
        }
        return c
    }


    /// Refuses to continue `directory`, a run of `runMethod`, with another `--method` (`asked`).
    static func refuseOtherMethod(_ asked: String?, runMethod: String, directory: URL) throws {
        guard let asked, asked != runMethod else { return }
        throw ValidationError("\(directory.path) holds a \(runMethod) run; it cannot be resumed with --method \(asked) "
                              + "(start a new run with another --output)")
    }

    func validate() throws {
        if resume && output == nil { throw ValidationError("--resume needs --output (the run directory to continue)") }
        if let size = options.imageSize, !(8...1024).contains(size) { throw ValidationError("--image-size must be in 8…1024, got \(size)") }
        let config: TrainingConfig
        do { config = try resolvedConfig() } catch let error as TrainingError { throw ValidationError(error.description) }
        // Another method's option is named as such before its value is judged.
        try options.refuseOptionsOfOtherMethods(than: config.method)
        do { try config.validate() } catch let error as TrainingError { throw ValidationError(error.description) }
        if options.imageSize != nil && config.dataset != "folder" && !MultiDomainCatalog.isMultiDomain(config.dataset) {
            throw ValidationError("--image-size sets the training size of --dataset folder, pacs or domains; \(config.dataset) has its own size")
        }
    }

    func run() throws {
        let communicator: any Communicator
        do { communicator = try Launch.communicator() } catch { throw failure(error) }
        do {
            try train(communicator)
        } catch {
            // One rank's error ends the whole job: the others would wait in a collective forever.
            guard communicator.size > 1 else { throw error }
            if !(error is ExitCode) { _ = failure(error) }
            FileHandle.standardError.write(Data("invprop: rank \(communicator.rank) of \(communicator.size) failed; ending the job\n".utf8))
            communicator.abort(code: 1)
        }
        (communicator as? MPICommunicator)?.finalize()
    }

    /// The run on this process: every rank trains, rank 0 alone prints and writes files.
    private func train(_ communicator: any Communicator) throws {
        let primary = communicator.isPrimary
        var config = try resolvedConfig(log: primary ? note : { _ in })
        if communicator.size > 1 && options.threads == nil {
            // Each process of a machine takes its share of the cores.
            config.threads = max(1, ProcessInfo.processInfo.activeProcessorCount / Launch.localProcessCount())
        }
        // A default name comes from the clock: rank 0's, so that every rank writes to one run.
        let directory = URL(fileURLWithPath: try communicator.broadcast(output ?? defaultRunDirectory(config)))
        let progress: ProgressPrinter? = primary ? ProgressPrinter() : nil
        let trainer: Trainer
        do { trainer = try Trainer(config: config, runDirectory: directory, resume: resume, observer: progress, communicator: communicator) } catch {
            throw failure(error)
        }
        let c = trainer.config
        progress?.diagnosticUnits = trainer.diagnosticUnits
        do { try Self.refuseOtherMethod(options.method, runMethod: c.method, directory: directory) } catch { throw failure(error) }
        let processes = communicator.size > 1 ? ", \(communicator.size) processes × batch \(c.batchSize / communicator.size)"
            + (c.syncBatchNorm == true ? ", synchronised batch norm" : "") : ""
        // The run's length: epochs, cut by --max-steps and --max-minutes where given.
        let length = "\(c.epochs) epochs" + (c.maxSteps.map { _ in " cut at step \(trainer.stepLimit)" } ?? "")
            + (c.maxMinutes.map { " or \($0) minutes, whichever ends first" } ?? "")
        progress?.note("training \(c.method) on \(c.dataset) (\(c.preset) preset): ResNet-\(c.model.depth) width \(c.model.width), "
                      + "\(length), batch \(c.batchSize)\(processes), \(trainer.resolvedPrecision == .bf16 ? "bf16" : "fp32") (\(ComputeCapabilities.instructionSet)); "
                      + "run directory \(directory.path)")
        let interrupt = InterruptFlag()
        let summary: TrainingSummary
        do {
            summary = try trainer.run(observer: progress) { interrupt.requested ? .saveAndStop : .none }
        } catch {
            progress?.finishLine()
            throw failure(error)
        }
        progress?.finishLine()
        if primary { printSummary(summary, config: c, directory: directory) }
    }

    /// The closing lines: the final and best kNN scores, and where the run files are.
    private func printSummary(_ summary: TrainingSummary, config c: TrainingConfig, directory: URL) {
        if summary.finished && c.knnEvery == 0 {
            print("finished \(summary.completedEpochs) epochs. kNN monitor off (--knn-every 0): no accuracy measured and no "
                  + "checkpoint-best; checkpoint-last holds the final network (invprop eval knn \(directory.path) scores it)")
        } else if summary.finished && summary.bestKNNTop1 == nil {
            print("finished \(summary.completedEpochs) epochs. No kNN score: the dataset has no labelled validation or test split; "
                  + "the label-free health signals in metrics.jsonl (docs/health.md) say how it went; checkpoint-last holds the final network")
        } else if summary.finished {
            let last = summary.lastRecord
            let split = last?.monitorSplit ?? "test"
            var knn = Self.scores(bank: last?.knnTop1, recomputed: last?.knnRecomputedTop1) ?? "n/a (no labelled \(split) split)"
            knn = "\(split) \(knn)"
            if let test = Self.scores(bank: last?.testKnnTop1, recomputed: last?.testKnnRecomputedTop1) { knn += "; test (once, final network) \(test)" }
            let best = summary.bestKNNTop1.map { String(format: "%.2f %% at epoch %d (%@)", $0, summary.bestEpoch ?? 0, split) } ?? "n/a"
            print("finished \(summary.completedEpochs) epochs. kNN top-1 (K \(c.knnK), σ \(c.knnTemperature)): \(knn); best \(best) → checkpoint-best")
        }
        // Only the files the run wrote: without the kNN monitor there is no checkpoint-best.
        let files = ["config.json", "metrics.jsonl", "checkpoint-last.safetensors", "checkpoint-best.safetensors"]
            .filter { FileManager.default.fileExists(atPath: directory.appendingPathComponent($0).path) }
        print("run files: \(directory.path) (\(files.joined(separator: ", ")))")
    }

    /// "84.50 % (bank), 85.10 % (recomputed)", or nil when neither was measured.
    static func scores(bank: Double?, recomputed: Double?) -> String? {
        let parts = [bank.map { String(format: "%.2f %% (bank)", $0) }, recomputed.map { String(format: "%.2f %% (recomputed)", $0) }].compactMap { $0 }
        return parts.isEmpty ? nil : parts.joined(separator: ", ")
    }

    func defaultRunDirectory(_ c: TrainingConfig) -> String {
        "runs/\(c.dataset)-\(c.method)-\(runTimestamp())"
    }
}

/// The time now as `yyyyMMdd-HHmmss`, for default run directory names.
func runTimestamp() -> String {
    let f = DateFormatter()
    f.dateFormat = "yyyyMMdd-HHmmss"
    return f.string(from: Date())
}

/// Set by the first Ctrl-C (the trainer then saves and stops); a second Ctrl-C exits at once.
final class InterruptFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    private let source: DispatchSourceSignal

    init() {
        signal(SIGINT, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { [unowned self] in
            self.lock.lock()
            self.count += 1
            let n = self.count
            self.lock.unlock()
            if n == 1 {
                FileHandle.standardError.write("\ninterrupt: saving a checkpoint after this step (Ctrl-C again to quit at once)\n".data(using: .utf8)!)
            } else {
                exit(130)
            }
        }
        source.resume()
    }

    var requested: Bool { lock.lock(); defer { lock.unlock() }; return count > 0 }
}

/// Prints a one-line progress bar per epoch to standard error (a line every 10 % when not a terminal).
final class ProgressPrinter: TrainingObserver {
    /// A diagnostic for the epoch line: a fraction as a percentage, whole numbers without
    /// decimals, others to three decimals; followed by its unit when it has one.
    static func formatted(_ value: Double, unit: String?) -> String {
        if unit == DiagnosticUnit.fraction { return String(format: "%.1f %%", 100 * value) }
        let number = value == value.rounded() && abs(value) < 1e9 ? String(Int(value)) : String(format: "%.3f", value)
        return unit.map { "\(number) \($0)" } ?? number
    }

    private let isTerminal = isatty(2) != 0
    private var lastPrinted = -1
    private var open = false
    /// The unit of each diagnostic that has one (`Trainer.diagnosticUnits`).
    var diagnosticUnits: [String: String] = [:]

    func step(_ r: StepReport) {
        let width = 24
        // Clamped: a bar is no place to trap on a position the trainer should never report.
        let inside = r.steps > 0 && (0...r.steps).contains(r.step)
        let filled = inside ? width * r.step / r.steps : r.step > 0 ? width : 0
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        var text = String(format: "epoch %d/%d [%@] %d/%d loss %.4f", r.epoch, r.epochs, bar, r.step, r.steps, r.loss)
        if r.terms.count > 1 { text += " (" + r.terms.map { String(format: "%@ %.4f", $0.name, $0.value) }.joined(separator: " ") + ")" }
        text += String(format: " lr %.4g %.0f img/s ETA %@", r.learningRate, r.imagesPerSecond, Self.duration(r.etaSeconds))
        if isTerminal {
            FileHandle.standardError.write(("\r" + text + "\u{1B}[K").data(using: .utf8)!)
            open = true
        } else {
            let decile = inside ? r.step * 10 / r.steps : r.step > 0 ? 10 : 0
            if decile != lastPrinted || r.step == r.steps {
                lastPrinted = decile
                FileHandle.standardError.write((text + "\n").data(using: .utf8)!)
            }
        }
    }

    func epoch(_ r: EpochRecord) {
        finishLine()
        var text = String(format: "epoch %d: loss %.4f, %.0f img/s, %.1f min elapsed", r.epoch, r.loss, r.imagesPerSecond, r.wallSeconds / 60)
        let split = r.monitorSplit ?? "test"
        if let k = r.knnTop1 { text += String(format: ", %@ kNN top-1 %.2f %% top-5 %.2f %%", split, k, r.knnTop5 ?? 0) }
        if let k = r.knnRecomputedTop1 { text += String(format: ", %@ kNN (recomputed) top-1 %.2f %% top-5 %.2f %%", split, k, r.knnRecomputedTop5 ?? 0) }
        if let k = r.testKnnRecomputedTop1 ?? r.testKnnTop1 { text += String(format: ", test kNN top-1 %.2f %% (once, %@)", k, r.testKnnRecomputedTop1 == nil ? "bank" : "recomputed") }
        for (name, value) in r.diagnostics.sorted(by: { $0.key < $1.key }) {
            text += ", \(name.replacingOccurrences(of: "_", with: " ")) " + Self.formatted(value, unit: diagnosticUnits[name])
        }
        print(text)
        fflush(stdout)   // keep epoch lines in order with the progress on stderr when both go to a file
        lastPrinted = -1
    }

    func note(_ message: String) {
        finishLine()
        FileHandle.standardError.write((message + "\n").data(using: .utf8)!)
    }

    /// Ends an open progress line.
    func finishLine() {
        if open { FileHandle.standardError.write("\n".data(using: .utf8)!); open = false }
    }

    static func duration(_ s: Double) -> String {
        guard s.isFinite else { return "?" }
        let t = Int(s)
        return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60) : String(format: "%d:%02d", t / 60, t % 60)
    }
}

extension Stem: ExpressibleByArgument {}
extension HeadKind: ExpressibleByArgument {}
extension BankInitialization: ExpressibleByArgument {}
extension MonitorFeatures: ExpressibleByArgument {}
extension WarmUp: ExpressibleByArgument {}
extension BankPrecision: ExpressibleByArgument {}
extension PositiveSelection: ExpressibleByArgument {}
extension PropagationMode: ExpressibleByArgument {}
extension DecayKind: ExpressibleByArgument {}
extension UnMixTargets: ExpressibleByArgument {}
