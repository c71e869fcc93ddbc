import Foundation
import Models
import NN
import SwiftProtobuf
import Tensors

/// Why a network could not be exported or written; the message names the file or the tensor.
public struct ONNXExportError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A human-readable explanation.
    public let message: String

    /// An error with `message`.
    public init(_ message: String) { self.message = message }

    /// The message, prefixed so logs show where it came from.
    public var description: String { "onnx export: \(message)" }
}

/// Writes a `ResNet` in evaluation mode as an ONNX model (opset 17, IR version 8, fp32).
///
/// The graph mirrors `ResNet.callAsFunction(_:training: false)` operation by operation:
///
/// ```
/// input [batch, C, height, width]
///   → Conv conv1 (cifar: 3×3 s1 p1; imagenet: 7×7 s2 p3) → BatchNormalization bn1 → Relu
///   → (imagenet only) MaxPool 3×3 s2 p1
///   → layer1 … layer4, each block:
///        BasicBlock (ResNet-18/34): Conv 3×3 (stride) → BN → Relu → Conv 3×3 → BN
///        Bottleneck (ResNet-50):    Conv 1×1 → BN → Relu → Conv 3×3 (stride) → BN → Relu → Conv 1×1 → BN
///        shortcut: the block input, or downsample (Conv 1×1 with the stride → BN) when the shape changes
///        → Add → Relu
///   → GlobalAveragePool [batch, F, 1, 1] → Flatten → feature [batch, F]
///   → head: linear  Gemm(fc)                      → output [batch, D]
///           mlp     Gemm(fc.0) → Relu → Gemm(fc.2) → output [batch, D]
///           none    Identity                       → output [batch, F] (equal to feature)
/// ```
///
/// Every parameter and running statistic becomes an fp32 initializer under its torchvision
/// `state_dict` name (`conv1.weight`, `layer1.0.bn1.running_var`, `fc.weight`, …) with the
/// model's shape; node names are the module names (`layer1.0.conv1`), and each node's output
/// value is named after its node. Batch, height and width are symbolic (`batch`, `height`,
/// `width`), so one file serves any batch and image size the network accepts.
public enum ONNXExporter {
    /// The ONNX operator set the graph uses (default domain).
    public static let opsetVersion: Int64 = 17
    /// The IR version that goes with opset 17 (ONNX 1.12).
    public static let irVersion: Int64 = 8
    /// Name of the graph input, [batch, C, height, width] fp32.
    public static let inputName = "input"
    /// Name of the pooled backbone feature output, [batch, F].
    public static let featureName = "feature"
    /// Name of the head output, [batch, D] ([batch, F] and equal to `feature` without a head).
    public static let outputName = "output"
    /// The symbolic dimension names of the input (batch, height, width).
    public static let batchDimension = "batch", heightDimension = "height", widthDimension = "width"

    /// The serialized ONNX model (protobuf bytes) of `model`'s evaluation-mode function.
    public static func serialize(_ model: ResNet) throws -> Data {
        do { return try modelProto(model).serializedData() } catch let error as ONNXExportError { throw error } catch {
            throw ONNXExportError("cannot serialize the ONNX model: \(error)")
        }
    }

