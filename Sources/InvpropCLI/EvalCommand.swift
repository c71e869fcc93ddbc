import ArgumentParser
import Evaluation
import Foundation
import Kernels

/// `invprop eval`: the evaluation protocols of SPEC.md on a trained checkpoint.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a checkpoint: weighted kNN, linear probe, semi-supervised fine-tuning, clustering, domain generalization.",
        discussion: """
        Each protocol writes its result as eval-<protocol>.json into the run directory (or --json PATH) \
        and prints a one-line table. See docs/evaluation.md.
        """,
        subcommands: [EvalKNN.self, EvalLinear.self, EvalSemiSupervised.self, EvalCluster.self, EvalUDG.self, EvalUDGTable.self])
}

/// Which checkpoint, dataset and compute settings an evaluation uses (shared by eval, embed, neighbors).
struct CheckpointSource: ParsableArguments {
    @Argument(help: "Run directory (its checkpoint-best.safetensors, else checkpoint-last.safetensors).") var runDirectory: String?
    @Option(help: "Checkpoint file to evaluate (instead of RUN_DIR).") var checkpoint: String?
    @Option(help: "Dataset to evaluate on (default: the checkpoint's; the memory bank then no longer applies).") var dataset: String?
    @Option(help: "Dataset directory (default: the checkpoint's, then the usual places).") var dataDir: String?
    @Option(help: "Evaluation transform preset (default: the checkpoint's).") var evalTransform: String?
    @Option(help: "Training images to use: the first N (default: those the checkpoint was trained on).") var trainLimit: Int?
    @Option(help: "fp32, bf16 or auto (default: the checkpoint's).") var precision: String?
    @Option(help: "Compute threads (default: all cores).") var threads: Int?
    @Option(help: "Loader threads.") var workers = 1
    @Option(help: "Images per forward pass when computing features.") var featureBatchSize = 256

    func validate() throws {
        guard (runDirectory == nil) != (checkpoint == nil) else {
            throw ValidationError("give either RUN_DIR or --checkpoint PATH (exactly one)")
        }
        if let precision, !["fp32", "bf16", "auto"].contains(precision) { throw ValidationError("--precision must be fp32, bf16 or auto, got \(precision)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be ≥ 1, got \(threads)") }
        if let trainLimit, trainLimit < 1 { throw ValidationError("--train-limit must be ≥ 1, got \(trainLimit)") }
        guard workers >= 0 else { throw ValidationError("--workers must be ≥ 0, got \(workers)") }
        guard featureBatchSize >= 1 else { throw ValidationError("--feature-batch-size must be ≥ 1, got \(featureBatchSize)") }
        // A misspelt preset used to surface only when the features were computed.
        try checkTransform(evalTransform, option: "--eval-transform")
    }

    /// Opens the checkpoint with these settings. Unless `checkingImages` is false (embed checks
    /// with a skip option of its own), an image folder whose files cannot all be used is refused
    /// first, listing them, as `train` refuses it, instead of stopping when the features reach them.
    func open(checkingImages: Bool = true) throws -> EvaluationSession {
        if let threads { try ComputeThreads.set(threads) }
        let options = EvaluationSession.Options(dataset: dataset, dataDir: dataDir, evalTransform: evalTransform, precision: precision,
                                                trainLimit: trainLimit, workers: workers, batchSize: featureBatchSize)
        let session = try EvaluationSession(checkpoint: checkpoint ?? runDirectory ?? ".", options: options)
        if checkingImages { try Self.refuseUnusableImages(session) }
        note("checkpoint \(session.checkpointPath): \(session.checkpoint.architecture), \(session.checkpoint.method) on "
             + "\(session.checkpoint.dataset); evaluating on \(session.datasetName) (\(session.trainIndices.count) training images)")
        return session
    }
}

extension CheckpointSource {
    /// Throws listing the files of `session`'s image-folder splits (the training images in use,
    /// the test split) whose headers cannot be read; datasets of other formats are checked by
    /// their readers when opened.
    static func refuseUnusableImages(_ session: EvaluationSession) throws {
        for split in EvaluationSession.Split.allCases {
            guard let data = try? session.dataset(split) else { continue }   // no test split
            let inUse = try session.indices(split)
            let bad = UnusableImages.find(in: data, indices: inUse)
            guard bad.isEmpty else {
                throw ValidationError(UnusableImages.refusal(bad.map(\.file), total: inUse.count, of: data.name, command: nil))
            }
        }
    }
}

