import Foundation
import SafeTensors
import Testing
@testable import Models
@testable import NN
@testable import Tensors

/// Reads the committed PyTorch fixtures (Tests/Fixtures, made by scripts/make_fixtures.py).
func fixture(_ name: String) throws -> TensorArchive {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").appendingPathComponent(name)
    return try TensorArchive(contentsOf: url.path)
}

extension TensorArchive {
    /// A fixture tensor as a Tensor (requiring gradients when asked).
    func tensor(_ name: String, grad: Bool = false) throws -> Tensor {
        try Tensor(shape: shape(of: name), values: floats(name), requiresGrad: grad)
    }
}

/// max|a − b| / max|b| over the tensor, the fixtures' "relative difference".
func relativeDifference(_ actual: [Float], _ expected: [Float]) -> Float {
    precondition(actual.count == expected.count, "sizes \(actual.count) vs \(expected.count)")
    let scale = expected.map(abs).max() ?? 0
    let diff = zip(actual, expected).map { abs($0 - $1) }.max() ?? 0
    return scale > 0 ? diff / scale : diff
}

/// The fixtures' deterministic weight: SplitMix64 of (parameter position, element index).
func formulaUniform(parameter p: Int, index i: Int) -> Double {
    var z = ((UInt64(p) << 32) | UInt64(i)) &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    z = z ^ (z >> 31)
    return (Double(z >> 40) + 0.5) / 8_388_608.0 - 1.0
}

/// Sets every parameter of a model by the fixtures' formula (docs/fixtures.md).
func applyFormulaWeights(_ model: ResNet) throws {
    for (p, (name, t)) in model.namedParameters.enumerated() {
        let isNorm = name.contains(".bn") || name.hasPrefix("bn") || name.contains("downsample.1")
        let isBias = name.hasSuffix(".bias")
        let fanIn = t.shape.dropFirst().reduce(1, *)
        let values: [Float] = (0..<t.count).map { i in
            let u = formulaUniform(parameter: p, index: i)
            switch (isNorm, isBias) {
            case (true, false): return Float(1.0 + 0.1 * u)
            case (true, true): return Float(0.1 * u)
            case (false, true): return Float(0.05 * u)
            case (false, false): return Float((6.0 / Double(fanIn)).squareRoot() * u)
            }
        }
        try t.assign(from: Tensor(shape: t.shape, values: values))
    }
}

/// Forward outputs and gradients of each layer agree with PyTorch (float64 references) to 1e-4.
@Suite struct PyTorchReferenceTests {
    let tolerance: Float = 1e-4

