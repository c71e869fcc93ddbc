import ArgumentParser
import Dispatch
import Foundation
import Kernels
import Methods
import Models
import Training

/// `invprop train`: self-supervised training from a preset with any option overridden.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a network with Invariance Propagation (or NPID) on unlabeled images.",
        discussion: """
        With no options, trains the Fashion-MNIST CPU preset on the embedded dataset. Every epoch \
        appends a line to metrics.jsonl in the output directory, writes checkpoint-last.safetensors \
        (and checkpoint-best.safetensors when the kNN monitor improves). Ctrl-C saves and stops; \
        --resume continues from the last checkpoint.

        Presets: \(TrainingPresets.catalog.map { "\($0.name) (\($0.description))" }.joined(separator: "; ")).
        """)

    @Option(help: "Starting point: \(TrainingPresets.names.joined(separator: ", ")).") var preset = "fashion-mnist"
    @Option(help: "Run directory (default: runs/<dataset>-<method>-<time>).") var output: String?
    @Flag(help: "Continue the run in --output from its last checkpoint.") var resume = false

    @Option(help: "Dataset name (see `invprop datasets`), or 'shapes' for a synthetic smoke test.") var dataset: String?
    @Option(help: "Dataset directory.") var dataDir: String?
    @Option(help: "Train on the first N images only.") var trainSubset: Int?
    @Option(help: "Training augmentation preset.") var augmentation: String?
    @Option(help: "Evaluation transform preset (kNN monitor).") var evalTransform: String?
    @Option(help: "Lower bound of RandomResizedCrop's area scale, in (0, 1] (default: the augmentation preset's).") var cropScale: Double?

    @Option(help: "ResNet depth: 18, 34 or 50.") var depth: Int?
    @Option(help: "Stem: cifar or imagenet.") var stem: Stem?
    @Option(help: "Width multiplier of the ResNet.") var width: Double?
    @Option(help: "Input channels (1 for grey images).") var inChannels: Int?
    @Option(help: "Projection head: linear, mlp or none.") var head: HeadKind?
    @Option(help: "Output (embedding) dimension.") var outDim: Int?

    @Option(help: "Method: invp, npid or instance (InvP without the invariance term).") var method: MethodKind?
    @Option(help: "Temperature τ.") var temperature: Float?
    @Option(help: "Memory-bank momentum m.") var bankMomentum: Float?
    @Option(help: "Memory-bank start: random (the paper) or features (one pass of the initial network).") var bankInit: BankInitialization?
    @Option(name: .customLong("background"), help: "Background size M.") var backgroundCount: Int?
    @Option(help: "Neighbours per node k.") var neighbours: Int?
    @Option(help: "Propagation hops L.") var hops: Int?
    @Option(help: "Positives P.") var positives: Int?
    @Option(help: "Weight λ of the invariance term.") var lambda: Float?
    @Option(help: "Epochs before the invariance term starts (T).") var invarianceWarmup: Int?
    @Option(help: "Ramp of the invariance term: binary, gaussian or none.") var ramp: WarmUp?
    @Option(help: "Positive selection: hard or easy.") var selection: PositiveSelection?
    @Option(help: "Propagation: reference (concatenation) or exact (breadth-first, no duplicates).") var propagation: PropagationMode?
    @Flag(help: "Keep the anchor's own term in the invariance denominator.") var nonExclusive = false

    @Option(help: "Epochs.") var epochs: Int?
    @Option(help: "Batch size.") var batchSize: Int?
    @Option(help: "Base learning rate.") var lr: Float?
    @Option(help: "SGD momentum.") var momentum: Float?
    @Flag(help: "Nesterov momentum.") var nesterov = false
    @Option(help: "Weight decay.") var weightDecay: Float?
    @Flag(help: "Exclude batch-norm and bias parameters from weight decay.") var excludeNormDecay = false
    @Option(help: "Learning-rate decay: cosine, multistep or constant.") var schedule: DecayKind?
    @Option(help: "Milestone epochs for multistep, comma-separated.") var milestones: String?
    @Option(help: "Multistep factor.") var gamma: Float?
    @Option(help: "Linear learning-rate warm-up, epochs.") var lrWarmup: Double?

    @Option(help: "fp32, bf16, or auto (bf16 where the CPU runs it natively).") var precision: String?
    @Option(help: "Compute threads (default: all cores).") var threads: Int?
    @Option(help: "Loader threads.") var workers: Int?
    @Option(help: "Seed.") var seed: UInt64?
    @Option(help: "kNN monitor neighbours K.") var knnK: Int?
    @Option(help: "kNN monitor temperature σ.") var knnTemperature: Float?
    @Option(help: "Run the kNN monitor every N epochs (0: never).") var knnEvery: Int?
    @Option(help: "kNN monitor training features: bank (the paper's), recompute (evaluation transform) or both.") var knnFeatures: MonitorFeatures?
    @Option(help: "Also checkpoint every N steps inside an epoch (0: epoch ends only).") var checkpointEvery: Int?
    @Flag(help: "Do not log positive purity.") var noPurity = false

    /// The preset with every given option applied.
    func resolvedConfig() throws -> TrainingConfig {
        var c = try TrainingPresets.config(named: preset)
        if let dataset { c.dataset = dataset }
        if let dataDir { c.dataDir = dataDir }
        if let trainSubset { c.trainSubset = trainSubset }
        if let augmentation { c.augmentation = augmentation }
        if let evalTransform { c.evalTransform = evalTransform }
        if let cropScale { c.cropScaleMinimum = cropScale }
        if let depth { c.model.depth = depth }
        if let stem { c.model.stem = stem }
        if let width { c.model.width = width }
        if let inChannels { c.model.inputChannels = inChannels }
        if let head { c.model.head = head }
        if let outDim { c.model.outputDimension = outDim }
        if let method { c.method = method }
        if let temperature { c.invp.temperature = temperature }
        if let bankMomentum { c.invp.momentum = bankMomentum }
        if let bankInit { c.bankInitialization = bankInit }
        if let backgroundCount { c.invp.backgroundCount = backgroundCount }
        if let neighbours { c.invp.neighbourCount = neighbours }
        if let hops { c.invp.hops = hops }
        if let positives { c.invp.positiveCount = positives }
        if let lambda { c.invp.invarianceWeight = lambda }
        if let invarianceWarmup {
            c.invp.warmUpEpochs = invarianceWarmup
            // A warm-up length asks for a warm-up: the CPU preset's "none" ramp would ignore it.
            if ramp == nil && c.invp.warmUp == .none { c.invp.warmUp = .binary }
        }
        if let ramp { c.invp.warmUp = ramp }
        if let selection { c.invp.positives = selection }
        if let propagation { c.invp.propagation = propagation }
        if nonExclusive { c.invp.exclusive = false }
        if let epochs { c.epochs = epochs }
        if let batchSize { c.batchSize = batchSize }
        if let lr { c.learningRate = lr }
        if let momentum { c.momentum = momentum }
        if nesterov { c.nesterov = true }
        if let weightDecay { c.weightDecay = weightDecay }
        if excludeNormDecay { c.excludeNormFromDecay = true }
        if let schedule { c.decay = schedule }
        if let milestones {
            let parsed = milestones.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard parsed.allSatisfy({ $0 != nil }) else { throw ValidationError("--milestones must be comma-separated integers, got '\(milestones)'") }
            c.milestones = parsed.compactMap { $0 }
        }
        if let gamma { c.gamma = gamma }
        if let lrWarmup { c.warmupEpochs = lrWarmup }
        if let precision { c.precision = precision }
        if let threads { c.threads = threads }
        if let workers { c.workers = workers }
        if let seed { c.seed = seed }
        if let knnK { c.knnK = knnK }
        if let knnTemperature { c.knnTemperature = knnTemperature }
        if let knnEvery { c.knnEvery = knnEvery }
        if let knnFeatures { c.monitorFeatures = knnFeatures }
        if let checkpointEvery { c.checkpointEverySteps = checkpointEvery }
        if noPurity { c.purity = false }
        return c
    }

    func validate() throws {
        if resume && output == nil { throw ValidationError("--resume needs --output (the run directory to continue)") }
        do { try resolvedConfig().validate() } catch let error as TrainingError { throw ValidationError(error.description) }
    }

    func run() throws {
        let config = try resolvedConfig()
        let directory = URL(fileURLWithPath: output ?? defaultRunDirectory(config))
        let progress = ProgressPrinter()
        let trainer: Trainer
        do { trainer = try Trainer(config: config, runDirectory: directory, resume: resume, observer: progress) } catch {
            throw failure(error)
        }
        let c = trainer.config
        progress.note("training \(c.method.rawValue) on \(c.dataset) (\(c.preset) preset): ResNet-\(c.model.depth) width \(c.model.width), "
                      + "\(c.epochs) epochs, batch \(c.batchSize), \(trainer.resolvedPrecision == .bf16 ? "bf16" : "fp32") (\(ComputeCapabilities.instructionSet)); "
                      + "run directory \(directory.path)")
        let interrupt = InterruptFlag()
        let summary: TrainingSummary
        do {
            summary = try trainer.run(observer: progress) { interrupt.requested ? .saveAndStop : .none }
        } catch {
            progress.finishLine()
            throw failure(error)
        }
        progress.finishLine()
        if summary.finished {
            let last = summary.lastRecord
            var knn = last?.knnTop1.map { String(format: "%.2f %% (bank)", $0) } ?? ""
            if let recomputed = last?.knnRecomputedTop1 { knn += (knn.isEmpty ? "" : ", ") + String(format: "%.2f %% (recomputed)", recomputed) }
            if knn.isEmpty { knn = "n/a (no labelled test split)" }
            print("finished \(summary.completedEpochs) epochs. kNN top-1 (K \(c.knnK), σ \(c.knnTemperature)): \(knn); best \(summary.bestKNNTop1.map { String(format: "%.2f %%", $0) } ?? "n/a")")
        }
        print("run files: \(directory.path) (config.json, metrics.jsonl, checkpoint-last.safetensors, checkpoint-best.safetensors)")
    }

    func defaultRunDirectory(_ c: TrainingConfig) -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyyMMdd-HHmmss"
        return "runs/\(c.dataset)-\(c.method.rawValue)-\(f.string(from: Date()))"
    }
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
    private let isTerminal = isatty(2) != 0
    private var lastPrinted = -1
    private var open = false

    func step(_ r: StepReport) {
        let width = 24
        let filled = Int(Double(width) * Double(r.step) / Double(r.steps))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        var text = String(format: "epoch %d/%d [%@] %d/%d loss %.4f (ins %.4f", r.epoch, r.epochs, bar, r.step, r.steps, r.loss, r.lossInstance)
        if let inv = r.lossInvariance { text += String(format: " inv %.4f", inv) }
        text += String(format: ") lr %.4g %.0f img/s ETA %@", r.learningRate, r.imagesPerSecond, Self.duration(r.etaSeconds))
        if isTerminal {
            FileHandle.standardError.write(("\r" + text + "\u{1B}[K").data(using: .utf8)!)
            open = true
        } else {
            let decile = r.step * 10 / r.steps
            if decile != lastPrinted || r.step == r.steps {
                lastPrinted = decile
                FileHandle.standardError.write((text + "\n").data(using: .utf8)!)
            }
        }
    }

    func epoch(_ r: EpochRecord) {
        finishLine()
        var text = String(format: "epoch %d: loss %.4f, %.0f img/s, %.1f min elapsed", r.epoch, r.loss, r.imagesPerSecond, r.wallSeconds / 60)
        if let k = r.knnTop1 { text += String(format: ", kNN top-1 %.2f %% top-5 %.2f %%", k, r.knnTop5 ?? 0) }
        if let k = r.knnRecomputedTop1 { text += String(format: ", kNN (recomputed) top-1 %.2f %% top-5 %.2f %%", k, r.knnRecomputedTop5 ?? 0) }
        if let p = r.purityCandidates, let h = r.purityHard { text += String(format: ", purity %.3f (hard %.3f)", p, h) }
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
extension MethodKind: ExpressibleByArgument {}
extension BankInitialization: ExpressibleByArgument {}
extension MonitorFeatures: ExpressibleByArgument {}
extension WarmUp: ExpressibleByArgument {}
extension PositiveSelection: ExpressibleByArgument {}
extension PropagationMode: ExpressibleByArgument {}
extension DecayKind: ExpressibleByArgument {}
