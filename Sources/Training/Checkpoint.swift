import Evaluation
import Foundation
import Methods
import Models
import NN
import SafeTensors
import Tensors
import RunFormat

/// Where training stands, saved in checkpoint metadata.
public struct TrainingProgress: Codable, Equatable, Sendable {
    /// Completed epochs before the current one (the current epoch is `epoch + 1`, 1-based).
    public var epoch = 0
    /// Steps already taken inside the current epoch (0 at an epoch boundary).
    public var stepInEpoch = 0
    /// Steps taken since the start of training.
    public var globalStep = 0
    /// Wall-clock seconds spent so far (training and evaluation), across resumes.
    public var wallSeconds = 0.0
    /// Best kNN top-1 so far (percent) and the epoch it was reached.
    public var bestKNNTop1: Double?
    /// Epoch of `bestKNNTop1`.
    public var bestEpoch: Int?
    /// Running sums of the current epoch's loss and of each of the method's terms, in its order
    /// (so a resumed epoch logs the same averages).
    public var epochLossSums: [Double] = []
    /// Running sums of the method's per-step counts this epoch (nil in checkpoints made before
    /// methods reported counts by name).
    public var epochCounts: [String: Double]?
    /// Images processed in the current epoch and the seconds they took.
    public var epochImages = 0, epochSeconds = 0.0
    /// The health sample's neighbour lists at the last measurement ([S × k]), for the next
    /// epoch's neighbour stability (nil before the first, and in older checkpoints).
    public var healthNeighbours: [Int32]?
    /// The health signals of every completed epoch, oldest first (`--stop-when-stable` reads them).
    public var healthHistory: [HealthSignals]?
    /// The epoch after which `--stop-when-stable` ended the run (nil: it did not).
    public var stoppedWhenStableAfter: Int?
    /// The global step after which `--max-minutes` ended training (nil: it did not).
    public var budgetEndedAtStep: Int?
    /// A fresh start.
    public init() {}

    /// Adds one step's loss, terms and counts to the epoch's sums.
    mutating func accumulate(_ step: MethodLoss) {
        let values = [Double(step.loss)] + step.terms.map(Double.init)
        if epochLossSums.count < values.count { epochLossSums += [Double](repeating: 0, count: values.count - epochLossSums.count) }
        for (i, value) in values.enumerated() { epochLossSums[i] += value }
        if !step.counts.isEmpty { epochCounts = (epochCounts ?? [:]).merging(step.counts, uniquingKeysWith: +) }
    }

    /// Throws `TrainingError.corrupt` for the checkpoint at `path` when this record cannot be a
    /// point of a run of `config`: a position outside its epochs, counters below zero or
    /// disagreeing, sums or seconds that are not finite. A resume trusts these numbers to
    /// trim metrics.jsonl, to skip batches and to draw the progress bar.
    func validate(for config: TrainingConfig, path: String) throws {
        func fail(_ reason: String) -> Error { TrainingError.corrupt(path: path, reason: "progress record: \(reason)") }
        guard epoch >= 0, epoch <= config.epochs else { throw fail("epoch \(epoch) is outside 0…\(config.epochs), the run's epochs") }
        guard stepInEpoch >= 0 else { throw fail("step in epoch \(stepInEpoch) is negative") }
        guard epoch < config.epochs || stepInEpoch == 0 else {
            throw fail("step \(stepInEpoch) inside epoch \(epoch + 1) of a run of \(config.epochs) epochs")
        }
        guard globalStep >= stepInEpoch else { throw fail("global step \(globalStep) is below the step in the epoch, \(stepInEpoch)") }
        guard epochImages >= 0 else { throw fail("images of the epoch \(epochImages) is negative") }
        for (name, seconds) in [("wall seconds", wallSeconds), ("epoch seconds", epochSeconds)] where !(seconds >= 0 && seconds.isFinite) {
            throw fail("\(name) \(seconds) is not a finite number ≥ 0")
        }
        guard epochLossSums.allSatisfy(\.isFinite), (epochCounts ?? [:]).values.allSatisfy(\.isFinite) else {
            throw fail("the epoch's loss sums or counts are not all finite")
        }
        if let bestEpoch, bestEpoch < 1 || bestEpoch > epoch {
            throw fail("best epoch \(bestEpoch) is not one of the \(epoch) completed epochs")
        }
        if let bestKNNTop1, !bestKNNTop1.isFinite { throw fail("best kNN top-1 \(bestKNNTop1) is not finite") }
        if let stoppedWhenStableAfter, stoppedWhenStableAfter < 1 || stoppedWhenStableAfter > epoch {
            throw fail("stopped after epoch \(stoppedWhenStableAfter), not one of the \(epoch) completed epochs")
        }
        if let budgetEndedAtStep, budgetEndedAtStep < 0 || budgetEndedAtStep > globalStep {
            throw fail("budget ended at step \(budgetEndedAtStep), outside the \(globalStep) steps taken")
        }
    }

