import Foundation
import Models
import NN
@testable import ONNXExport
import Randomness
import SwiftProtobuf
import Tensors
import Testing

/// A tiny network whose running statistics have left their initial 0 and 1 (one training-mode
/// forward pass on a seeded input), so that the initializer checks compare real values.
func trainedLookingModel(_ config: ResNetConfig, size: Int) throws -> ResNet {
    let model = try ResNet(config, seed: 7)
    var g = SeededGenerator(seed: 3)
    let shape = [2, config.inputChannels, size, size]
    let x = try Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in Float(g.normal()) })
    _ = try GradMode.withoutGradients { try model(x, training: true) }
    return model
}

/// Serializes `model` and parses the bytes back with SwiftProtobuf.
func roundTrip(_ model: ResNet) throws -> Onnx_ModelProto {
    try Onnx_ModelProto(serializedBytes: [UInt8](ONNXExporter.serialize(model)))
}

/// How many nodes of each op type the graph has.
func opCounts(_ graph: Onnx_GraphProto) -> [String: Int] {
    graph.node.reduce(into: [:]) { $0[$1.opType, default: 0] += 1 }
}

/// A value's shape as text: numbers for fixed sizes, names for symbolic ones.
func dims(_ info: Onnx_ValueInfoProto) -> [String] {
    info.type.tensorType.shape.dim.map { $0.dimParam.isEmpty ? "\($0.dimValue)" : $0.dimParam }
}

/// The integer-list attribute `name` of `node`.
func ints(_ node: Onnx_NodeProto, _ name: String) -> [Int64]? { node.attribute.first { $0.name == name }?.ints }

@Suite struct ONNXExporterTests {
    static let resnet18Cifar = ResNetConfig(depth: 18, stem: .cifar, inputChannels: 3, width: 0.125, head: .linear, outputDimension: 16)
    static let resnet50ImageNet = ResNetConfig(depth: 50, stem: .imagenet, inputChannels: 1, width: 0.125, head: .mlp, outputDimension: 8)

    @Test("the bytes parse back into a ModelProto with opset 17, IR 8 and the architecture in its metadata")
    func header() throws {
        let proto = try roundTrip(trainedLookingModel(Self.resnet18Cifar, size: 8))
        #expect(proto.irVersion == 8)
        #expect(proto.opsetImport.count == 1)
        #expect(proto.opsetImport.first?.domain == "")
        #expect(proto.opsetImport.first?.version == 17)
        #expect(proto.producerName == "invprop")
        let metadata = Dictionary(uniqueKeysWithValues: proto.metadataProps.map { ($0.key, $0.value) })
        #expect(metadata["arch"] == "resnet18")
        #expect(metadata["stem"] == "cifar")
        #expect(metadata["head"] == "linear")
    }

