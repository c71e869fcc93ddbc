import Data
import Foundation
import Kernels
import Methods
import Models
import SafeTensors
import Tensors
import RunFormat

/// The part of a training checkpoint's `config` metadata that evaluation needs.
///
/// The Training layer (which owns `TrainingConfig` and `Checkpoint`) depends on this one, so the
/// fields are decoded here under the names `TrainingConfig` encodes them with; unknown keys are
/// ignored, so newer training options never break evaluation.
public struct CheckpointDescription: Decodable, Equatable, Sendable {
    /// The network's shape.
    public var model: ResNetConfig
    /// Dataset name, directory and the training subset (the memory bank's rows are its first images).
    public var dataset: String, dataDir: String?, trainSubset: Int?
    /// Training images held out for validation and the seed of their draw (absent: none).
    public var validation: ValidationSize?, validationSeed: UInt64?
    /// Training augmentation and evaluation transform preset names.
    public var augmentation: String, evalTransform: String
    /// Pre-training method ("invp", "npid", "instance").
    public var method: String
    /// InvP options (hops, propagation mode, positives) for the neighbour table.
    public var invp: InvPConfig?
    /// Seed of the run (also seeds the synthetic `shapes` dataset).
    public var seed: UInt64
    /// The kNN monitor's K and σ.
    public var knnK: Int, knnTemperature: Float
    /// "fp32" or "bf16".
    public var precision: String
    /// Source and target domains of a multi-domain run (absent for other datasets).
    public var domains: DomainSelection?

    /// The format tag of training checkpoints (Training's `Checkpoint.format`).
    public static let format = CheckpointKey.format

    /// Reads and checks the description in `archive`'s metadata (`path` names it in errors).
    public init(archive: TensorArchive, path: String) throws {
        guard archive.metadata[CheckpointKey.formatMetadata] == Self.format else {
            throw EvaluationError(.file, "\(path) is not an invprop training checkpoint (metadata 'format' is "
                                  + "\(archive.metadata[CheckpointKey.formatMetadata] ?? "absent"), expected \(Self.format))")
        }
        guard let json = archive.metadata[CheckpointKey.configMetadata] else {
            throw EvaluationError(.file, "\(path): checkpoint metadata lacks 'config'")
        }
        do {
            self = try JSONDecoder().decode(CheckpointDescription.self, from: Data(json.utf8))
        } catch {
            throw EvaluationError(.file, "\(path): the configuration in the checkpoint does not decode: \(error)")
        }
    }

    /// "ResNet-18 (cifar stem, width 0.25, 1 input channel, linear head → 128)", for messages.
    public var architecture: String { Self.describe(model) }

    /// A one-line description of a network configuration, for messages.
    public static func describe(_ m: ResNetConfig) -> String {
        "ResNet-\(m.depth) (\(m.stem.rawValue) stem, width \(m.width), \(m.inputChannels) input channel"
            + (m.inputChannels == 1 ? "" : "s") + ", \(m.head.rawValue) head → \(m.outputDimension))"
    }
}

/// A checkpoint opened for evaluation: the network rebuilt from its configuration with the saved
/// weights (strictly), the datasets it is evaluated on, and the saved memory bank and neighbour
/// table. Every `invprop eval`, `embed` and `neighbors` command starts here.
public final class EvaluationSession {
    /// What the caller may override; nil keeps the checkpoint's own value.
    public struct Options: Sendable {
        /// Another dataset name (the bank and table then no longer apply) and directory.
        public var dataset: String?, dataDir: String?
        /// Evaluation transform preset (default: the checkpoint's).
        public var evalTransform: String?
        /// "fp32" or "bf16" (default: the checkpoint's).
        public var precision: String?
        /// Use the first N training images (default: those the checkpoint was trained on).
        public var trainLimit: Int?
        /// Loader threads.
        public var workers: Int
        /// Batch size of feature extraction.
        public var batchSize: Int

        /// Options that keep every checkpoint setting.
        public init(dataset: String? = nil, dataDir: String? = nil, evalTransform: String? = nil, precision: String? = nil,
                    trainLimit: Int? = nil, workers: Int = 1, batchSize: Int = 256) {
            self.dataset = dataset; self.dataDir = dataDir; self.evalTransform = evalTransform
            self.precision = precision; self.trainLimit = trainLimit; self.workers = workers; self.batchSize = batchSize
        }
    }

    /// Which images of the dataset.
    public enum Split: String, Sendable, CaseIterable {
        /// The training images the session uses (`trainIndices`).
        case train
        /// The test split.
        case test
    }