    /// The checks that need the number of steps per epoch (known once the data is open): the
    /// step inside the epoch is at most an epoch's (a stop right after the last step saves
    /// that), and the global step at most the steps of the epochs before plus it (fewer when
    /// `--max-steps` or `--max-minutes` ended an epoch early).
    func validate(stepsPerEpoch steps: Int, path: String) throws {
        func fail(_ reason: String) -> Error { TrainingError.corrupt(path: path, reason: "progress record: \(reason)") }
        guard stepInEpoch <= steps else { throw fail("step in epoch \(stepInEpoch) is beyond the \(steps) steps of an epoch") }
        let (before, overflow) = epoch.multipliedReportingOverflow(by: steps)
        guard !overflow, globalStep <= before + stepInEpoch else {
            throw fail("global step \(globalStep) is beyond the \(epoch) epochs of \(steps) steps and \(stepInEpoch) steps taken")
        }
    }

    /// Moves to the next epoch: its sums and counters start at zero.
    mutating func startNextEpoch() {
        epoch += 1
        stepInEpoch = 0
        epochLossSums = []
        epochCounts = nil
        epochImages = 0
        epochSeconds = 0
    }
}

/// A complete training state in one safetensors file: the model under torchvision names (so
/// `scripts/check_checkpoint.py` and PyTorch load it), SGD momentum buffers, the memory bank
/// and neighbour table, the configuration and the progress.
///
/// Layout: model tensors at top level; `optimizer.momentum.<param>`; the method's state as
/// `method.<name>` (InvP: `method.bank` [N, D] F32 and `method.table` [N, k] I32); the method's
/// own layers as `method_module.<PyTorch name>` (e.g. a classification head's `method_module.head.fc_cls.weight`). Metadata: `format`, `config` (JSON), `progress` (JSON), and the
/// architecture keys `arch`, `stem`, `in_channels`, `width`, `head`, `out_dim`.
public enum Checkpoint {
    /// The format tag written into every checkpoint.
    public static let format = CheckpointKey.format

    /// Metadata describing a model's architecture (read by check_checkpoint.py).
    public static func architectureMetadata(_ m: ResNetConfig) -> [String: String] {
        ["arch": "resnet\(m.depth)", "stem": m.stem.rawValue, "in_channels": "\(m.inputChannels)", "width": "\(m.width)",
         "head": m.head.rawValue, "out_dim": "\(m.outputDimension)"]
    }