    /// Writes `model` as an ONNX file at `path` (replacing it atomically) and returns the byte count.
    @discardableResult
    public static func write(_ model: ResNet, to path: String) throws -> Int {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ONNXExportError("cannot write the ONNX model to \(path): the directory \(directory) does not exist")
        }
        let bytes = try serialize(model)
        do { try bytes.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw ONNXExportError("cannot write the ONNX model to \(path): \(error.localizedDescription)")
        }
        return bytes.count
    }

    /// The ONNX model message of `model` (see the type's documentation for the graph).
    static func modelProto(_ model: ResNet) throws -> Onnx_ModelProto {
        let config = model.config
        var graph = GraphBuilder(model: model)

        // Stem: x [N, C, H, W] → [N, w0, H, W] (cifar) or [N, w0, H/4, W/4] (imagenet, after the max pool).
        var x = try graph.conv("conv1", inputName, stride: config.stem == .cifar ? 1 : 2)
        x = try graph.batchNorm("bn1", x)
        x = graph.relu("relu", x)
        if config.stem == .imagenet {
            x = graph.node("MaxPool", name: "maxpool", inputs: [x],
                           attributes: [.ints("kernel_shape", [3, 3]), .ints("strides", [2, 2]), .ints("pads", [1, 1, 1, 1])])
        }

        // Stages: layer1 keeps the resolution, layer2…4 halve it in their first block.
        for stage in 1...4 {
            var block = 0
            while graph.has("layer\(stage).\(block).conv1.weight") {
                x = try graph.residualBlock("layer\(stage).\(block)", x, stride: (block == 0 && stage > 1) ? 2 : 1,
                                            bottleneck: config.depth == 50)
                block += 1
            }
            guard block > 0 else { throw ONNXExportError("the network has no layer\(stage).0 block (no tensor layer\(stage).0.conv1.weight)") }
        }

        // Pooled feature: [N, F, h, w] → [N, F, 1, 1] → [N, F].
        x = graph.node("GlobalAveragePool", name: "avgpool", inputs: [x])
        _ = graph.node("Flatten", name: "flatten", inputs: [x], output: featureName, attributes: [.int("axis", 1)])

        // Head: [N, F] → [N, D].
        switch config.head {
        case .linear:
            _ = try graph.linear("fc", featureName, output: outputName)
        case .mlp:
            let hidden = try graph.linear("fc.0", featureName)
            _ = try graph.linear("fc.2", graph.relu("fc.1", hidden), output: outputName)
        case .none:
            _ = graph.node("Identity", name: "head", inputs: [featureName], output: outputName)
        }
        try graph.checkEveryTensorUsed()

        let batch = Dimension.symbolic(batchDimension)
        var g = Onnx_GraphProto()
        g.name = "resnet\(config.depth)_\(config.stem.rawValue)"
        g.docString = summary(config)
        g.node = graph.nodes
        g.initializer = graph.initializers
        g.input = [valueInfo(inputName, [batch, .fixed(config.inputChannels), .symbolic(heightDimension), .symbolic(widthDimension)])]
        g.output = [valueInfo(featureName, [batch, .fixed(config.featureDimension)]),
                    valueInfo(outputName, [batch, .fixed(config.head == .none ? config.featureDimension : config.outputDimension)])]

        var opset = Onnx_OperatorSetIdProto()
        opset.domain = ""
        opset.version = opsetVersion
        var m = Onnx_ModelProto()
        m.irVersion = irVersion
        m.opsetImport = [opset]
        m.producerName = "invprop"
        m.graph = g
        m.docString = summary(config)
        let metadata: [(String, String)] = [
            ("arch", "resnet\(config.depth)"), ("stem", config.stem.rawValue), ("in_channels", "\(config.inputChannels)"),
            ("width", "\(config.width)"), ("head", config.head.rawValue), ("out_dim", "\(config.outputDimension)"),
            ("feature_dim", "\(config.featureDimension)"),
        ]
        m.metadataProps = metadata.map { key, value in
            var entry = Onnx_StringStringEntryProto()
            entry.key = key
            entry.value = value
            return entry
        }
        return m
    }

    /// "ResNet-18 (cifar stem, width 0.25, 3 input channels, linear head → 128)…", for doc strings.
    static func summary(_ c: ResNetConfig) -> String {
        "ResNet-\(c.depth) (\(c.stem.rawValue) stem, width \(c.width), \(c.inputChannels) input channel\(c.inputChannels == 1 ? "" : "s"), "
            + "\(c.head.rawValue) head → \(c.head == .none ? c.featureDimension : c.outputDimension)) exported by invprop in evaluation mode: "
            + "\(inputName) [\(batchDimension), \(c.inputChannels), \(heightDimension), \(widthDimension)] fp32, normalised as invprop's "
            + "evaluation transform does → \(featureName) [\(batchDimension), \(c.featureDimension)] (pooled backbone feature) and "
            + "\(outputName) (head output\(c.head == .none ? ", equal to \(featureName): the network has no head" : ""))."
    }

    /// One dimension of a value's shape.
    enum Dimension {
        /// A fixed size.
        case fixed(Int)
        /// A named size chosen by the caller (batch, height, width).
        case symbolic(String)
    }

    /// An fp32 tensor value `name` of shape `dimensions`.
    static func valueInfo(_ name: String, _ dimensions: [Dimension]) -> Onnx_ValueInfoProto {
        var shape = Onnx_TensorShapeProto()
        shape.dim = dimensions.map { d in
            var dim = Onnx_TensorShapeProto.Dimension()
            switch d {
            case .fixed(let size): dim.dimValue = Int64(size)
            case .symbolic(let name): dim.dimParam = name
            }
            return dim
        }
        var tensor = Onnx_TypeProto.Tensor()
        tensor.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        tensor.shape = shape
        var info = Onnx_ValueInfoProto()
        info.name = name
        info.type.tensorType = tensor
        return info
    }
}