/// Writes a progress line to standard error (standard output carries the results).
func note(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Parses a comma-separated list for `option` ("0.4,0.6,0.8"); the error names the option.
func parseList<T: LosslessStringConvertible>(_ text: String, option: String) throws -> [T] {
    let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    let values = parts.compactMap { T($0) }
    guard !parts.isEmpty, values.count == parts.count else {
        throw ValidationError("\(option) must be a comma-separated list of \(T.self == Int.self ? "integers" : "numbers"), got '\(text)'")
    }
    return values
}

/// Writes `record` to `path` (checked before the work with `checkedResultPath`), prints the
/// summary table and where the file went.
func publish<R: EvaluationRecord>(_ record: R, to path: String) throws {
    try EvaluationReport.write(record, to: path)
    print(EvaluationReport.table([record]), terminator: "")
    print("wrote \(path)")
}

/// Runs `body`, turning any error into "error: …" and exit status 1.
func reportingFailure(_ body: () throws -> Void) throws {
    do { try body() } catch let exit as ExitCode { throw exit } catch { throw failure(error) }
}

/// `invprop eval knn`: weighted kNN of test features against bank or recomputed training features.
struct EvalKNN: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "knn",
        abstract: "Weighted kNN (top-1/top-5) of the test split's head features; writes eval-knn.json.")

    @OptionGroup var source: CheckpointSource
    @Option(help: "Neighbours K.") var k = 200
    @Option(help: "Temperature σ of the vote weight exp(sim/σ).") var temperature: Float = 0.07
    @Option(help: "Training features: bank (the saved memory bank, the paper's monitor; the default when the checkpoint has one) or recompute (eval transform; the default for a method without a bank).")
    var trainFeatures: KNNTrainFeatures?
    @Option(help: "Result file (default: RUN_DIR/eval-knn.json).") var json: String?

    func validate() throws {
        guard k >= 1 else { throw ValidationError("--k must be ≥ 1, got \(k)") }
        guard temperature > 0, temperature.isFinite else { throw ValidationError("--temperature must be > 0, got \(temperature)") }
        try checkOutputFile(json, option: "--json")
    }

    func run() throws {
        try reportingFailure {
            let session = try source.open()
            let path = try checkedResultPath(session, "eval-knn.json", json: json)
            let which = trainFeatures ?? (session.hasMemoryBank ? .bank : .recompute)
            let result = try KNNProtocol(k: k, temperature: temperature, trainFeatures: which).run(session, progress: note)
            try publish(result, to: path)
        }
    }
}

/// `invprop eval linear`: linear classifier on the frozen pooled backbone feature.
struct EvalLinear: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "linear",
        abstract: "Linear classifier on the frozen pooled backbone feature; writes eval-linear.json (or eval-linear-fast.json).",
        discussion: "--protocol paper: SGD lr 30, momentum 0.9, no weight decay, batch 256, 100 epochs, ×0.2 at 40/60/80 %, "
            + "flip-only augmentation each epoch. --protocol fast: the same schedule on features computed once, no augmentation.")

    @OptionGroup var source: CheckpointSource
    @Option(name: .customLong("protocol"), help: "paper (augmented images, frozen backbone) or fast (precomputed features).")
    var kind: LinearProtocolKind = .paper
    @Option(help: "Epochs.") var epochs = 100
    @Option(help: "Learning rate.") var lr: Float = 30
    @Option(help: "SGD momentum.") var momentum: Float = 0.9
    @Option(help: "Weight decay.") var weightDecay: Float = 0
    @Option(help: "Batch size.") var batchSize = 256
    @Option(help: "Learning-rate milestones as fractions of the epochs, comma-separated.") var milestones = "0.4,0.6,0.8"
    @Option(help: "Learning-rate factor at each milestone.") var decay: Float = 0.2
    @Flag(help: "Standardise features first (fast protocol only; use a much lower --lr).") var standardize = false
    @Option(help: "Training augmentation of the paper protocol (default: the *-linear preset of the eval transform).") var trainTransform: String?
    @Option(help: "Seed of the initialisation and shuffles.") var seed: UInt64 = 0
    @Option(help: "Result file (default: RUN_DIR/eval-linear.json, or eval-linear-fast.json).") var json: String?

    func validate() throws {
        guard epochs >= 1 else { throw ValidationError("--epochs must be ≥ 1, got \(epochs)") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be ≥ 1, got \(batchSize)") }
        guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be > 0, got \(lr)") }
        guard (0..<1).contains(momentum) else { throw ValidationError("--momentum must be in [0, 1), got \(momentum)") }
        try checkFinite(weightDecay, option: "--weight-decay", atLeast: 0)
        try checkFinite(decay, option: "--decay", atLeast: 0, inclusive: false)
        let fractions: [Double] = try parseList(milestones, option: "--milestones")
        guard fractions.allSatisfy({ (0...1).contains($0) }), fractions == fractions.sorted() else {
            throw ValidationError("--milestones must be increasing fractions in [0, 1], got '\(milestones)'")
        }
        if standardize && kind == .paper { throw ValidationError("--standardize applies to --protocol fast only") }
        try checkTransform(trainTransform, option: "--train-transform")
        try checkOutputFile(json, option: "--json")
    }

    func run() throws {
        try reportingFailure {
            let fractions: [Double] = try parseList(milestones, option: "--milestones")
            let probe = LinearProbe(learningRate: lr, momentum: momentum, weightDecay: weightDecay, batchSize: batchSize, epochs: epochs,
                                    milestoneFractions: fractions, decay: decay, standardize: standardize, seed: seed)
            let session = try source.open()
            let path = try checkedResultPath(session, kind == .paper ? "eval-linear.json" : "eval-linear-fast.json", json: json)
            let result = try LinearProtocol(kind: kind, probe: probe, trainTransform: trainTransform).run(session, progress: note)
            try publish(result, to: path)
        }
    }
}

