import Evaluation
import Foundation
import Methods
import Models
import SafeTensors
import Tensors
import Testing
import Training

/// Checkpoints whose configuration asks for an impossible allocation (found through FuzzCheckpoint;
/// the inputs are kept as Fuzz/corpus/checkpoint/regression-*). Before the fix, each made
/// `invprop eval`, `export` and `train --resume` allocate terabytes while building the network or
/// the method, which trapped; now validation refuses them with the library's errors.
@Suite struct HostileCheckpointTests {
    /// A checkpoint holding only the metadata: format, `config` and `progress`.
    static func checkpoint(_ config: TrainingConfig, in folder: String) throws -> String {
        var archive = TensorArchive()
        archive.metadata["format"] = Checkpoint.format
        archive.metadata["config"] = try config.json()
        archive.metadata["progress"] = String(decoding: try JSONEncoder().encode(TrainingProgress()), as: UTF8.self)
        let path = (folder as NSString).appendingPathComponent("checkpoint-last.safetensors")
        try archive.write(to: path)
        return path
    }

    static func temporaryFolder() throws -> String {
        let path = (NSTemporaryDirectory() as NSString).appendingPathComponent("invprop-hostile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// FuzzCheckpoint input `regression-huge-output-dimension.safetensors`: a head of 2⁴⁰ outputs.
    @Test func hugeOutputDimensionIsRefusedBeforeAllocating() throws {
        let folder = try Self.temporaryFolder(); defer { try? FileManager.default.removeItem(atPath: folder) }
        var config = TrainingConfig()
        config.model.outputDimension = 1 << 40
        let path = try Self.checkpoint(config, in: folder)

        let (saved, _) = try Checkpoint.header(try TensorArchive(contentsOf: path), path: path)
        #expect(throws: TensorError.self) { try saved.validate() }           // train --resume validates first
        #expect(throws: TensorError.self) { try ResNet(saved.model) }
        #expect(throws: EvaluationError.self) { try EvaluationSession.openNetwork(checkpoint: path) }   // eval, export
        config.model.outputDimension = ResNetConfig.maxOutputDimension
        #expect(throws: Never.self) { try config.model.validate() }
    }

    /// FuzzCheckpoint input `regression-huge-coke-predictor.safetensors`: CoKe's predictor 2⁴⁰ wide.
    @Test func hugeCoKePredictorIsRefusedBeforeAllocating() throws {
        let folder = try Self.temporaryFolder(); defer { try? FileManager.default.removeItem(atPath: folder) }
        var config = TrainingConfig()
        config.method = "coke"
        var coke = CoKeConfig()
        coke.predictorWidth = 1 << 40
        var options = MethodOptions()
        options.coke = coke
        config.methodOptions = options
        let path = try Self.checkpoint(config, in: folder)

        let (saved, _) = try Checkpoint.header(try TensorArchive(contentsOf: path), path: path)
        #expect(throws: TrainingError.self) { try saved.validate() }
        var setup = MethodSetup(invp: saved.invp, datasetSize: 64, dimension: 16, seed: 0)
        setup.options = saved.methodOptions ?? MethodOptions()
        setup.backboneWidth = 8
        #expect(throws: MethodsError.self) { try MethodRegistry.make("coke", setup: setup) }
    }
}