extension Onnx_AttributeProto {
    /// An integer attribute.
    static func int(_ name: String, _ value: Int) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .int
        a.i = Int64(value)
        return a
    }

    /// An integer-list attribute.
    static func ints(_ name: String, _ values: [Int]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .ints
        a.ints = values.map(Int64.init)
        return a
    }

    /// A float attribute.
    static func float(_ name: String, _ value: Float) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .float
        a.f = value
        return a
    }
}

/// Accumulates the nodes and initializers of a ResNet graph; every helper takes the name of its
/// input value and returns the name of its output value (the node's name unless told otherwise).
struct GraphBuilder {
    /// Nodes in topological order.
    private(set) var nodes: [Onnx_NodeProto] = []
    /// Initializers in the order the nodes first use them.
    private(set) var initializers: [Onnx_TensorProto] = []
    /// The model's parameters and running statistics by state-dict name.
    private let tensors: [String: Tensor]
    /// Names already written as initializers.
    private var used: Set<String> = []
    /// The batch norms' variance epsilon.
    private let epsilon: Float

    /// A builder over `model`'s tensors.
    init(model: ResNet) {
        tensors = Dictionary(model.namedParameters + model.namedBuffers, uniquingKeysWith: { first, _ in first })
        epsilon = model.batchNormEpsilon
    }

    /// Whether the model has a tensor named `name`.
    func has(_ name: String) -> Bool { tensors[name] != nil }

    /// Appends a node `op` named `name` and returns its output value's name (`output`, else `name`).
    mutating func node(_ op: String, name: String, inputs: [String], output: String? = nil,
                       attributes: [Onnx_AttributeProto] = []) -> String {
        var n = Onnx_NodeProto()
        n.opType = op
        n.name = name
        n.input = inputs
        n.output = [output ?? name]
        n.attribute = attributes
        nodes.append(n)
        return output ?? name
    }

