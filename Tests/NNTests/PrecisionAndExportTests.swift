import Foundation
import Kernels
import Randomness
import SafeTensors
import Testing
@testable import Models
@testable import NN
@testable import Tensors
@testable import Training

/// ‖a − b‖ / ‖b‖ over a whole tensor.
func normRelativeDifference(_ a: [Float], _ b: [Float]) -> Double {
    let diff = zip(a, b).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
    let base = b.reduce(0.0) { $0 + Double($1) * Double($1) }
    return (diff / max(base, 1e-30)).squareRoot()
}

@Suite struct PrecisionTests {
    /// A bf16 training step (convolutions, batch norm, pooling in bf16; fp32 master weights,
    /// gradients, loss and update) agrees with the fp32 step.
    ///
    /// Tolerances, and why: bf16 keeps 8 significant bits, so every convolution input, weight and
    /// output gradient is rounded with a relative error up to 2⁻⁹ ≈ 0.2 %. Independent roundings
    /// across ~20 layers add to ~1–2 % of the activations (batch norm re-normalises each layer,
    /// so they do not compound): the output must agree within 3 %. Gradients at initialisation are
    /// dominated by sums that nearly cancel (batch-norm backward subtracts means), which keep
    /// bf16's absolute error but lose their size: PyTorch's own bf16 autocast on this very setup
    /// is 2.0 % off in the output and 31 % off in the whole gradient (scripts/bf16_agreement.py).
    /// So we ask the whole gradient to be within 45 % and to point the same way (cosine > 0.9),
    /// and — what matters for training — five SGD steps on the batch to follow the fp32 losses
    /// within 3 %. A layout or type bug gives output errors of order 100 % and cosines near 0.
    @Test func bf16StepAgreesWithFp32() throws {
        let config = ResNetConfig(depth: 18, stem: .cifar, inputChannels: 3, width: 0.5, head: .linear, outputDimension: 10)
        var g = SeededGenerator(seed: 3)
        let x = try Tensor(shape: [32, 3, 32, 32], values: (0..<(32 * 3 * 32 * 32)).map { _ in g.uniformFloat(-1, 1) })
        let labels = (0..<32).map { $0 % 10 }
        func run(_ precision: DType) throws -> (output: [Float], gradient: [Float], losses: [Float]) {
            let model = try ResNet(config, seed: 5)
            let sgd = try SGD(groups: [ParameterGroup(model.namedParameters, weightDecay: 5e-4)], learningRate: 0.05, momentum: 0.9)
            var output: [Float] = [], gradient: [Float] = [], losses: [Float] = []
            for step in 0..<5 {
                sgd.zeroGradients()
                let (_, y) = try model(x, training: true, precision: precision)
                let loss = try Tensor.crossEntropy(y, labels: labels)
                try loss.backward()
                losses.append(loss.scalar)
                if step == 0 { output = y.toArray(); gradient = model.namedParameters.flatMap { $0.1.grad!.toArray() } }
                sgd.step()
            }
            return (output, gradient, losses)
        }
        let full = try run(.f32), half = try run(.bf16)
        let outputDifference = normRelativeDifference(half.output, full.output)
        let gradientDifference = normRelativeDifference(half.gradient, full.gradient)
        let dot = zip(half.gradient, full.gradient).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        let cosine = dot / (half.gradient.reduce(0.0) { $0 + Double($1 * $1) } * full.gradient.reduce(0.0) { $0 + Double($1 * $1) }).squareRoot()
        print("bf16 vs fp32: output \(outputDifference), gradient \(gradientDifference), cosine \(cosine), losses \(full.losses) vs \(half.losses)")
        #expect(outputDifference < 0.03)
        #expect(gradientDifference < 0.45)
        #expect(cosine > 0.9)
        for (a, b) in zip(half.losses, full.losses) { #expect(abs(a - b) < 0.03 * b, "losses \(full.losses) vs \(half.losses)") }
        #expect(full.losses.last! < full.losses.first!)
        // The bf16 convolutions run bf16 kernels (AMX where the CPU has it, else AVX-512 BF16).
        let implementations = KernelDiagnostics.convolutionImplementations.filter { $0.key.hasSuffix("bf16") }
        #expect(!implementations.isEmpty)
        for (key, names) in implementations { #expect(names.contains("bf16"), "\(key): \(names)") }
    }
}

/// Whether `python3 -c 'import torch, safetensors'` succeeds; checked once.
let pytorchAvailable: Bool = {
    let probe = Process()
    probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    probe.arguments = ["python3", "-c", "import torch, safetensors"]
    probe.standardOutput = FileHandle.nullDevice
    probe.standardError = FileHandle.nullDevice
    guard (try? probe.run()) != nil else { return false }
    probe.waitUntilExit()
    return probe.terminationStatus == 0
}()

/// Reported as skipped (not passed) where python3 with torch and safetensors is missing.
@Suite(.enabled(if: pytorchAvailable, "skipped: python3 with torch and safetensors is not available"))
struct CheckpointExportTests {
    /// A ResNet checkpoint written by invprop loads into the PyTorch reference model
    /// (scripts/check_checkpoint.py, strict load) and gives the same evaluation-mode output.
    @Test(arguments: [(18, Stem.cifar, 3, 0.5, HeadKind.mlp), (50, Stem.imagenet, 1, 0.25, HeadKind.none)])
    func pytorchLoadsOurCheckpoint(depth: Int, stem: Stem, channels: Int, width: Double, head: HeadKind) throws {
        let config = ResNetConfig(depth: depth, stem: stem, inputChannels: channels, width: width, head: head, outputDimension: 128)
        let model = try ResNet(config, seed: 9)
        var g = SeededGenerator(seed: 4)
        let size = stem == .cifar ? 16 : 32
        let x = try Tensor(shape: [4, channels, size, size], values: (0..<(4 * channels * size * size)).map { _ in g.uniformFloat(-1, 1) })
        _ = try model(x, training: true)   // moves the running statistics away from 0 and 1
        var archive = TensorArchive()
        try model.stateDict(into: &archive)
        archive.metadata = Checkpoint.architectureMetadata(config)
        try Checkpoint.addSelfCheck(to: &archive, model: model, input: x)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("invprop-check-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try archive.write(to: path)

        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/check_checkpoint.py").path
        let check = Process()
        check.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        check.arguments = ["python3", script, path]
        let pipe = Pipe()
        check.standardOutput = pipe
        check.standardError = pipe
        try check.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        check.waitUntilExit()
        print(output)
        #expect(check.terminationStatus == 0, "check_checkpoint.py: \(output)")
    }
}