    /// Builds the archive for a training state.
    public static func archive(config: TrainingConfig, progress: TrainingProgress, model: ResNet, optimizer: SGD,
                               method: any TrainingMethod) throws -> TensorArchive {
        var a = TensorArchive()
        try model.stateDict(into: &a)
        for (name, buffer) in optimizer.momentumBuffers.sorted(by: { $0.key < $1.key }) {
            try a.set(CheckpointKey.momentumPrefix + name, floats: buffer, shape: [buffer.count])
        }
        try method.module?.layer.stateDict(into: &a, prefix: CheckpointKey.methodModulePrefix)
        for (name, tensor) in method.stateTensors().sorted(by: { $0.key < $1.key }) {
            switch tensor {
            case .floats(let values, let shape): try a.set(CheckpointKey.methodPrefix + name, floats: values, shape: shape)
            case .int32s(let values, let shape): try a.set(CheckpointKey.methodPrefix + name, int32s: values, shape: shape)
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        a.metadata = architectureMetadata(model.config)
        a.metadata[CheckpointKey.formatMetadata] = format
        a.metadata[CheckpointKey.configMetadata] = try config.json()
        a.metadata[CheckpointKey.progressMetadata] = String(decoding: try encoder.encode(progress), as: UTF8.self)
        return a
    }

    /// Adds `__check__.input` and the model's evaluation-mode `__check__.output` for it, so
    /// `scripts/check_checkpoint.py` can confirm that PyTorch computes the same function.
    public static func addSelfCheck(to archive: inout TensorArchive, model: ResNet, input: Tensor) throws {
        let output = try GradMode.withoutGradients { try model(input, training: false).output }
        try archive.set("__check__.input", floats: input.toArray(), shape: input.shape)
        try archive.set("__check__.output", floats: output.toArray(), shape: output.shape)
    }

    /// Reads a checkpoint's configuration and progress (checks the format tag, and that the
    /// progress is a point of the configured run; `TrainingProgress.validate(stepsPerEpoch:path:)`
    /// checks the rest once the data is open).
    public static func header(_ archive: TensorArchive, path: String) throws -> (TrainingConfig, TrainingProgress) {
        guard archive.metadata[CheckpointKey.formatMetadata] == format else {
            throw TrainingError.corrupt(path: path, reason: "not an invprop training checkpoint (metadata 'format' is \(archive.metadata[CheckpointKey.formatMetadata] ?? "absent"), expected \(format))")
        }
        // Each key named on its own, so the message says which record the file lacks.
        guard let c = archive.metadata[CheckpointKey.configMetadata] else {
            throw TrainingError.corrupt(path: path, reason: "checkpoint metadata lacks 'config' (the training configuration)")
        }
        guard let p = archive.metadata[CheckpointKey.progressMetadata] else {
            throw TrainingError.corrupt(path: path, reason: "checkpoint metadata lacks 'progress' (the training progress)")
        }
        let config = try TrainingConfig.decode(c, source: path)
        let progress: TrainingProgress
        do {
            progress = try JSONDecoder().decode(TrainingProgress.self, from: Data(p.utf8))
        } catch {
            throw TrainingError.corrupt(path: path, reason: "progress record does not decode: \(error)")
        }
        try progress.validate(for: config, path: path)
        return (config, progress)
    }

    /// Restores model, optimizer and the method's state from an archive; the method's tensors are
    /// checked before any of them changes.
    public static func restore(_ a: TensorArchive, path: String, model: ResNet, optimizer: SGD, method: any TrainingMethod) throws {
        try model.loadStateDict(from: a, source: path, strict: true, ignoring: CheckpointKey.nonModelPrefixes)
        var buffers: [String: [Float]] = [:]
        for name in a.names where name.hasPrefix(CheckpointKey.momentumPrefix) {
            buffers[String(name.dropFirst(CheckpointKey.momentumPrefix.count))] = try a.floats(name)
        }
        var state: [String: MethodStateTensor] = [:]
        for name in a.names where name.hasPrefix(CheckpointKey.methodPrefix) {
            let entry = a[name]!
            let key = String(name.dropFirst(CheckpointKey.methodPrefix.count))
            state[key] = entry.dtype == .i32 ? .int32s(try a.int32s(name), shape: entry.shape) : .floats(try a.floats(name), shape: entry.shape)
        }
        try method.module?.layer.loadStateDict(from: a, prefix: CheckpointKey.methodModulePrefix, source: path)
        do {
            try optimizer.restore(momentumBuffers: buffers)
            try method.restoreState(state)
        } catch {
            throw TrainingError.corrupt(path: path, reason: "\(error)")
        }
    }
}
