import NN
import Randomness
import Tensors

/// Which first layers a ResNet has.
public enum Stem: String, Codable, Sendable, CaseIterable {
    /// 3×3 stride-1 convolution, no max pooling (CIFAR-sized images).
    case cifar
    /// 7×7 stride-2 convolution and 3×3 stride-2 max pooling (ImageNet-sized images).
    case imagenet
}

/// The projection head on top of the pooled feature.
public enum HeadKind: String, Codable, Sendable, CaseIterable {
    /// feature → output (`fc.weight`, `fc.bias`).
    case linear
    /// feature → feature → ReLU → output (`fc.0.*`, `fc.2.*`).
    case mlp
    /// No head: the output is the pooled feature.
    case none
}

/// Everything that defines a ResNet's shape.
public struct ResNetConfig: Codable, Equatable, Sendable {
    /// 18, 34 or 50.
    public var depth: Int
    /// First layers.
    public var stem: Stem
    /// Input channels (1 for grey images).
    public var inputChannels: Int
    /// Multiplier on the stage widths 64, 128, 256, 512 (e.g. 0.25 for CPU-sized runs).
    public var width: Double
    /// Projection head kind.
    public var head: HeadKind
    /// Output dimension of the head (128 in InvP).
    public var outputDimension: Int

    /// A configuration; `validate()` checks it.
    public init(depth: Int = 18, stem: Stem = .cifar, inputChannels: Int = 3, width: Double = 1, head: HeadKind = .linear, outputDimension: Int = 128) {
        self.depth = depth; self.stem = stem; self.inputChannels = inputChannels
        self.width = width; self.head = head; self.outputDimension = outputDimension
    }

    /// Throws a clear error for unsupported values.
    public func validate() throws {
        guard [18, 34, 50].contains(depth) else { throw TensorError.invalidArgument("ResNet depth \(depth) is not one of 18, 34, 50") }
        guard (1...4).contains(inputChannels) else { throw TensorError.invalidArgument("input channels \(inputChannels) must be 1…4") }
        guard width > 0, width <= 4, Self.stageWidth(0, width) >= 1 else { throw TensorError.invalidArgument("width multiplier \(width) must be in (0, 4]") }
        guard outputDimension >= 1, outputDimension <= Self.maxOutputDimension else {
            throw TensorError.invalidArgument("output dimension \(outputDimension) must be in 1…\(Self.maxOutputDimension)")
        }
    }

    /// Largest head output accepted: 65 536, far above any projection or class count in use,
    /// and a bound on what a checkpoint's configuration can make us allocate before its tensors
    /// are read (a forged `outputDimension` of 2⁴⁰ asked for 32 TB; found through Fuzz/).
    public static let maxOutputDimension = 65_536

    /// Channels of stage `i` (0…3): round(64·2ⁱ·width).
    static func stageWidth(_ i: Int, _ width: Double) -> Int { Int((Double(64 << i) * width).rounded()) }

    /// Blocks per stage.
    var blocks: [Int] { depth == 18 ? [2, 2, 2, 2] : [3, 4, 6, 3] }
    /// Whether blocks are bottlenecks (ResNet-50) with expansion 4.
    var bottleneck: Bool { depth == 50 }

    /// Dimension of the pooled backbone feature (512·width, or 2048·width for ResNet-50).
    public var featureDimension: Int { Self.stageWidth(3, width) * (bottleneck ? 4 : 1) }
}

/// A residual block: BasicBlock (two 3×3) or Bottleneck (1×1, 3×3, 1×1 with expansion 4,
/// stride on the 3×3 as in torchvision), with a 1×1 projection shortcut when shapes change.
final class ResidualBlock: Layer {
    let convs: [Conv2d]
    let norms: [BatchNorm2d]
    let downsample: (Conv2d, BatchNorm2d)?

    init(inChannels: Int, planes: Int, stride: Int, bottleneck: Bool, generator: inout SeededGenerator) {
        let out = bottleneck ? planes * 4 : planes
        if bottleneck {
            convs = [Conv2d(inChannels, planes, kernel: 1, generator: &generator),
                     Conv2d(planes, planes, kernel: 3, stride: stride, padding: 1, generator: &generator),
                     Conv2d(planes, out, kernel: 1, generator: &generator)]
            norms = [BatchNorm2d(planes), BatchNorm2d(planes), BatchNorm2d(out)]
        } else {
            convs = [Conv2d(inChannels, planes, kernel: 3, stride: stride, padding: 1, generator: &generator),
                     Conv2d(planes, planes, kernel: 3, padding: 1, generator: &generator)]
            norms = [BatchNorm2d(planes), BatchNorm2d(planes)]
        }
        downsample = (stride != 1 || inChannels != out)
            ? (Conv2d(inChannels, out, kernel: 1, stride: stride, generator: &generator), BatchNorm2d(out)) : nil
    }

    /// relu(F(x) + shortcut(x)); every batch norm but the last is fused with its ReLU.
    func callAsFunction(_ x: Tensor, training: Bool) throws -> Tensor {
        var h = x
        for i in convs.indices {
            h = try norms[i](convs[i](h), training: training, relu: i < convs.count - 1)
        }
        let shortcut = try downsample.map { try $0.1($0.0(x), training: training) } ?? x
        return Tensor.relu(try Tensor.add(h, shortcut))
    }

    var children: [(String, Layer)] {
        var out: [(String, Layer)] = []
        for i in convs.indices { out += [("conv\(i + 1)", convs[i]), ("bn\(i + 1)", norms[i])] }
        if let (c, b) = downsample { out += [("downsample.0", c), ("downsample.1", b)] }
        return out
    }

