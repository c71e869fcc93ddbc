import ArgumentParser
import Evaluation
import Foundation
import InvpropCLI
@testable import ONNXExport
import SwiftProtobuf
import Testing
import Training

@Suite("invprop export", .serialized)
struct ExportCommandTests {
    @Test("an unknown --format, a missing --format and a missing source are refused with messages naming the option")
    func badArguments() {
        let tflite = validationMessage(["export", "/tmp", "--format", "tflite"]) ?? ""
        #expect(tflite.contains("--format must be one of onnx") && tflite.contains("tflite"), "\(tflite)")
        #expect(validationMessage(["export", "/tmp"])?.contains("--format") == true)
        #expect(validationMessage(["export", "--format", "onnx"])?.contains("RUN_DIR or --checkpoint") == true)
        #expect(validationMessage(["export", "/tmp", "--format", "onnx", "--check-samples", "-1"])?.contains("--check-samples") == true)
        #expect(validationMessage(["export", "/tmp", "--format", "onnx"]) == nil)
    }

    @Test("a checkpoint that does not exist is an error naming it")
    func missingCheckpoint() {
        let path = "/nonexistent-invprop-\(UUID().uuidString).safetensors"
        do {
            _ = try EvaluationSession.openNetwork(checkpoint: path)
            Issue.record("opening \(path) succeeded")
        } catch {
            #expect("\(error)".contains(path))
        }
        #expect(throws: ExitCode.self) { try invprop(["export", "--checkpoint", path, "--format", "onnx"]) }
    }

    @Test("RUN_DIR/model.onnx and its check files: the model parses, the saved outputs are the network's")
    func exportRunDirectory() throws {
        let directory = try TinyRun.directory()
        try invprop(["export", directory.path, "--format", "onnx", "--check-samples", "2"])
        let path = directory.appendingPathComponent("model.onnx").path
        let proto = try Onnx_ModelProto(serializedBytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
        #expect(proto.graph.node.count == 68)
        #expect(proto.graph.output.map(\.name) == ["feature", "output"])

        let (_, description, model) = try EvaluationSession.openNetwork(checkpoint: directory.path)
        #expect(try [UInt8](ONNXExporter.serialize(model)) == [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
        let input = try NumpyArray(contentsOf: "\(path).check-input.npy")
        #expect(input.shape == [2, description.model.inputChannels, 32, 32])
        let expected = try ONNXCheckSample(model: model, count: 2, size: 32)
        #expect(try input.floats() == expected.input)
        #expect(try NumpyArray(contentsOf: "\(path).check-feature.npy").floats() == expected.feature)
        let output = try NumpyArray(contentsOf: "\(path).check-output.npy")
        #expect(output.shape == [2, description.model.outputDimension])
        #expect(try output.floats() == expected.output)
    }

    @Test("--output elsewhere with --check-samples 0 writes the model alone")
    func exportWithoutCheck() throws {
        let directory = try TinyRun.directory()
        let path = NSTemporaryDirectory() + "invprop-export-\(UUID().uuidString).onnx"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try invprop(["export", "--checkpoint", directory.appendingPathComponent("checkpoint-last.safetensors").path,
                     "--format", "onnx", "--output", path, "--check-samples", "0"])
        #expect(FileManager.default.fileExists(atPath: path))
        #expect(!FileManager.default.fileExists(atPath: "\(path).check-input.npy"))
        #expect(throws: ExitCode.self) {
            try invprop(["export", directory.path, "--format", "onnx", "--output", "/nonexistent-invprop-dir/model.onnx"])
        }
    }
}
