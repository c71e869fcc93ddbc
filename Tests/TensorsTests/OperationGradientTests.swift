import Testing
@testable import Tensors

/// Finite-difference gradient tests of every differentiable operation.
@Suite struct OperationGradientTests {
    @Test(arguments: [(1, 1, true), (2, 1, false), (1, 0, false), (2, 3, false)])
    func conv2d(stride: Int, padding: Int, bias: Bool) throws {
        var r = TestRandom(1)
        let k = padding == 3 ? 7 : (padding == 0 ? 1 : 3)
        let x = r.tensor([2, 3, 9, 9]), w = r.tensor([4, 3, k, k]), b = r.tensor([4])
        try checkGradients(bias ? [x, w, b] : [x, w]) { t in
            try Tensor.conv2d(t[0], weight: t[1], bias: bias ? t[2] : nil, stride: stride, padding: padding)
        }
    }

    @Test(arguments: [true, false])
    func batchNorm(training: Bool) throws {
        var r = TestRandom(2)
        let x = r.tensor([3, 4, 5, 5]), g = r.tensor([4]), b = r.tensor([4])
        let mean = try Tensor(shape: [4], values: r.values(4)), variance = Tensor.full([4], 0.7)
        try checkGradients([x, g, b], step: 1e-2, tolerance: 3e-2) { t in
            try Tensor.batchNorm(t[0], weight: t[1], bias: t[2], runningMean: mean, runningVariance: variance,
                                 training: training, momentum: 0)
        }
    }

    /// The fused batch-norm + ReLU kernel equals ReLU after batch norm, values and gradients
    /// (finite differences across ReLU's kink are unreliable, so each part is checked alone above).
    @Test(arguments: [true, false])
    func fusedBatchNormReLU(training: Bool) throws {
        var r = TestRandom(3)
        let x = r.tensor([3, 4, 5, 5]), g = r.tensor([4]), b = r.tensor([4])
        let mean = Tensor.zeros([4]), variance = Tensor.full([4], 1)
        let seed = r.tensor([3, 4, 5, 5], grad: false)
        func run(fused: Bool) throws -> [[Float]] {
            for t in [x, g, b] { t.grad = nil }
            var y = try Tensor.batchNorm(x, weight: g, bias: b, runningMean: mean, runningVariance: variance,
                                         training: training, momentum: 0, fusedReLU: fused)
            if !fused { y = Tensor.relu(y) }
            try y.backward(seed: seed)
            return [y.toArray(), x.grad!.toArray(), g.grad!.toArray(), b.grad!.toArray()]
        }
        let fused = try run(fused: true), separate = try run(fused: false)
        for (a, c) in zip(fused, separate) {
            #expect(zip(a, c).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) })
        }
    }

    @Test func maxPool() throws {
        var r = TestRandom(3)
        let x = r.tensor([2, 3, 7, 7])
        try checkGradients([x], step: 1e-3) { t in try Tensor.maxPool2d(t[0], kernel: 3, stride: 2, padding: 1) }
    }

    @Test func globalAveragePool() throws {
        var r = TestRandom(4)
        try checkGradients([r.tensor([2, 5, 4, 4])]) { t in try Tensor.globalAveragePool(t[0]) }
    }

    @Test func reluAndAdd() throws {
        var r = TestRandom(5)
        let a = r.tensor([2, 3, 4, 4]), b = r.tensor([2, 3, 4, 4])
        try checkGradients([a, b], step: 1e-3) { t in Tensor.relu(try Tensor.add(t[0], t[1])) }
    }

    @Test func linear() throws {
        var r = TestRandom(6)
        try checkGradients([r.tensor([3, 5]), r.tensor([4, 5]), r.tensor([4])]) { t in
            try Tensor.linear(t[0], weight: t[1], bias: t[2])
        }
    }

    @Test func l2NormalizeExpLogSums() throws {
        // Not seed 7, checkGradients' own: its output weights would then equal x, and
        // Σ x·x/‖x‖ is stationary in x's direction, so l2Normalize's gradient would be 0 throughout.
        var r = TestRandom(70)
        let x = r.tensor([3, 6])
        try checkGradients([x], step: 1e-3) { t in try Tensor.l2Normalize(t[0]) }
        try checkGradients([x], step: 1e-3) { t in Tensor.log(Tensor.exp(Tensor.scale(t[0], by: 0.5))) }
        try checkGradients([x]) { t in try Tensor.sumRows(Tensor.exp(t[0])) }
        try checkGradients([x]) { t in Tensor.mean(Tensor.exp(t[0])) }
    }

    /// The clamped branch of l2Normalize's backward: a row whose norm is below ε is x/ε, so its
    /// gradient is g/ε with no projection. The rows sit at about 0.8·ε, where y = x/ε is long
    /// enough that the unclamped formula's projection y·(y·g) would miss by far more than the
    /// tolerance. With ε 0.5, such a row beside one of norm 1.1 (the usual branch) in one batch;
    /// with the default ε = 1e-12, a near-zero row alone (its gradient is about 10¹², so it gets
    /// a check of its own scale). The steps keep each row on its side of ε.
    @Test func l2NormalizeBelowEpsilon() throws {
        let mixed = try Tensor(shape: [2, 4], values: [0.2, -0.25, 0.15, 0.2, 0.6, -0.4, 0.3, 0.8], requiresGrad: true)
        try checkGradients([mixed], step: 1e-3) { t in try Tensor.l2Normalize(t[0], epsilon: 0.5) }
        let tiny = try Tensor(shape: [1, 4], values: [2e-13, -5e-13, 3e-13, 4e-13], requiresGrad: true)
        try checkGradients([tiny], step: 1e-15) { t in try Tensor.l2Normalize(t[0]) }
    }

    @Test func matmulConstantGatherPick() throws {
        var r = TestRandom(8)
        let bank = r.values(10 * 6)
        let x = r.tensor([3, 6])
        try bank.withUnsafeBufferPointer { m in
            try checkGradients([x]) { t in try Tensor.matmulConstant(t[0], m.baseAddress!, rows: 10, columns: 6, transposed: true) }
            try checkGradients([x]) { t in try Tensor.matmulConstant(Tensor.reshape(t[0], [6, 3]), m.baseAddress!, rows: 3, columns: 20, transposed: false) }
        }
        let table = r.tensor([5, 4])
        try checkGradients([table]) { t in try Tensor.gatherRows(t[0], [4, 0, 4]) }
        try checkGradients([table]) { t in try Tensor.pick(t[0], columns: [1, 3, 0, 2, 2]) }
    }

    @Test func crossEntropyAndDropout() throws {
        var r = TestRandom(9)
        try checkGradients([r.tensor([4, 5])]) { t in try Tensor.crossEntropy(t[0], labels: [0, 4, 2, 2]) }
        let x = r.tensor([4, 6])
        var draws = TestRandom(10)
        let fixed = (0..<24).map { _ in abs(draws.next()) }
        try checkGradients([x]) { t in
            var i = 0
            return try Tensor.dropout(t[0], p: 0.3, training: true, uniform: { defer { i += 1 }; return fixed[i % 24] })
        }
    }

    @Test func weightedSumAndCast() throws {
        var r = TestRandom(11)
        let a = r.tensor([2, 3]), b = r.tensor([2, 3])
        try checkGradients([a, b]) { t in try Tensor.weightedSum([(1, t[0]), (0.6, t[1])]) }
        // bf16 round trip: the gradient passes through the cast unchanged (to bf16 precision).
        try checkGradients([a], step: 0.1, tolerance: 5e-2) { t in t[0].cast(to: .bf16).cast(to: .f32) }
    }
}