/// `invprop eval semisup`: fine-tuning of the whole network on 1 % or 10 % of the labels.
struct EvalSemiSupervised: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "semisup",
        abstract: "Fine-tune the whole network on a class-balanced labelled subset; writes eval-semisup-<labels>.json.")

    @OptionGroup var source: CheckpointSource
    @Option(help: "Labels kept: 1%, 10% (any percentage), a fraction such as 0.05, or N/class.") var labels: String
    @Option(help: "Seed of the subset choice, shuffles and classifier.") var seed: UInt64 = 0
    @Option(help: "Backbone learning rate.") var lr: Float = 0.0012
    @Option(help: "Classifier learning-rate multiplier.") var classifierLrScale: Float = 50
    @Option(help: "Weight decay.") var weightDecay: Float = 1e-5
    @Option(help: "SGD momentum.") var momentum: Float = 0.9
    @Option(help: "Batch size.") var batchSize = 128
    @Option(help: "Epochs.") var epochs = 30
    @Option(help: "Milestone epochs, comma-separated.") var milestones = "15,20,25"
    @Option(help: "Learning-rate factor at each milestone.") var gamma: Float = 0.1
    @Option(help: "Training augmentation (default: the *-linear preset of the eval transform).") var trainTransform: String?
    @Option(help: "Result file (default: RUN_DIR/eval-semisup-<labels>.json).") var json: String?

    func validate() throws {
        do { _ = try LabelRequest(parsing: labels) } catch let error as EvaluationError { throw ValidationError(error.message) }
        guard epochs >= 1 else { throw ValidationError("--epochs must be ≥ 1, got \(epochs)") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be ≥ 1, got \(batchSize)") }
        guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be > 0, got \(lr)") }
        try checkFinite(classifierLrScale, option: "--classifier-lr-scale", atLeast: 0, inclusive: false)
        try checkFinite(weightDecay, option: "--weight-decay", atLeast: 0)
        guard (0..<1).contains(momentum) else { throw ValidationError("--momentum must be in [0, 1), got \(momentum)") }
        try checkFinite(gamma, option: "--gamma", atLeast: 0, inclusive: false)
        let epochsAt: [Int] = try parseList(milestones, option: "--milestones")
        guard epochsAt == epochsAt.sorted() else { throw ValidationError("--milestones must be increasing, got '\(milestones)'") }
        try checkTransform(trainTransform, option: "--train-transform")
        try checkOutputFile(json, option: "--json")
    }

    func run() throws {
        try reportingFailure {
            let recipe = SemiSupervisedProtocol(labels: try LabelRequest(parsing: labels), seed: seed, learningRate: lr,
                                                classifierScale: classifierLrScale, weightDecay: weightDecay, momentum: momentum,
                                                batchSize: batchSize, epochs: epochs, milestones: try parseList(milestones, option: "--milestones"),
                                                gamma: gamma, trainTransform: trainTransform)
            let session = try source.open()
            let path = try checkedResultPath(session, recipe.resultFileName, json: json)
            let result = try recipe.run(session, progress: note)
            try publish(result, to: path)
        }
    }
}

/// `invprop eval cluster`: k-means with NMI, ARI and cluster accuracy.
struct EvalCluster: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cluster",
        abstract: "k-means on L2-normalised test features with NMI, ARI and cluster accuracy; writes eval-cluster.json.")

    @OptionGroup var source: CheckpointSource
    @Option(help: "Features: head or backbone.") var features: FeatureLayer = .head
    @Option(help: "Clusters k (default: the number of classes).") var clusters: Int?
    @Option(help: "k-means++ restarts (the lowest inertia wins).") var restarts = 3
    @Option(help: "Lloyd iterations per restart.") var iterations = 100
    @Option(help: "Seed of the k-means++ draws.") var seed: UInt64 = 0
    @Option(help: "Result file (default: RUN_DIR/eval-cluster.json).") var json: String?

    func validate() throws {
        if let clusters, clusters < 1 { throw ValidationError("--clusters must be ≥ 1, got \(clusters)") }
        guard restarts >= 1 else { throw ValidationError("--restarts must be ≥ 1, got \(restarts)") }
        guard iterations >= 1 else { throw ValidationError("--iterations must be ≥ 1, got \(iterations)") }
        try checkOutputFile(json, option: "--json")
    }

    func run() throws {
        try reportingFailure {
            let session = try source.open()
            let path = try checkedResultPath(session, "eval-cluster.json", json: json)
            let result = try ClusterProtocol(layer: features, clusterCount: clusters, restarts: restarts, maxIterations: iterations, seed: seed)
                .run(session, progress: note)
            try publish(result, to: path)
        }
    }
}

extension KNNTrainFeatures: ExpressibleByArgument {}
extension LinearProtocolKind: ExpressibleByArgument {}
extension FeatureLayer: ExpressibleByArgument {}
extension EvaluationSession.Split: ExpressibleByArgument {}
extension UDGScoring: ExpressibleByArgument {}
