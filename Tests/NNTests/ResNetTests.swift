import Testing
@testable import Models
@testable import NN
@testable import Tensors

@Suite struct ResNetTests {
    /// CIFAR ResNet-18 with a 10-class linear head has 11 173 962 parameters (the well-known count).
    @Test func resnet18ParameterCountAndNames() throws {
        let model = try ResNet(ResNetConfig(depth: 18, stem: .cifar, inputChannels: 3, width: 1, head: .linear, outputDimension: 10))
        #expect(model.namedParameters.reduce(0) { $0 + $1.1.count } == 11_173_962)
        let names = model.namedParameters.map { $0.0 } + model.namedBuffers.map { $0.0 } + model.namedCounters.map { $0.0 }
        for expected in ["conv1.weight", "bn1.running_mean", "bn1.num_batches_tracked", "layer1.0.conv1.weight", "layer2.0.downsample.0.weight",
                         "layer2.0.downsample.1.running_var", "layer4.1.bn2.bias", "fc.weight", "fc.bias"] {
            #expect(names.contains(expected), "missing \(expected)")
        }
        #expect(!names.contains("layer1.0.downsample.0.weight"))
    }

    /// ResNet-50 (ImageNet stem) has 25 557 032 parameters with a 1000-class head, as torchvision's.
    @Test func resnet50ParameterCount() throws {
        let model = try ResNet(ResNetConfig(depth: 50, stem: .imagenet, inputChannels: 3, width: 1, head: .linear, outputDimension: 1000))
        #expect(model.namedParameters.reduce(0) { $0 + $1.1.count } == 25_557_032)
        #expect(model.config.featureDimension == 2048)
    }

    /// A forward pass in training mode whose backward never runs frees its graph once its outputs
    /// are dropped (no tensor of the graph keeps itself alive through its own backward rule);
    /// found by the suite under AddressSanitizer, which reported the graphs of such passes leaked.
    @Test(arguments: [DType.f32, .bf16])
    func graphWithoutBackwardIsFreed(precision: DType) throws {
        let model = try ResNet(ResNetConfig(depth: 18, stem: .cifar, inputChannels: 1, width: 0.125, head: .mlp, outputDimension: 8))
        weak var feature: Tensor?, output: Tensor?
        do {
            let (f, y) = try model(Tensor.full([2, 1, 8, 8], 0.5), training: true, precision: precision)
            (feature, output) = (f, y)
            #expect(y.node != nil, "the pass was recorded")
        }
        #expect(feature == nil && output == nil, "the graph outlived its outputs")
    }

    /// Every depth, stem, head and a grey input give outputs of the right shapes, fp32 and bf16.
    @Test(arguments: [18, 34, 50])
    func forwardShapes(depth: Int) throws {
        for (stem, size) in [(Stem.cifar, 8), (Stem.imagenet, 32)] {
            for head in HeadKind.allCases {
                let config = ResNetConfig(depth: depth, stem: stem, inputChannels: 1, width: 0.25, head: head, outputDimension: 16)
                let model = try ResNet(config)
                let x = Tensor.full([2, 1, size, size], 0.5)
                for precision in [DType.f32, .bf16] {
                    let (f, y) = try model(x, training: true, precision: precision)
                    #expect(f.shape == [2, config.featureDimension])
                    #expect(y.shape == [2, head == .none ? config.featureDimension : 16])
                }
            }
        }
    }

    @Test func invalidConfigurationsAndInputsThrow() throws {
        #expect(throws: TensorError.self) { try ResNet(ResNetConfig(depth: 20)) }
        #expect(throws: TensorError.self) { try ResNet(ResNetConfig(width: 0)) }
        let model = try ResNet(ResNetConfig(inputChannels: 1, width: 0.25))
        #expect(throws: TensorError.self) { try model(Tensor.full([2, 3, 8, 8], 0), training: false) }
    }
}

@Suite struct OptimizerTests {
    /// Two SGD steps against the update rule written out by hand (momentum, Nesterov, decay).
    @Test(arguments: [false, true])
    func sgdMatchesRule(nesterov: Bool) throws {
        let p = try Tensor(shape: [2], values: [1, -2], requiresGrad: true)
        let sgd = try SGD(groups: [ParameterGroup([("p", p)], weightDecay: 0.1)], learningRate: 0.5, momentum: 0.9, nesterov: nesterov)
        var w: [Float] = [1, -2], buf: [Float] = [0, 0]
        for (step, g) in [[Float(0.3), 0.4], [-0.1, 0.2]].enumerated() {
            p.grad = try Tensor(shape: [2], values: g)
            sgd.step()
            for i in 0..<2 {
                let d = g[i] + 0.1 * w[i]
                buf[i] = step == 0 ? d : 0.9 * buf[i] + d
                w[i] -= 0.5 * (nesterov ? d + 0.9 * buf[i] : buf[i])
            }
            #expect(zip(p.toArray(), w).allSatisfy { abs($0 - $1) < 1e-6 })
        }
    }

    @Test func groupsAndValidation() throws {
        let model = try ResNet(ResNetConfig(width: 0.25))
        let groups = ParameterGroup.excludingVectorsFromDecay(model.namedParameters, weightDecay: 5e-4)
        #expect(groups[1].weightDecay == 0 && groups[1].parameters.allSatisfy { $0.1.shape.count == 1 })
        #expect(groups[0].parameters.count + groups[1].parameters.count == model.namedParameters.count)
        #expect(throws: OptimizerError.self) { try SGD(groups: groups, learningRate: -1) }
        #expect(throws: OptimizerError.self) { try SGD(groups: groups, learningRate: 0.1, momentum: 1) }
        #expect(throws: OptimizerError.self) { try SGD(groups: groups + groups, learningRate: 0.1) }
    }

    @Test func schedules() throws {
        let step = try LearningRateSchedule(base: 0.03, decay: .multiStep(milestones: [400, 600, 700], gamma: 0.1), totalEpochs: 800)
        #expect(step.rate(atEpoch: 399.9) == 0.03)
        #expect(abs(step.rate(atEpoch: 650) - 0.0003) < 1e-9)
        let cosine = try LearningRateSchedule(base: 1, decay: .cosine(minimum: 0), warmupEpochs: 2, totalEpochs: 12)
        #expect(abs(cosine.rate(atEpoch: 1) - 0.5) < 1e-6)
        #expect(abs(cosine.rate(atEpoch: 7) - 0.5) < 1e-6)
        #expect(cosine.rate(atEpoch: 12) < 1e-6)
        #expect(throws: OptimizerError.self) { try LearningRateSchedule(base: 0.1, decay: .multiStep(milestones: [5, 3], gamma: 0.1), totalEpochs: 10) }
    }
}