    var namedParameters: [(String, Tensor)] { children.flatMap { prefixed($0.0, $0.1.namedParameters) } }
    var namedBuffers: [(String, Tensor)] { children.flatMap { prefixed($0.0, $0.1.namedBuffers) } }
    var namedCounters: [(String, Int)] { children.flatMap { prefixed($0.0, $0.1.namedCounters) } }
    func setCounter(_ name: String, _ value: Int) { setChildCounter(children, name, value) }
}

/// Routes "child.rest" to the child named `child`.
func setChildCounter(_ children: [(String, Layer)], _ name: String, _ value: Int) {
    for (prefix, child) in children where name.hasPrefix(prefix + ".") {
        child.setCounter(String(name.dropFirst(prefix.count + 1)), value)
    }
}

/// A ResNet (18/34/50) with either stem, any input channels, a width multiplier and an optional
/// projection head; parameter names follow torchvision's `state_dict`.
public final class ResNet: Layer {
    /// The configuration it was built from.
    public let config: ResNetConfig
    let conv1: Conv2d
    let bn1: BatchNorm2d
    let stages: [[ResidualBlock]]
    let head: [Linear]

    /// Builds and initialises (torchvision's rules) from a seed.
    public init(_ config: ResNetConfig, seed: UInt64 = 0) throws {
        try config.validate()
        self.config = config
        var g = SeededGenerator(seed: seed)
        let w0 = ResNetConfig.stageWidth(0, config.width)
        conv1 = config.stem == .cifar
            ? Conv2d(config.inputChannels, w0, kernel: 3, stride: 1, padding: 1, generator: &g)
            : Conv2d(config.inputChannels, w0, kernel: 7, stride: 2, padding: 3, generator: &g)
        bn1 = BatchNorm2d(w0)
        var inChannels = w0
        var stages: [[ResidualBlock]] = []
        for (i, count) in config.blocks.enumerated() {
            let planes = ResNetConfig.stageWidth(i, config.width)
            var blocks: [ResidualBlock] = []
            for b in 0..<count {
                let block = ResidualBlock(inChannels: inChannels, planes: planes, stride: (b == 0 && i > 0) ? 2 : 1,
                                          bottleneck: config.bottleneck, generator: &g)
                inChannels = config.bottleneck ? planes * 4 : planes
                blocks.append(block)
            }
            stages.append(blocks)
        }
        self.stages = stages
        let f = config.featureDimension
        switch config.head {
        case .linear: head = [Linear(f, config.outputDimension, generator: &g)]
        case .mlp: head = [Linear(f, f, generator: &g), Linear(f, config.outputDimension, generator: &g)]
        case .none: head = []
        }
    }

    /// Backbone: x [N, C, H, W] → pooled feature [N, F] (fp32). With `precision` bf16 the
    /// convolutional part runs in bf16 (on AMX) while parameters stay fp32.
    public func features(_ x: Tensor, training: Bool, precision: DType = .f32) throws -> Tensor {
        guard x.shape.count == 4, x.shape[1] == config.inputChannels else {
            throw TensorError.shapeMismatch("ResNet expects input [N, \(config.inputChannels), H, W], got \(x.shape)")
        }
        var h = try bn1(conv1(x.cast(to: precision)), training: training, relu: true)
        if config.stem == .imagenet { h = try Tensor.maxPool2d(h, kernel: 3, stride: 2, padding: 1) }
        for stage in stages { for block in stage { h = try block(h, training: training) } }
        return try Tensor.globalAveragePool(h)
    }

    /// Head: pooled feature [N, F] → output [N, D] (the feature itself without a head).
    public func project(_ feature: Tensor) throws -> Tensor {
        switch config.head {
        case .linear: return try head[0](feature)
        case .mlp: return try head[1](Tensor.relu(head[0](feature)))
        case .none: return feature
        }
    }

    /// Backbone and head: returns (pooled feature, head output).
    public func callAsFunction(_ x: Tensor, training: Bool, precision: DType = .f32) throws -> (feature: Tensor, output: Tensor) {
        let f = try features(x, training: training, precision: precision)
        return (f, try project(f))
    }

    var children: [(String, Layer)] {
        var out: [(String, Layer)] = [("conv1", conv1), ("bn1", bn1)]
        for (i, stage) in stages.enumerated() { for (b, block) in stage.enumerated() { out.append(("layer\(i + 1).\(b)", block)) } }
        switch config.head {
        case .linear: out.append(("fc", head[0]))
        case .mlp: out += [("fc.0", head[0]), ("fc.2", head[1])]
        case .none: break
        }
        return out
    }

    public var namedParameters: [(String, Tensor)] { children.flatMap { prefixed($0.0, $0.1.namedParameters) } }
    public var namedBuffers: [(String, Tensor)] { children.flatMap { prefixed($0.0, $0.1.namedBuffers) } }
    public var namedCounters: [(String, Int)] { children.flatMap { prefixed($0.0, $0.1.namedCounters) } }
    public func setCounter(_ name: String, _ value: Int) { setChildCounter(children, name, value) }

    /// The variance epsilon of every batch norm of the network (they share it), for exporters
    /// that write the normalisation out as an operation of their own.
    public var batchNormEpsilon: Float { bn1.epsilon }

    /// Every batch norm of the network, in state-dict order (to synchronise them across the
    /// processes of a data-parallel job).
    public var batchNorms: [BatchNorm2d] {
        var norms: [BatchNorm2d] = [bn1]
        for stage in stages {
            for block in stage { norms += block.norms + (block.downsample.map { [$0.1] } ?? []) }
        }
        return norms
    }

    /// Parameters of the backbone only (no head), e.g. for a frozen-feature probe.
    public var backboneParameters: [(String, Tensor)] { namedParameters.filter { !$0.0.hasPrefix("fc.") } }
}