    @Test func convolution() throws {
        let f = try fixture("conv2d.safetensors")
        let cases = Int(f.metadata["cases"] ?? "0") ?? 0
        #expect(cases == 5)
        for k in 0..<cases {
            let p = "case\(k)."
            let hasBias = f.metadata[p + "bias"] == "true"
            let x = try f.tensor(p + "x", grad: true), w = try f.tensor(p + "w", grad: true)
            let b = hasBias ? try f.tensor(p + "b", grad: true) : nil
            let y = try Tensor.conv2d(x, weight: w, bias: b, stride: Int(f.metadata[p + "stride"]!)!, padding: Int(f.metadata[p + "padding"]!)!)
            try y.backward(seed: f.tensor(p + "gy"))
            #expect(relativeDifference(y.toArray(), try f.floats(p + "y")) < tolerance, "case \(k) y")
            #expect(relativeDifference(x.grad!.toArray(), try f.floats(p + "gx")) < tolerance, "case \(k) gx")
            #expect(relativeDifference(w.grad!.toArray(), try f.floats(p + "gw")) < tolerance, "case \(k) gw")
            if let b { #expect(relativeDifference(b.grad!.toArray(), try f.floats(p + "gb")) < tolerance, "case \(k) gb") }
        }
    }

    @Test(arguments: ["train", "eval"])
    func batchNormalization(mode: String) throws {
        let f = try fixture("batchnorm.safetensors")
        let p = mode + "."
        let x = try f.tensor(p + "x", grad: true), g = try f.tensor(p + "weight", grad: true), b = try f.tensor(p + "bias", grad: true)
        let rm = try f.tensor(p + "running_mean"), rv = try f.tensor(p + "running_var")
        let y = try Tensor.batchNorm(x, weight: g, bias: b, runningMean: rm, runningVariance: rv, training: mode == "train")
        try y.backward(seed: f.tensor(p + "gy"))
        #expect(relativeDifference(y.toArray(), try f.floats(p + "y")) < tolerance)
        #expect(relativeDifference(x.grad!.toArray(), try f.floats(p + "gx")) < tolerance)
        #expect(relativeDifference(g.grad!.toArray(), try f.floats(p + "gweight")) < tolerance)
        #expect(relativeDifference(b.grad!.toArray(), try f.floats(p + "gbias")) < tolerance)
        if mode == "train" {
            #expect(relativeDifference(rm.toArray(), try f.floats(p + "running_mean_after")) < tolerance)
            #expect(relativeDifference(rv.toArray(), try f.floats(p + "running_var_after")) < tolerance)
        }
    }

    @Test func pooling() throws {
        let f = try fixture("pooling.safetensors")
        for p in ["maxpool.case0.", "maxpool.case1."] {
            let x = try f.tensor(p + "x", grad: true)
            let y = try Tensor.maxPool2d(x, kernel: 3, stride: 2, padding: 1)
            try y.backward(seed: f.tensor(p + "gy"))
            #expect(relativeDifference(y.toArray(), try f.floats(p + "y")) < tolerance)
            #expect(relativeDifference(x.grad!.toArray(), try f.floats(p + "gx")) < tolerance)
        }
        let x = try f.tensor("avgpool.x", grad: true)
        let y = try Tensor.globalAveragePool(x)
        try y.backward(seed: f.tensor("avgpool.gy"))
        #expect(relativeDifference(y.toArray(), try f.floats("avgpool.y")) < tolerance)
        #expect(relativeDifference(x.grad!.toArray(), try f.floats("avgpool.gx")) < tolerance)
    }

    @Test func linearAndCrossEntropy() throws {
        let f = try fixture("linear.safetensors")
        let x = try f.tensor("x", grad: true), w = try f.tensor("w", grad: true), b = try f.tensor("b", grad: true)
        let y = try Tensor.linear(x, weight: w, bias: b)
        try y.backward(seed: f.tensor("gy"))
        #expect(relativeDifference(y.toArray(), try f.floats("y")) < tolerance)
        for (t, name) in [(x, "gx"), (w, "gw"), (b, "gb")] { #expect(relativeDifference(t.grad!.toArray(), try f.floats(name)) < tolerance) }
        let ce = try fixture("cross_entropy.safetensors")
        for p in ["case0.", "case1."] {
            let logits = try ce.tensor(p + "logits", grad: true)
            let loss = try Tensor.crossEntropy(logits, labels: ce.int64s(p + "labels").map { Int($0) })
            try loss.backward()
            #expect(relativeDifference(loss.toArray(), try ce.floats(p + "loss")) < tolerance)
            #expect(relativeDifference(logits.grad!.toArray(), try ce.floats(p + "glogits")) < tolerance)
        }
    }

    @Test(arguments: ["momentum", "nesterov", "no_decay"])
    func sgdTwoSteps(kind: String) throws {
        let f = try fixture("sgd.safetensors")
        let p = kind + "."
        let param = try f.tensor(p + "p0", grad: true)
        let sgd = try SGD(groups: [ParameterGroup([("p", param)], weightDecay: Float(f.metadata[p + "weight_decay"]!)!)],
                          learningRate: Float(f.metadata[p + "lr"]!)!, momentum: Float(f.metadata[p + "momentum"]!)!,
                          nesterov: f.metadata[p + "nesterov"] == "true")
        for step in 1...2 {
            param.grad = try f.tensor(p + "g\(step)")
            sgd.step()
            #expect(relativeDifference(param.toArray(), try f.floats(p + "p\(step)")) < tolerance, "step \(step) parameter")
            #expect(relativeDifference(sgd.momentumBuffers["p"]!, try f.floats(p + "buf\(step)")) < tolerance, "step \(step) buffer")
        }
    }

    /// A whole CIFAR ResNet-18 (batch 4): train-mode output, input gradient, every parameter's
    /// gradient, running statistics, then the eval-mode output.
    @Test func resnet18() throws {
        let f = try fixture("resnet18_cifar.safetensors")
        let model = try ResNet(ResNetConfig(depth: 18, stem: .cifar, inputChannels: 3, width: 1, head: .linear, outputDimension: 128))
        try applyFormulaWeights(model)
        for (name, t) in model.namedParameters {
            #expect(relativeDifference(Array(t.toArray().prefix(16)), try f.floats("param_head." + name)) < 1e-7, "formula \(name)")
        }
        let x = try f.tensor("x", grad: true)
        let (_, y) = try model(x, training: true)
        try y.backward(seed: f.tensor("gy"))
        #expect(relativeDifference(y.toArray(), try f.floats("y")) < tolerance, "train output")
        let dx = relativeDifference(x.grad!.toArray(), try f.floats("gx")); #expect(dx < tolerance, "input gradient \(dx)")
        for (name, t) in model.namedParameters {
            let g = try #require(t.grad, "\(name) has no gradient").toArray()
            if f.contains("grad." + name) {
                let d = relativeDifference(g, try f.floats("grad." + name)); #expect(d < tolerance, "gradient \(name): \(d)")
            } else {
                #expect(relativeDifference(Array(g.prefix(8192)), try f.floats("grad_head." + name)) < tolerance, "gradient head \(name)")
                let norm = g.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
                #expect(abs(Float(norm) - (try f.floats("grad_norm." + name))[0]) < tolerance * Float(norm), "gradient norm \(name)")
            }
        }
        for (name, t) in model.namedBuffers {
            #expect(relativeDifference(t.toArray(), try f.floats("buffers." + name)) < tolerance, "buffer \(name)")
        }
        let yEval = try GradMode.withoutGradients { try model(x, training: false).output }
        #expect(relativeDifference(yEval.toArray(), try f.floats("y_eval")) < tolerance, "eval output")
    }
}