    /// Adds the model's tensor `name` as an fp32 initializer with the model's shape; returns the name.
    mutating func initializer(_ name: String) throws -> String {
        guard let tensor = tensors[name] else { throw ONNXExportError("the network has no tensor \(name)") }
        guard !used.contains(name) else { return name }
        used.insert(name)
        var t = Onnx_TensorProto()
        t.name = name
        t.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        t.dims = tensor.shape.map(Int64.init)
        // raw_data: the elements in C order as little-endian fp32, as ONNX specifies.
        let values = tensor.toArray()
        var raw = Data(capacity: values.count * 4)
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { raw.append(contentsOf: $0) } }
        t.rawData = raw
        initializers.append(t)
        return name
    }

    /// Conv `prefix` ([out, in, k, k] weight `prefix.weight`, no bias) with padding k/2, as every
    /// ResNet convolution has: x [N, in, H, W] → [N, out, H/stride, W/stride].
    mutating func conv(_ prefix: String, _ x: String, stride: Int) throws -> String {
        let weight = try initializer("\(prefix).weight")
        let shape = tensors[weight]!.shape
        guard shape.count == 4, shape[2] == shape[3] else {
            throw ONNXExportError("\(weight) has shape \(shape), expected a square convolution kernel [out, in, k, k]")
        }
        let k = shape[2], p = k / 2
        var inputs = [x, weight]
        if has("\(prefix).bias") { inputs.append(try initializer("\(prefix).bias")) }
        return node("Conv", name: prefix, inputs: inputs, attributes: [
            .ints("kernel_shape", [k, k]), .ints("strides", [stride, stride]), .ints("pads", [p, p, p, p]),
            .ints("dilations", [1, 1]), .int("group", 1),
        ])
    }

    /// BatchNormalization `prefix` in inference mode (running statistics): x [N, C, H, W] → same shape.
    mutating func batchNorm(_ prefix: String, _ x: String) throws -> String {
        let inputs = [x] + (try ["weight", "bias", "running_mean", "running_var"].map { try initializer("\(prefix).\($0)") })
        return node("BatchNormalization", name: prefix, inputs: inputs, attributes: [.float("epsilon", epsilon), .int("training_mode", 0)])
    }

    /// Relu named `name`: same shape.
    mutating func relu(_ name: String, _ x: String) -> String { node("Relu", name: name, inputs: [x]) }

    /// Gemm `prefix`: x [N, in] · `prefix.weight`ᵀ [out, in] + `prefix.bias` [out] → [N, out].
    mutating func linear(_ prefix: String, _ x: String, output: String? = nil) throws -> String {
        var inputs = [x, try initializer("\(prefix).weight")]
        if has("\(prefix).bias") { inputs.append(try initializer("\(prefix).bias")) }
        return node("Gemm", name: prefix, inputs: inputs, output: output,
                    attributes: [.float("alpha", 1), .float("beta", 1), .int("transA", 0), .int("transB", 1)])
    }

    /// One residual block `prefix` (e.g. `layer2.0`): x [N, Cin, H, W] → [N, Cout, H/stride, W/stride].
    /// The stride sits on the first 3×3 convolution: conv1 of a BasicBlock, conv2 of a Bottleneck.
    mutating func residualBlock(_ prefix: String, _ x: String, stride: Int, bottleneck: Bool) throws -> String {
        let convCount = bottleneck ? 3 : 2
        var h = x
        for i in 1...convCount {
            let s = (bottleneck ? i == 2 : i == 1) ? stride : 1
            h = try conv("\(prefix).conv\(i)", h, stride: s)
            h = try batchNorm("\(prefix).bn\(i)", h)
            if i < convCount { h = relu("\(prefix).relu\(i)", h) }
        }
        var shortcut = x
        if has("\(prefix).downsample.0.weight") {
            shortcut = try conv("\(prefix).downsample.0", x, stride: stride)
            shortcut = try batchNorm("\(prefix).downsample.1", shortcut)
        }
        let sum = node("Add", name: "\(prefix).add", inputs: [h, shortcut])
        return relu("\(prefix).relu", sum)
    }

    /// Throws when a parameter or running statistic of the model found no place in the graph (the
    /// network has a part this exporter does not know, and the file would compute something else).
    func checkEveryTensorUsed() throws {
        let left = tensors.keys.filter { !used.contains($0) }.sorted()
        guard left.isEmpty else {
            throw ONNXExportError("the network has tensors the ONNX graph does not use: \(left.prefix(5).joined(separator: ", "))")
        }
    }
}
