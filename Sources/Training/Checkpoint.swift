import Foundation
import Methods
import Models
import NN
import SafeTensors
import Tensors

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
    /// Running sums of the current epoch's losses (so a resumed epoch logs the same averages).
    public var epochLossSums: [Double] = [0, 0, 0]
    /// Purity counts of the current epoch.
    public var epochPurity = PurityCounts()
    /// Images processed in the current epoch and the seconds they took.
    public var epochImages = 0, epochSeconds = 0.0
    /// A fresh start.
    public init() {}
}

/// A complete training state in one safetensors file: the model under torchvision names (so
/// `scripts/check_checkpoint.py` and PyTorch load it), SGD momentum buffers, the memory bank
/// and neighbour table, the configuration and the progress.
///
/// Layout: model tensors at top level; `optimizer.momentum.<param>`; `method.bank` [N, D] F32;
/// `method.table` [N, k] I32. Metadata: `format`, `config` (JSON), `progress` (JSON), and the
/// architecture keys `arch`, `stem`, `in_channels`, `width`, `head`, `out_dim`.
public enum Checkpoint {
    /// The format tag written into every checkpoint.
    public static let format = "invprop-checkpoint-1"

    /// Metadata describing a model's architecture (read by check_checkpoint.py).
    public static func architectureMetadata(_ m: ResNetConfig) -> [String: String] {
        ["arch": "resnet\(m.depth)", "stem": m.stem.rawValue, "in_channels": "\(m.inputChannels)", "width": "\(m.width)",
         "head": m.head.rawValue, "out_dim": "\(m.outputDimension)"]
    }

    /// Builds the archive for a training state.
    public static func archive(config: TrainingConfig, progress: TrainingProgress, model: ResNet, optimizer: SGD,
                               bank: MemoryBank?, table: NeighbourTable?) throws -> TensorArchive {
        var a = TensorArchive()
        try model.stateDict(into: &a)
        for (name, buffer) in optimizer.momentumBuffers.sorted(by: { $0.key < $1.key }) {
            try a.set("optimizer.momentum." + name, floats: buffer, shape: [buffer.count])
        }
        if let bank { try a.set("method.bank", floats: bank.storage, shape: [bank.count, bank.dimension]) }
        if let table { try a.set("method.table", int32s: table.storage, shape: [table.count, table.neighbours]) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        a.metadata = architectureMetadata(model.config)
        a.metadata["format"] = format
        a.metadata["config"] = try config.json()
        a.metadata["progress"] = String(decoding: try encoder.encode(progress), as: UTF8.self)
        return a
    }

    /// Adds `__check__.input` and the model's evaluation-mode `__check__.output` for it, so
    /// `scripts/check_checkpoint.py` can confirm that PyTorch computes the same function.
    public static func addSelfCheck(to archive: inout TensorArchive, model: ResNet, input: Tensor) throws {
        let output = try GradMode.withoutGradients { try model(input, training: false).output }
        try archive.set("__check__.input", floats: input.toArray(), shape: input.shape)
        try archive.set("__check__.output", floats: output.toArray(), shape: output.shape)
    }

    /// Reads a checkpoint's configuration and progress (checks the format tag).
    public static func header(_ archive: TensorArchive, path: String) throws -> (TrainingConfig, TrainingProgress) {
        guard archive.metadata["format"] == format else {
            throw TrainingError.corrupt(path: path, reason: "not an invprop training checkpoint (metadata 'format' is \(archive.metadata["format"] ?? "absent"), expected \(format))")
        }
        guard let c = archive.metadata["config"], let p = archive.metadata["progress"] else {
            throw TrainingError.corrupt(path: path, reason: "checkpoint metadata lacks 'config' or 'progress'")
        }
        let config = try TrainingConfig.decode(c, source: path)
        do {
            return (config, try JSONDecoder().decode(TrainingProgress.self, from: Data(p.utf8)))
        } catch {
            throw TrainingError.corrupt(path: path, reason: "progress record does not decode: \(error)")
        }
    }

    /// Restores model, optimizer, bank and table from an archive; everything is validated
    /// before the first value changes.
    public static func restore(_ a: TensorArchive, path: String, model: ResNet, optimizer: SGD, bank: MemoryBank?, table: NeighbourTable?) throws {
        try model.loadStateDict(from: a, source: path, strict: true, ignoring: ["optimizer.", "method.", "__check__."])
        var buffers: [String: [Float]] = [:]
        for name in a.names where name.hasPrefix("optimizer.momentum.") {
            buffers[String(name.dropFirst("optimizer.momentum.".count))] = try a.floats(name)
        }
        let bankValues = try bank.map { b in try a.floats("method.bank", shape: [b.count, b.dimension]) }
        let tableValues = try table.map { t in try a.int32s("method.table", shape: [t.count, t.neighbours]) }
        do {
            try optimizer.restore(momentumBuffers: buffers)
            if let bank, let bankValues { try bank.restore(bankValues) }
            if let table, let tableValues { try table.restore(tableValues) }
        } catch {
            throw TrainingError.corrupt(path: path, reason: "\(error)")
        }
    }
}