    /// Stem 3 (Conv, BN, Relu); 8 basic blocks of 7 (Conv, BN, Relu, Conv, BN, Add, Relu); a
    /// downsample (Conv, BN) in layer2.0, layer3.0, layer4.0; GlobalAveragePool, Flatten, Gemm.
    @Test("ResNet-18 (cifar stem, linear head): 68 nodes of the expected types, in order")
    func resnet18CifarNodes() throws {
        let graph = try roundTrip(trainedLookingModel(Self.resnet18Cifar, size: 8)).graph
        #expect(graph.node.count == 68)
        #expect(opCounts(graph) == ["Conv": 20, "BatchNormalization": 20, "Relu": 17, "Add": 8,
                                    "GlobalAveragePool": 1, "Flatten": 1, "Gemm": 1])
        #expect(graph.node.prefix(6).map(\.opType) == ["Conv", "BatchNormalization", "Relu", "Conv", "BatchNormalization", "Relu"])
        #expect(graph.node.suffix(3).map(\.opType) == ["GlobalAveragePool", "Flatten", "Gemm"])
        let stem = try #require(graph.node.first)
        #expect(stem.input == ["input", "conv1.weight"])
        #expect(ints(stem, "kernel_shape") == [3, 3] && ints(stem, "strides") == [1, 1] && ints(stem, "pads") == [1, 1, 1, 1])
        // BasicBlock: the stride is on conv1; the shortcut of layer1.0 is the identity.
        let byName = Dictionary(uniqueKeysWithValues: graph.node.map { ($0.name, $0) })
        #expect(ints(try #require(byName["layer2.0.conv1"]), "strides") == [2, 2])
        #expect(ints(try #require(byName["layer2.0.downsample.0"]), "strides") == [2, 2])
        #expect(byName["layer1.0.downsample.0"] == nil)
        #expect(byName["layer1.0.add"]?.input == ["layer1.0.bn2", "relu"])
        let gemm = try #require(byName["fc"])
        #expect(gemm.input == ["feature", "fc.weight", "fc.bias"] && gemm.output == ["output"])
        #expect(gemm.attribute.first { $0.name == "transB" }?.i == 1)
        let norm = try #require(byName["bn1"])
        #expect(norm.attribute.first { $0.name == "epsilon" }?.f == 1e-5)
    }

    /// Stem 4 (with MaxPool); 16 bottlenecks of 10 (3 Conv, 3 BN, 2 Relu, Add, Relu); a downsample
    /// in the first block of every stage (layer1.0 widens w0 to 4·w0); pool, flatten; Gemm, Relu, Gemm.
    @Test("ResNet-50 (imagenet stem, mlp head): 177 nodes of the expected types")
    func resnet50ImageNetNodes() throws {
        let graph = try roundTrip(trainedLookingModel(Self.resnet50ImageNet, size: 32)).graph
        #expect(graph.node.count == 177)
        #expect(opCounts(graph) == ["Conv": 53, "BatchNormalization": 53, "Relu": 50, "Add": 16, "MaxPool": 1,
                                    "GlobalAveragePool": 1, "Flatten": 1, "Gemm": 2])
        #expect(graph.node.prefix(4).map(\.opType) == ["Conv", "BatchNormalization", "Relu", "MaxPool"])
        #expect(graph.node.suffix(5).map(\.opType) == ["GlobalAveragePool", "Flatten", "Gemm", "Relu", "Gemm"])
        let byName = Dictionary(uniqueKeysWithValues: graph.node.map { ($0.name, $0) })
        let stem = try #require(byName["conv1"])
        #expect(ints(stem, "kernel_shape") == [7, 7] && ints(stem, "strides") == [2, 2] && ints(stem, "pads") == [3, 3, 3, 3])
        let pool = try #require(byName["maxpool"])
        #expect(ints(pool, "kernel_shape") == [3, 3] && ints(pool, "strides") == [2, 2] && ints(pool, "pads") == [1, 1, 1, 1])
        // Bottleneck: the stride is on the 3×3 conv2, as in torchvision.
        #expect(ints(try #require(byName["layer3.0.conv1"]), "strides") == [1, 1])
        #expect(ints(try #require(byName["layer3.0.conv2"]), "strides") == [2, 2])
        #expect(ints(try #require(byName["layer3.0.conv2"]), "kernel_shape") == [3, 3])
        #expect(ints(try #require(byName["layer3.0.conv3"]), "pads") == [0, 0, 0, 0])
        #expect(byName["layer1.0.downsample.0"] != nil)
        #expect(byName["fc.2"]?.input == ["fc.1", "fc.2.weight", "fc.2.bias"])
        #expect(byName["fc.2"]?.output == ["output"])
    }

    @Test("every parameter and running statistic is an initializer with its torchvision name, shape and values",
          arguments: [resnet18Cifar, resnet50ImageNet])
    func initializersMatchTheModel(config: ResNetConfig) throws {
        let model = try trainedLookingModel(config, size: config.stem == .cifar ? 8 : 32)
        let graph = try roundTrip(model).graph
        let tensors = model.namedParameters + model.namedBuffers
        #expect(graph.initializer.count == tensors.count)
        let byName = Dictionary(uniqueKeysWithValues: graph.initializer.map { ($0.name, $0) })
        for (name, tensor) in tensors {
            let initializer = try #require(byName[name], "no initializer \(name)")
            #expect(initializer.dataType == Int32(Onnx_TensorProto.DataType.float.rawValue))
            #expect(initializer.dims == tensor.shape.map(Int64.init), "\(name)")
            let values = initializer.rawData.withUnsafeBytes { raw in
                (0..<raw.count / 4).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
            }
            #expect(values == tensor.toArray(), "\(name) values differ")
        }
        // The running statistics really are the trained ones, not the initial 0 and 1.
        #expect(model.namedBuffers.contains { $0.0 == "bn1.running_mean" && $0.1.toArray().contains { $0 != 0 } })
    }

    @Test("input [batch, C, height, width], outputs feature [batch, F] and output [batch, D]; every node input is defined before use")
    func inputsOutputsAndTopology() throws {
        for config in [Self.resnet18Cifar, Self.resnet50ImageNet] {
            let graph = try roundTrip(trainedLookingModel(config, size: config.stem == .cifar ? 8 : 32)).graph
            #expect(graph.input.map(\.name) == ["input"])
            #expect(dims(graph.input[0]) == ["batch", "\(config.inputChannels)", "height", "width"])
            #expect(graph.output.map(\.name) == ["feature", "output"])
            #expect(dims(graph.output[0]) == ["batch", "\(config.featureDimension)"])
            #expect(dims(graph.output[1]) == ["batch", "\(config.outputDimension)"])
            #expect((graph.input + graph.output).allSatisfy { $0.type.tensorType.elemType == 1 })

            var defined = Set(["input"] + graph.initializer.map(\.name))
            for node in graph.node {
                for input in node.input { #expect(defined.contains(input), "\(node.name) reads \(input) before it is defined") }
                for output in node.output { #expect(defined.insert(output).inserted, "\(output) is defined twice") }
            }
            #expect(defined.isSuperset(of: ["feature", "output"]))
        }
    }

    @Test("without a head, output is an Identity of feature with the feature's width")
    func noHead() throws {
        let config = ResNetConfig(depth: 34, stem: .cifar, inputChannels: 1, width: 0.125, head: .none, outputDimension: 8)
        let graph = try roundTrip(trainedLookingModel(config, size: 8)).graph
        let last = try #require(graph.node.last)
        #expect(last.opType == "Identity" && last.input == ["feature"] && last.output == ["output"])
        #expect(dims(graph.output[1]) == ["batch", "\(config.featureDimension)"])
        #expect(!graph.node.contains { $0.opType == "Gemm" })
        #expect(graph.node.filter { $0.opType == "Add" }.count == 16)
    }

    @Test("the check sample holds invprop's evaluation-mode outputs for its seeded input")
    func checkSample() throws {
        let model = try trainedLookingModel(Self.resnet18Cifar, size: 8)
        let sample = try ONNXCheckSample(model: model, count: 2, size: 8, seed: 5)
        #expect(sample.inputShape == [2, 3, 8, 8])
        #expect(sample.featureShape == [2, Self.resnet18Cifar.featureDimension] && sample.outputShape == [2, 16])
        let again = try ONNXCheckSample(model: model, count: 2, size: 8, seed: 5)
        #expect(again.input == sample.input && again.output == sample.output)
        let (f, y) = try GradMode.withoutGradients {
            try model(try Tensor(shape: sample.inputShape, values: sample.input), training: false)
        }
        #expect(f.toArray() == sample.feature && y.toArray() == sample.output)
        #expect(throws: ONNXExportError.self) { _ = try ONNXCheckSample(model: model, count: 0, size: 8) }
    }

    @Test("writing into a directory that does not exist names the file")
    func unwritableOutput() throws {
        let model = try trainedLookingModel(Self.resnet18Cifar, size: 8)
        let path = "/nonexistent-invprop-\(UUID().uuidString)/model.onnx"
        do {
            try ONNXExporter.write(model, to: path)
            Issue.record("writing to \(path) succeeded")
        } catch let error as ONNXExportError {
            #expect(error.message.contains(path))
        }
    }
}
