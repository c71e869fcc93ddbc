import Evaluation
import Foundation
import Methods
import Models
import NN
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

    /// A checkpoint file holding only the given metadata (nil: the key is absent), read back.
    static func header(format: String?, config: String?, progress: String?, in folder: String) throws -> (TensorArchive, String) {
        var archive = TensorArchive()
        archive.metadata["format"] = format
        archive.metadata["config"] = config
        archive.metadata["progress"] = progress
        let path = (folder as NSString).appendingPathComponent("checkpoint-\(UUID().uuidString).safetensors")
        try archive.write(to: path)
        return (try TensorArchive(contentsOf: path), path)
    }

    /// `Checkpoint.header` refuses a file that is not an invprop checkpoint or lacks a record, each
    /// time with `TrainingError.corrupt` for the file naming the key and what is wrong with it.
    @Test func headerRefusesForeignAndIncompleteMetadata() throws {
        let folder = try Self.temporaryFolder(); defer { try? FileManager.default.removeItem(atPath: folder) }
        let config = try TrainingConfig().json()
        let progress = String(decoding: try JSONEncoder().encode(TrainingProgress()), as: UTF8.self)
        let format = Checkpoint.format
        let cases: [(String, String?, String?, String?, String)] = [
            ("another program's format", "pt", config, progress, "metadata 'format' is pt, expected \(format)"),
            ("format absent", nil, config, progress, "metadata 'format' is absent"),
            ("format in another case", format.uppercased(), config, progress, "metadata 'format' is \(format.uppercased())"),
            ("config absent", format, nil, progress, "lacks 'config'"),
            ("progress absent", format, config, nil, "lacks 'progress'"),
            ("config not JSON", format, "{\"epochs\": ", progress, "configuration does not decode"),
            ("config an array", format, "[1, 2]", progress, "configuration does not decode"),
            ("progress not JSON", format, config, "epoch 3", "progress record does not decode"),
            ("progress with a text epoch", format, config, progress.replacingOccurrences(of: "\"epoch\":0", with: "\"epoch\":\"three\""),
             "progress record does not decode"),
            ("progress null", format, config, "null", "progress record does not decode"),
        ]
        for (label, f, c, p, naming) in cases {
            let (archive, path) = try Self.header(format: f, config: c, progress: p, in: folder)
            do {
                _ = try Checkpoint.header(archive, path: path)
                Issue.record("\(label): accepted")
            } catch TrainingError.corrupt(let file, let reason) {
                #expect(file == path, "\(label)")
                #expect(reason.contains(naming), "\(label): \(reason)")
            } catch {
                Issue.record("\(label): \(error) is not TrainingError.corrupt")
            }
        }
        // The text-epoch case above must really have changed the record it starts from.
        #expect(progress.contains("\"epoch\":0"))
        // The same metadata, complete, reads back.
        let (archive, path) = try Self.header(format: format, config: config, progress: progress, in: folder)
        let (savedConfig, savedProgress) = try Checkpoint.header(archive, path: path)
        #expect(savedConfig == TrainingConfig() && savedProgress == TrainingProgress())
    }

    /// Saved momentum buffers that do not fit the parameters (an unknown name, too few or too
    /// many values) or hold NaN or infinity are refused naming the buffer, and the optimizer keeps
    /// the buffers it had.
    @Test func momentumBuffersThatDoNotFitAreRefused() throws {
        let weight = try Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6], requiresGrad: true)
        let bias = try Tensor(shape: [2], values: [0.5, -0.5], requiresGrad: true)
        let optimizer = try SGD(groups: [ParameterGroup([("fc.weight", weight), ("fc.bias", bias)], weightDecay: 0)], learningRate: 0.1)
        weight.grad = try Tensor(shape: [2, 3], values: [1, 1, 1, 1, 1, 1])
        bias.grad = try Tensor(shape: [2], values: [1, 1])
        optimizer.step()
        let before = optimizer.momentumBuffers
        #expect(before.count == 2)
        let good: [String: [Float]] = ["fc.weight": [1, 2, 3, 4, 5, 6], "fc.bias": [7, 8]]
        let cases: [(String, [String: [Float]], String)] = [
            ("unknown parameter", good.merging(["fc2.weight": [1]]) { $1 }, "unknown parameter fc2.weight"),
            ("too few values", good.merging(["fc.weight": [1, 2, 3]]) { $1 }, "fc.weight has 3 values, parameter has 6"),
            ("too many values", good.merging(["fc.bias": [1, 2, 3]]) { $1 }, "fc.bias has 3 values, parameter has 2"),
            ("empty buffer", good.merging(["fc.bias": []]) { $1 }, "fc.bias has 0 values"),
            ("NaN", good.merging(["fc.weight": [1, 2, .nan, 4, 5, 6]]) { $1 }, "fc.weight contains non-finite"),
            ("infinity", good.merging(["fc.bias": [-.infinity, 0]]) { $1 }, "fc.bias contains non-finite"),
        ]
        for (label, saved, naming) in cases {
            do {
                try optimizer.restore(momentumBuffers: saved)
                Issue.record("\(label): accepted")
            } catch let error as OptimizerError {
                #expect("\(error)".contains(naming), "\(label): \(error)")
            }
            #expect(optimizer.momentumBuffers == before, "\(label): the buffers changed")
        }
        try optimizer.restore(momentumBuffers: good)
        #expect(optimizer.momentumBuffers == good)
    }
}