    /// The checkpoint file.
    public let checkpointPath: String
    /// Its directory: where result files go by default.
    public let runDirectory: URL
    /// Its configuration.
    public let checkpoint: CheckpointDescription
    /// The whole archive (bank, table).
    public let archive: TensorArchive
    /// The network with the saved weights.
    public let model: ResNet
    /// Dataset name in use and whether it is the one the checkpoint was trained on.
    public let datasetName: String, isTrainingDataset: Bool
    /// Training and test splits (the test split is nil when the dataset has none).
    public let train: any ImageDataset, test: (any ImageDataset)?
    /// Training images used: the first N (the memory bank's rows when `isTrainingDataset`).
    public let trainIndices: [Int]
    /// The training images the run held out for validation (empty when none or on another dataset).
    public let validationIndices: [Int]
    /// Name of the deterministic evaluation transform.
    public let evalTransformName: String
    /// Precision of the forward passes.
    public let precision: DType
    /// The options given.
    public let options: Options

    /// The checkpoint to use for `path`: the file itself, or in a run directory
    /// `checkpoint-best.safetensors` if present, else `checkpoint-last.safetensors`.
    public static func resolveCheckpoint(_ path: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw EvaluationError(.file, "\(path) does not exist (expected a run directory or a checkpoint file)")
        }
        guard isDirectory.boolValue else { return path }
        for name in RunFileName.checkpointsByPreference {
            let candidate = (path as NSString).appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
        }
        throw EvaluationError(.file, "\(path) holds neither checkpoint-best.safetensors nor checkpoint-last.safetensors")
    }

    /// Opens `path` (a checkpoint or a run directory), rebuilds and loads the network, opens the data.
    public init(checkpoint path: String, options: Options = Options()) throws {
        let file = try Self.resolveCheckpoint(path)
        checkpointPath = file
        runDirectory = URL(fileURLWithPath: file).deletingLastPathComponent()
        self.options = options
        do { archive = try TensorArchive(contentsOf: file) } catch {
            throw EvaluationError(.file, "cannot read checkpoint \(file): \(error)")
        }
        let description = try CheckpointDescription(archive: archive, path: file)
        checkpoint = description
        model = try Self.loadModel(archive: archive, description: description, path: file)

        let name = options.dataset ?? description.dataset
        datasetName = name
        isTrainingDataset = name == description.dataset
        let channels = description.model.inputChannels
        (train, test) = try Self.openDatasets(name: name, dataDir: options.dataDir ?? (isTrainingDataset ? description.dataDir : nil),
                                              description: description, convertTo: isTrainingDataset ? channels : nil)
        for dataset in [train] + (test.map { [$0] } ?? []) where dataset.channels != channels {
            throw EvaluationError(.shapeMismatch, "checkpoint \(file) holds a \(description.architecture) network, which takes "
                                  + "\(channels)-channel images, but dataset \(dataset.name) has \(dataset.channels)-channel images; "
                                  + "evaluate it on a dataset with \(channels)-channel images")
        }
        let limit = options.trainLimit ?? (isTrainingDataset ? description.trainSubset : nil)
        if let limit, limit < 1 { throw EvaluationError(.invalidArgument, "--train-limit must be ≥ 1, got \(limit)") }
        // On the training dataset the held-out validation images stay out, as they did in training,
        // so the bank's rows and the training images line up.
        let split = try TrainValidationSplit(total: train.count, validation: isTrainingDataset ? description.validation : nil,
                                             labelled: train.classCount != nil, trainLimit: limit, seed: description.validationSeed ?? 0)
        (trainIndices, validationIndices) = (split.training, split.validation)
        evalTransformName = options.evalTransform ?? description.evalTransform
        precision = try Self.precision(named: options.precision ?? description.precision)
    }

    /// The data type `name` (fp32, bf16 or auto: bf16 where the CPU computes it natively) names.
    public static func precision(named name: String) throws -> DType {
        let native: DType = ComputeCapabilities.hasNativeBF16 ? .bf16 : .f32
        guard let p = ["fp32": DType.f32, "bf16": .bf16, "auto": native][name] else {
            throw EvaluationError(.invalidArgument, "--precision must be fp32, bf16 or auto, got \(name)")
        }
        return p
    }

    /// Opens only the network of `path` (a checkpoint or a run directory, resolved as `init` does),
    /// without its datasets: for commands that need the weights alone, such as `invprop export`.
    /// Returns the checkpoint file used, its configuration and the loaded network.
    public static func openNetwork(checkpoint path: String) throws -> (checkpointPath: String, description: CheckpointDescription, model: ResNet) {
        let file = try resolveCheckpoint(path)
        let archive: TensorArchive
        do { archive = try TensorArchive(contentsOf: file) } catch {
            throw EvaluationError(.file, "cannot read checkpoint \(file): \(error)")
        }
        let description = try CheckpointDescription(archive: archive, path: file)
        return (file, description, try loadModel(archive: archive, description: description, path: file))
    }

    /// Builds the configured network and loads the weights strictly; a checkpoint whose tensors
    /// do not fit its stated architecture is reported with both descriptions, one whose weights
    /// are not finite is refused naming the tensor.
    static func loadModel(archive: TensorArchive, description: CheckpointDescription, path: String) throws -> ResNet {
        let stated = description.model
        // The architecture keys written beside the config (check_checkpoint.py reads them) must agree with it.
        let expected: [String: String] = ["arch": "resnet\(stated.depth)", "in_channels": "\(stated.inputChannels)",
                                          "stem": stated.stem.rawValue, "head": stated.head.rawValue]
        for (key, value) in expected.sorted(by: { $0.key < $1.key }) {
            if let found = archive.metadata[key], found != value {
                throw EvaluationError(.shapeMismatch, "checkpoint \(path): its configuration describes a \(description.architecture) "
                                      + "network but its metadata says \(key) = \(found)")
            }
        }
        let model: ResNet
        do { model = try ResNet(stated, seed: 0) } catch {
            throw EvaluationError(.invalidArgument, "checkpoint \(path): cannot build its network: \(error)")
        }
        do {
            try model.loadStateDict(from: archive, source: path, strict: true, ignoring: CheckpointKey.nonModelPrefixes)
        } catch {
            let found = archive["conv1.weight"].map { "conv1.weight has shape \($0.shape), i.e. \($0.shape.count == 4 ? $0.shape[1] : 0) input channels" }
                ?? "it has no conv1.weight"
            throw EvaluationError(.shapeMismatch, "checkpoint \(path) does not hold the \(description.architecture) network its "
                                  + "configuration describes (\(found)): \(error)")
        }
        try FiniteWeights.require(model, checkpoint: path)   // every command that reads a network: eval, embed, export, …
        return model
    }

    /// The training and test splits of `name`; the synthetic `shapes` set is built exactly as
    /// the trainer builds it (train: trainSubset ?? 2000 images from the seed, test: 400 from seed + 1).
    static func openDatasets(name: String, dataDir: String?, description: CheckpointDescription,
                             convertTo channels: Int?) throws -> (any ImageDataset, (any ImageDataset)?) {
        if name == "shapes" {
            return (try ShapesDataset(count: description.trainSubset ?? 2000, seed: description.seed),
                    try ShapesDataset(count: 400, seed: description.seed &+ 1))
        }
        if let selection = description.domains, name == description.dataset {
            // A domain-generalization run: its training images are the source domains', its test the target domain.
            return try openDomains(name: name, dataDir: dataDir, selection: selection, channels: channels)
        }
        let train = try DatasetCatalog.open(name: name, root: dataDir, split: .train, channels: channels)
        // A dataset without a labelled test split (e.g. a folder) still serves embed and neighbors.
        let test = try DatasetCatalog.openIfPresent(name: name, root: dataDir, split: .test, channels: channels)
        return (train, test)
    }

    /// The dataset of `split`; throws when the dataset has no test split.
    public func dataset(_ split: Split) throws -> any ImageDataset {
        switch split {
        case .train: return train
        case .test:
            guard let test else { throw EvaluationError(.emptyInput, "dataset \(datasetName) has no test split") }
            return test
        }
    }

    /// Dataset indices of `split` (the training subset, or every test image).
    public func indices(_ split: Split) throws -> [Int] {
        split == .train ? trainIndices : Array(0..<(try dataset(.test)).count)
    }

    /// Labels of `split`'s images in `indices(split)` order; throws for an unlabelled dataset.
    public func labels(_ split: Split) throws -> [Int] {
        let data = try dataset(split)
        return try indices(split).map { i in
            guard let label = data.label(at: i) else {
                throw EvaluationError(.emptyInput, "dataset \(data.name) has no label for image \(i); this evaluation needs labels")
            }
            return label
        }
    }

    /// Number of classes over both splits.
    public func classCount() throws -> Int {
        let c = max(train.classCount ?? 0, test?.classCount ?? 0)
        guard c >= 1 else {
            throw EvaluationError(.emptyInput, "dataset \(datasetName) is unlabelled; this evaluation needs labels")
        }
        return c
    }

    /// The pipeline called `name` (default: the evaluation transform).
    public func transform(_ name: String? = nil) throws -> AugmentationPipeline {
        try AugmentationPresets.pipeline(named: name ?? evalTransformName)
    }

    /// Features of `split` with the evaluation transform, the network in evaluation mode
    /// (without the images `excluded`, e.g. unusable files skipped).
    public func features(_ split: Split, backbone: Bool = false, head: Bool = true, excluding excluded: Set<Int> = [],
                         progress: (Int, Int) -> Void = { _, _ in }) throws -> ExtractedFeatures {
        let wanted = try indices(split).filter { !excluded.contains($0) }
        return try FeatureExtractor.extract(model: model, dataset: dataset(split), transform: transform(), indices: wanted,
                                            batchSize: options.batchSize, precision: precision, backbone: backbone, head: head,
                                            workers: options.workers, progress: progress)
    }

    /// Whether the checkpoint holds a memory bank (InvP, NPID, ODC's samples memory; not CoKe).
    public var hasMemoryBank: Bool { archive[CheckpointKey.bank] != nil }

    /// The saved memory bank [N, D] and D; throws when the checkpoint has none or the dataset differs.
    public func bank() throws -> (features: [Float], dimension: Int) {
        try requireTrainingDataset("memory bank")
        guard let entry = archive[CheckpointKey.bank], entry.shape.count == 2 else {
            throw EvaluationError(.file, "checkpoint \(checkpointPath) holds no memory bank (method.bank); use --train-features recompute")
        }
        guard entry.shape[0] == trainIndices.count else {
            throw EvaluationError(.shapeMismatch, "the memory bank has \(entry.shape[0]) rows but \(trainIndices.count) training images "
                                  + "are in use (--train-limit must match the images the checkpoint was trained on)")
        }
        return (try archive.floats(CheckpointKey.bank), entry.shape[1])
    }

    /// Training-set features [N, D] and D: the saved bank, or head features recomputed with the evaluation transform.
    public func trainingFeatures(_ source: KNNTrainFeatures, progress: (String) -> Void = { _ in }) throws -> (features: [Float], dimension: Int) {
        switch source {
        case .bank:
            return try bank()
        case .recompute:
            progress("features of \(trainIndices.count) training images")
            let f = try features(.train)
            return (f.head ?? [], f.headDimension)
        }
    }

    /// The saved neighbour table (InvP runs only).
    public func neighbourTable() throws -> NeighbourTable {
        try requireTrainingDataset("neighbour table")
        guard let entry = archive[CheckpointKey.neighbourTable], entry.shape.count == 2 else {
            throw EvaluationError(.file, "checkpoint \(checkpointPath) holds no neighbour table (method.table): "
                                  + "only InvP runs propagate positives (this one is \(checkpoint.method))")
        }
        let table = try NeighbourTable(count: entry.shape[0], neighbours: entry.shape[1])
        try table.restore(archive.int32s(CheckpointKey.neighbourTable))
        return table
    }

    private func requireTrainingDataset(_ what: String) throws {
        guard isTrainingDataset else {
            throw EvaluationError(.invalidArgument, "the checkpoint's \(what) describes \(checkpoint.dataset), not \(datasetName); "
                                  + "recompute features instead")
        }
    }

    /// Provenance for result records.
    public func context(features: String) -> EvaluationContext {
        EvaluationContext(checkpoint: checkpointPath, method: checkpoint.method, dataset: datasetName, features: features)
    }

    /// Where a result file named `name` goes: `json` if given, else the run directory.
    public func resultPath(_ name: String, json: String? = nil) -> String {
        json ?? runDirectory.appendingPathComponent(name).path
    }
}

extension DatasetCatalog {
    /// `split` of `name`, or nil when the dataset has no such split or its files are absent;
    /// files that are there but do not read (truncated, malformed) throw, naming the file.
    public static func openIfPresent(name: String, root: String?, split: DatasetSplit, channels: Int?) throws -> (any ImageDataset)? {
        do {
            return try open(name: name, root: root, split: split, channels: channels)
        } catch DataError.notFound, DataError.invalidOption {
            // Absent files, or a dataset without this split (the catalog's two refusals that say
            // so): nothing to read. Every other error is a damaged file, and hiding it would make
            // a run silently lose its test scores.
            return nil
        }
    }
}
