import ArgumentParser
import Data
import Dispatch
import Evaluation
import Foundation
import Training
import RunFormat

/// `invprop tune`: chooses a recipe for a dataset within a time budget, by successive halving
/// over the levers that mattered in docs/results.md, scored by validation kNN only.
struct TuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Choose a training recipe for a dataset within a time budget, scored on a validation split.",
        discussion: """
        Screens the base recipe and one-change variants of it (crop scale, flips, learning rate, \
        invariance warm-up, bank start, temperature, width) with short runs on a subset of the \
        training images, by successive halving: every candidate trains --first-epochs epochs, the \
        best 1/η go on with η times the epochs, and a combination of the first rung's winners joins \
        them. Runs are scored by kNN top-1 on held-out training images (--validation of the base, \
        or 10 %); the test split is never read. Writes DIR/recipe.yaml (use it with `invprop train \
        --recipe`) and DIR/tune.jsonl (every trial). Compares candidates at equal epochs.
        """)

    @Option(help: "Base preset (default \(Recipe.defaultPreset)).") var preset: String?
    @Option(help: "Base recipe file instead of a preset.") var recipe: String?
    @Option(help: "Wall-clock budget of the screening, minutes.") var minutes: Double = 20
    @Option(help: "Output directory (default: runs/tune-<dataset>-<time>).") var output: String?
    @Option(help: "Training images per screening run (0: all).") var screenSubset: Int = 10_000
    @Option(help: "Epochs of the first rung.") var firstEpochs: Int = 2
    @Option(help: "Halving factor η.") var eta: Int = 2
    @Option(help: "Levers to screen, comma-separated, from: \(TuneLevers.all.joined(separator: ", ")).") var levers: String = TuneLevers.standard.joined(separator: ",")
    @OptionGroup(title: "Fixed training options (applied to the base before screening)") var options: TrainOptions

    /// The base configuration, with a validation split however the base was written.
    func baseConfig() throws -> (Recipe, TrainingConfig) {
        let base = try Recipe.starting(preset: preset, recipe: recipe)
        var config = try base.configuration()
        try options.apply(to: &config)
        try options.chooseFolderDefaults(for: &config, preset: preset, log: { _ in })
        if config.validation?.holdsNone ?? true { config.validation = .percent(10) }
        return (base, config)
    }

    /// The screened levers, checked against the known names.
    func chosenLevers() throws -> [String] {
        let names = levers.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        if let bad = names.first(where: { !TuneLevers.all.contains($0) }) {
            throw ValidationError("--levers: unknown lever '\(bad)'; known: \(TuneLevers.all.joined(separator: ", "))")
        }
        return names
    }

    func validate() throws {
        guard minutes > 0, minutes.isFinite else { throw ValidationError("--minutes must be > 0, got \(minutes)") }
        guard screenSubset >= 0 else { throw ValidationError("--screen-subset must be ≥ 0, got \(screenSubset)") }
        guard firstEpochs >= 1 else { throw ValidationError("--first-epochs must be ≥ 1, got \(firstEpochs)") }
        guard eta >= 2 else { throw ValidationError("--eta must be ≥ 2, got \(eta)") }
        try checkOutputFolder(output, option: "--output")
        _ = try chosenLevers()
        let config: TrainingConfig
        do { config = try baseConfig().1; try config.validate() } catch let error as TrainingError { throw ValidationError(error.description) }
        try options.refuseOptionsOfOtherMethods(than: config.method)
    }

    func run() throws {
        let (base, config) = try baseConfig()
        let directory = URL(fileURLWithPath: output ?? "runs/tune-\(config.dataset)-\(runTimestamp())")
        try reportingFailure {
            do { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
                throw ValidationError("--output: cannot create \(directory.path): \(OutputLocation.folderProblem(directory.path) ?? error.localizedDescription)")
            }
        }
        let candidates = TuneLevers.candidates(for: config, levers: try chosenLevers())
        print("tune: \(candidates.count) candidates over \(config.dataset), \(Int(minutes)) minutes, "
              + "validation \(config.validation!) images held out, screening on \(screenSubset == 0 ? "all" : String(screenSubset)) training images")
        let log = directory.appendingPathComponent("tune.jsonl")
        try? FileManager.default.removeItem(at: log)
        let started = DispatchTime.now().uptimeNanoseconds
        let elapsed = { Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9 }
        let halving = try SuccessiveHalving(candidates: candidates, firstEpochs: firstEpochs, eta: eta, budgetSeconds: minutes * 60)
        var count = 0
        let result = try halving.run(trial: { candidate, epochs, rung in
            count += 1
            let trial = try TuneTrialRunner.run(candidate, epochs: epochs, base: config, subset: screenSubset,
                                                directory: directory.appendingPathComponent(String(format: "trial-%03d", count)))
            let line = String(format: "%5.1f min  %2d epochs  %6.2f %%  %@", elapsed() / 60, epochs, trial.score, candidate.name)
            print(line)
            fflush(stdout)
            try appendJSONLine(TuneTrial(rung: rung, epochs: epochs, candidate: candidate, score: trial.score, seconds: trial.seconds), to: log)
            return trial
        }, combine: TuneLevers.combination, elapsed: elapsed)
        let recipeFile = directory.appendingPathComponent("recipe.yaml")
        try TuneLevers.recipeText(winner: result.winner, base: base, fixed: options.givenArguments, config: config, trials: result.trials)
            .write(to: recipeFile, atomically: true, encoding: .utf8)
        print(String(format: "winner: %@ (%.2f %% validation kNN after %d epochs, rung %d); %d trials in %.1f minutes",
                     result.winner.candidate.name, result.winner.score, result.winner.epochs, result.winner.rung + 1, result.trials.count, elapsed() / 60))
        print("recipe: \(recipeFile.path) — train with: invprop train --recipe \(recipeFile.path)")
    }
}

/// Runs one screening trial: the base configuration with the candidate's options, on a subset,
/// scored by validation kNN at its last epoch; its checkpoints are removed afterwards.
enum TuneTrialRunner {
    static func run(_ candidate: TuneCandidate, epochs: Int, base: TrainingConfig, subset: Int,
                    directory: URL) throws -> (score: Double, seconds: Double) {
        var config = base
        var arguments: [String] = []
        for (key, value) in candidate.overrides.sorted(by: { $0.key < $1.key }) { arguments += ["--\(key)", value] }
        try TrainOptions.parse(arguments).apply(to: &config)
        config.epochs = epochs
        config.knnEvery = epochs
        config.purity = false
        if subset > 0 { config.trainSubset = min(subset, base.trainSubset ?? subset) }   // never more images than the base trains on
        if config.warmupEpochs >= Double(epochs) { config.warmupEpochs = 0 }
        try? FileManager.default.removeItem(at: directory)
        let trainer = try Trainer(config: config, runDirectory: directory, resume: false)
        trainer.scoresTestAtEnd = false   // screening never reads the test split
        let summary = try trainer.run()
        for name in RunFileName.checkpointsByPreference {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }
        guard let record = summary.lastRecord, let score = record.knnRecomputedTop1 ?? record.knnTop1 else {
            throw ValidationError("tune needs a labelled training split: the validation kNN of \(config.dataset) could not be computed")
        }
        return (score, record.wallSeconds)
    }
}
