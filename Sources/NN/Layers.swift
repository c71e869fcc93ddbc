import Randomness
import Tensors

/// Anything with named trainable parameters and named non-trainable state (running statistics),
/// named as in PyTorch's `state_dict` so checkpoints load in torchvision-style models.
public protocol Layer: AnyObject {
    /// Trainable tensors with their state-dict names (relative to this layer).
    var namedParameters: [(String, Tensor)] { get }
    /// Non-trainable fp32 state (running mean/variance) with state-dict names.
    var namedBuffers: [(String, Tensor)] { get }
    /// Integer counters (`num_batches_tracked`) with state-dict names.
    var namedCounters: [(String, Int)] { get }
    /// Sets a counter by its name (used when loading checkpoints).
    func setCounter(_ name: String, _ value: Int)
}

extension Layer {
    public var namedBuffers: [(String, Tensor)] { [] }
    public var namedCounters: [(String, Int)] { [] }
    public func setCounter(_ name: String, _ value: Int) {}
}

/// Prefixes every name of a child layer's entries with "prefix.".
public func prefixed<T>(_ prefix: String, _ entries: [(String, T)]) -> [(String, T)] {
    entries.map { ("\(prefix).\($0.0)", $0.1) }
}

/// A 2-d convolution layer with PyTorch's weight layout [out, in, k, k].
public final class Conv2d: Layer {
    /// Weight [out, in, k, k].
    public let weight: Tensor
    /// Optional bias [out].
    public let bias: Tensor?
    /// Stride and padding.
    public let stride: Int, padding: Int

    /// Kaiming-normal initialisation with fan-out (torchvision's ResNet convention): std = √(2/(out·k·k)).
    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0, bias: Bool = false,
                generator: inout SeededGenerator) {
        let std = (2 / Float(outChannels * kernel * kernel)).squareRoot()
        let n = outChannels * inChannels * kernel * kernel
        weight = try! Tensor(shape: [outChannels, inChannels, kernel, kernel], values: (0..<n).map { _ in std * Float(generator.normal()) }, requiresGrad: true)
        self.bias = bias ? Tensor.zeros([outChannels], requiresGrad: true) : nil
        self.stride = stride
        self.padding = padding
    }

    /// Applies the convolution.
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try Tensor.conv2d(x, weight: weight, bias: bias, stride: stride, padding: padding)
    }

    public var namedParameters: [(String, Tensor)] { [("weight", weight)] + (bias.map { [("bias", $0)] } ?? []) }
}

/// Batch normalization over channels with running statistics (momentum 0.1, eps 1e-5).
public final class BatchNorm2d: Layer {
    /// Scale γ [C] (initially 1) and shift β [C] (initially 0).
    public let weight: Tensor, bias: Tensor
    /// Running mean (initially 0) and variance (initially 1), updated in training.
    public let runningMean: Tensor, runningVariance: Tensor
    /// Number of training batches seen (PyTorch's `num_batches_tracked`).
    public private(set) var batchesTracked = 0
    /// Weight of the newest batch in the running statistics, and the variance epsilon.
    public let momentum: Float, epsilon: Float
    /// When set, training uses the statistics of the global batch of a data-parallel job
    /// (synchronised batch norm); nil: this process's batch alone.
    public var replicaSum: (any ReplicaSum)?

    /// A batch-norm layer over `channels` channels.
    public init(_ channels: Int, momentum: Float = 0.1, epsilon: Float = 1e-5) {
        weight = Tensor.full([channels], 1).requiringGrad()
        bias = Tensor.zeros([channels], requiresGrad: true)
        runningMean = Tensor.zeros([channels])
        runningVariance = Tensor.full([channels], 1)
        self.momentum = momentum
        self.epsilon = epsilon
    }

    /// Normalises x (batch statistics in training, running ones in evaluation), optionally
    /// followed by ReLU in the same kernel.
    public func callAsFunction(_ x: Tensor, training: Bool, relu: Bool = false) throws -> Tensor {
        if training { batchesTracked += 1 }
        if training, let replicaSum {
            return try Tensor.syncBatchNorm(x, weight: weight, bias: bias, runningMean: runningMean, runningVariance: runningVariance,
                                            replicas: replicaSum, momentum: momentum, epsilon: epsilon, fusedReLU: relu)
        }
        return try Tensor.batchNorm(x, weight: weight, bias: bias, runningMean: runningMean, runningVariance: runningVariance,
                                    training: training, momentum: momentum, epsilon: epsilon, fusedReLU: relu)
    }

    public var namedParameters: [(String, Tensor)] { [("weight", weight), ("bias", bias)] }
    public var namedBuffers: [(String, Tensor)] { [("running_mean", runningMean), ("running_var", runningVariance)] }
    public var namedCounters: [(String, Int)] { [("num_batches_tracked", batchesTracked)] }
    public func setCounter(_ name: String, _ value: Int) { if name == "num_batches_tracked" { batchesTracked = value } }
}

/// A fully connected layer, weight [out, in] as in PyTorch.
public final class Linear: Layer {
    /// Weight [out, in] and bias [out].
    public let weight: Tensor, bias: Tensor?

    /// PyTorch's default initialisation: weight and bias uniform in ±1/√in.
    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, generator: inout SeededGenerator) {
        let bound = 1 / Float(inFeatures).squareRoot()
        weight = try! Tensor(shape: [outFeatures, inFeatures],
                             values: (0..<inFeatures * outFeatures).map { _ in bound * Float(2 * generator.uniform() - 1) }, requiresGrad: true)
        self.bias = bias ? try! Tensor(shape: [outFeatures], values: (0..<outFeatures).map { _ in bound * Float(2 * generator.uniform() - 1) },
                                       requiresGrad: true) : nil
    }

    /// x [B, in] → [B, out].
    public func callAsFunction(_ x: Tensor) throws -> Tensor { try Tensor.linear(x, weight: weight, bias: bias) }

    public var namedParameters: [(String, Tensor)] { [("weight", weight)] + (bias.map { [("bias", $0)] } ?? []) }
}
