import ArgumentParser
import Dispatch
import Foundation
import Kernels
import Methods
import Tensors
import Training

/// `invprop bench loop`: how close the whole training loop comes to its bare network step.
struct BenchLoop: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "loop",
        abstract: "The bare network step, the loss with its parts and the whole training loop of InvP and NPID, in one run, with their ratio.",
        discussion: """
        Starts from a preset or recipe (default: the Fashion-MNIST CPU preset, N 55 000 after its validation split, M 4 096, \
        D 128, batch 128) with any `invprop train` option applied, and times, each as the median over --steps steps after --warmup: (1) the bare network step (forward, \
        backward, SGD on random images of the preset's size), (2) the loss and its gradient with their parts at the \
        preset's N, M and D, (3) the whole `invprop train` loop (loader, network, loss, optimizer, bank and table \
        updates) of each method, timed between consecutive steps of a real run, with the kNN monitor and health \
        signals off (they run once an epoch; metrics.jsonl gives their seconds). Ratio: loop images/s over bare images/s. \
        The two are interleaved step by step: after every step of the run, one bare step runs (outside the loop's \
        timing), and each ratio is of a loop step and the bare step right after it, so that a machine whose speed \
        drifts (a shared host) moves both sides of a ratio together; the table gives the medians.
        """)

    @Option(help: "Preset to start from (default \(Recipe.defaultPreset)).") var preset: String?
    @Option(help: "Recipe file to start from instead of a preset.") var recipe: String?
    @Option(help: "Timed steps (median reported).") var steps = 30
    @Option(help: "Untimed warm-up steps.") var warmup = 5
    @OptionGroup(title: "Training options (applied to the preset or recipe; --method invp or npid times one method, default both)")
    var options: TrainOptions

    /// The methods to time: the one `--method` names, else InvP and NPID.
    var methods: [String] { options.method.map { [$0] } ?? ["invp", "npid"] }

    func validate() throws {
        if let bad = methods.first(where: { !["invp", "npid"].contains($0) }) {
            throw ValidationError("--method must be invp or npid (or absent for both), got \(bad)")
        }
        guard steps >= 1, warmup >= 1 else { throw ValidationError("--steps and --warmup must be ≥ 1") }
        if let threads = options.threads, threads < 1 { throw ValidationError("--threads must be ≥ 1, got \(threads)") }
        if let precision = options.precision, !["fp32", "bf16", "auto"].contains(precision) {
            throw ValidationError("--precision must be fp32, bf16 or auto, got \(precision)")
        }
    }

    /// The preset (or recipe) with the options given, the monitor, health signals and bank start
    /// off (they run once an epoch or once a run, not in a step).
    func baseConfig() throws -> TrainingConfig {
        var base = try Recipe.starting(preset: preset, recipe: recipe).configuration()
        try options.apply(to: &base)
        try options.chooseFolderDefaults(for: &base, preset: preset, log: { _ in })
        (base.knnEvery, base.healthSample, base.bankInitialization) = (0, 0, nil)
        return base
    }

    func run() throws {
        try reportingFailure { print(try measure(), terminator: "") }
    }

    /// Runs the measurements and returns the result table (Markdown).
    func measure() throws -> String {
        if let threads = options.threads { try ComputeThreads.set(threads) }
        let base = try baseConfig()
        let networkPrecision = base.resolvedPrecision
        print("invprop bench loop: \(base.preset), \(base.dataset), ResNet-\(base.model.depth) width \(base.model.width), batch \(base.batchSize), "
              + "\(networkPrecision == .bf16 ? "bf16" : "fp32"), bank products \((base.invp.bankPrecision ?? .fp32).resolved.rawValue), \(ComputeThreads.count) threads (\(ComputeCapabilities.instructionSet)), median of \(steps) steps")
        let bare = try BareStep(config: base.model, precision: networkPrecision, batchSize: base.batchSize, imageSize: Self.imageSize(base))
        var loops: [(method: String, pairs: [StepPair])] = [], n = 0
        for name in methods {
            note("\(name): \(warmup) + \(steps) steps of the loop, each followed by a bare step")
            var c = base
            c.method = name
            let loop = try Self.pairedSteps(c, bare: bare, warmup: warmup, steps: steps)
            loops.append((name, loop.pairs))
            n = loop.images
        }
        let loss = try LossBenchmark.run(batch: base.batchSize, bankSize: n, dimension: base.model.outputDimension, config: base.invp, steps: min(steps, 9))
        return Self.table(loops: loops, loss: loss, batch: base.batchSize, bankSize: n)
    }

    /// The result table: per method the bare step beside it and the loop with the median of the
    /// per-pair ratios, then the loss and its parts.
    static func table(loops: [(method: String, pairs: [StepPair])], loss: LossBenchmark.Result, batch: Int, bankSize n: Int) -> String {
        let images = Double(batch)
        var lines = ["| part | ms per step | images/s | of the bare step's images/s |", "|---|---|---|---|"]
        for (name, pairs) in loops {
            let bareMedian = median(pairs.map(\.bare)), loopMedian = median(pairs.map(\.loop))
            let ratio = median(pairs.map { $0.bare / $0.loop })
            lines.append(String(format: "| bare network step (beside %@) | %.1f | %.0f | 100 %% |", name, bareMedian * 1e3, images / bareMedian))
            lines.append(String(format: "| whole %@ loop | %.1f | %.0f | %.0f %% |", name, loopMedian * 1e3, images / loopMedian, 100 * ratio))
        }
        for (name, value) in loss.parts {
            lines.append(String(format: "| %@ (N %d) | %.1f | | |", name, n, value * 1e3))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The middle value (the upper one of the two middle values for an even count).
    static func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

    /// The side of the training images: the size a folder's augmentation names ("folder-invp-grey-64"),
    /// else 28 for Fashion-MNIST, 224 for ImageNet, 32 for the CIFAR-sized rest.
    static func imageSize(_ c: TrainingConfig) -> Int {
        if let last = c.augmentation.split(separator: "-").last, let size = Int(last) { return size }
        return c.augmentation.hasPrefix("fashion-mnist") ? 28 : c.augmentation.hasPrefix("imagenet") ? 224 : 32
    }

    /// One loop step's seconds and the bare step's run right after it.
    struct StepPair {
        var loop: Double, bare: Double
    }

    /// Seconds of `steps` consecutive steps of a real run of `c` (after `warmup`), each paired with
    /// a step of `bare` run right after it (between the loop's steps, outside their timing), and
    /// the run's training images; the run is abandoned (nothing saved) after `warmup + steps + 1` steps.
    static func pairedSteps(_ c: TrainingConfig, bare: BareStep, warmup: Int, steps: Int) throws -> (pairs: [StepPair], images: Int) {
        let directory = URL(fileURLWithPath: NSTemporaryDirectory() + "invprop-bench-loop-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let trainer = try Trainer(config: c, runDirectory: directory, resume: false)
        var pairs: [StepPair] = [], calls = 0
        var loopStarted = DispatchTime.now().uptimeNanoseconds
        var failure: Error?
        _ = try trainer.run {
            let loopEnded = DispatchTime.now().uptimeNanoseconds
            calls += 1
            do {
                let bareSeconds = try bare.time()
                if calls > warmup + 1 { pairs.append(StepPair(loop: Double(loopEnded - loopStarted) / 1e9, bare: bareSeconds)) }
            } catch {
                failure = error
                return .abandon
            }
            loopStarted = DispatchTime.now().uptimeNanoseconds
            return calls > warmup + steps ? .abandon : .none
        }
        if let failure { throw failure }
        guard !pairs.isEmpty else { throw ValidationError("the run ended before \(warmup + steps + 1) steps (an epoch is too short)") }
        return (pairs, trainer.trainingImageCount)
    }
}
