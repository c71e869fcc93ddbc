import Models
import Randomness
import Tensors

/// A seeded random input and invprop's own evaluation-mode outputs for it, written beside an
/// exported model so that another runtime (`scripts/check_onnx.py` with onnxruntime) can confirm
/// that the file computes the same function.
public struct ONNXCheckSample: Sendable {
    /// The input, [count, C, size, size] in C order: standard-normal values (what a normalised image looks like).
    public let input: [Float]
    /// Its shape [count, C, size, size].
    public let inputShape: [Int]
    /// The pooled backbone feature, [count, F].
    public let feature: [Float]
    /// Its shape [count, F].
    public let featureShape: [Int]
    /// The head output, [count, D] ([count, F] without a head).
    public let output: [Float]
    /// Its shape.
    public let outputShape: [Int]

    /// Draws `count` inputs of `size`×`size` pixels from `seed` and runs `model` on them in
    /// evaluation mode, fp32, without recording gradients.
    public init(model: ResNet, count: Int, size: Int, seed: UInt64 = 0) throws {
        guard count >= 1 else { throw ONNXExportError("the check needs at least 1 sample, got \(count)") }
        guard size >= 1 else { throw ONNXExportError("the check image size must be ≥ 1, got \(size)") }
        var generator = SeededGenerator(seed: seed)
        let shape = [count, model.config.inputChannels, size, size]
        let values = (0..<shape.reduce(1, *)).map { _ in Float(generator.normal()) }
        let x = try Tensor(shape: shape, values: values)
        let (f, y) = try GradMode.withoutGradients { try model(x, training: false, precision: .f32) }
        input = values
        inputShape = shape
        feature = f.toArray()
        featureShape = f.shape
        output = y.toArray()
        outputShape = y.shape
    }
}
