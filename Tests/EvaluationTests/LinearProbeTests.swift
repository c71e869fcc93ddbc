import Foundation
import Randomness
import Testing
@testable import Evaluation

/// The linear classifier and the fast linear probe on synthetic features.
@Suite struct LinearProbeTests {
    /// Linearly separable data: class c has mean 4·e_c plus unit Gaussian noise in 20 dimensions.
    func separable(count: Int, classes: Int, dimension: Int, seed: UInt64) -> ([Float], [Int]) {
        var generator = SeededGenerator(seed: seed)
        var features: [Float] = []
        var labels: [Int] = []
        for i in 0..<count {
            let label = i % classes
            labels.append(label)
            for j in 0..<dimension { features.append((j == label ? 6 : 0) + generator.gaussian() * 0.7) }
        }
        return (features, labels)
    }

    @Test func reachesNearPerfectAccuracyOnSeparableFeatures() throws {
        let (train, trainLabels) = separable(count: 2000, classes: 10, dimension: 20, seed: 1)
        let (test, testLabels) = separable(count: 1000, classes: 10, dimension: 20, seed: 2)
        for standardize in [false, true] {
            let probe = LinearProbe(learningRate: standardize ? 0.5 : 0.1, epochs: 10, standardize: standardize)
            let (model, report) = try probe.evaluate(train: train, trainLabels: trainLabels, test: test,
                                                     testLabels: testLabels, dimension: 20)
            #expect(report.top1 >= 0.99, "standardize \(standardize): top-1 \(report.top1)")
            #expect(report.top5 >= report.top1)
            #expect(report.perClassAccuracy.allSatisfy { $0 >= 0.95 })
            #expect(model.epochLosses.count == 10)
            #expect(model.epochLosses.last! < model.epochLosses.first!)
        }
    }

    @Test func paperLearningRateStillSeparates() throws {
        // lr 30 (the paper's value) on raw features: large steps, but a stable softmax keeps it finite.
        let (train, trainLabels) = separable(count: 1000, classes: 5, dimension: 20, seed: 3)
        let model = try LinearProbe(epochs: 5).train(features: train, labels: trainLabels, dimension: 20)
        #expect(model.classifier.weights.allSatisfy { $0.isFinite })
        #expect(try model.evaluate(features: train, labels: trainLabels).top1 >= 0.99)
    }

    @Test func scheduleScalesMilestonesToEpochCount() {
        #expect(LinearProbe().milestones == [40, 60, 80])
        #expect(LinearProbe(epochs: 10).milestones == [4, 6, 8])
        let probe = LinearProbe(learningRate: 30, epochs: 100)
        #expect(probe.learningRate(atEpoch: 0) == 30)
        #expect(probe.learningRate(atEpoch: 39) == 30)
        #expect(abs(probe.learningRate(atEpoch: 40) - 6) < 1e-5)
        #expect(abs(probe.learningRate(atEpoch: 60) - 1.2) < 1e-5)
        #expect(abs(probe.learningRate(atEpoch: 99) - 0.24) < 1e-5)
    }

    @Test func trainingIsReproducibleFromTheSeed() throws {
        let (train, labels) = separable(count: 300, classes: 3, dimension: 20, seed: 4)
        let a = try LinearProbe(learningRate: 0.1, epochs: 2, seed: 9).train(features: train, labels: labels, dimension: 20)
        let b = try LinearProbe(learningRate: 0.1, epochs: 2, seed: 9).train(features: train, labels: labels, dimension: 20)
        let c = try LinearProbe(learningRate: 0.1, epochs: 2, seed: 10).train(features: train, labels: labels, dimension: 20)
        #expect(a == b)
        #expect(a.classifier.weights != c.classifier.weights)
    }

    @Test func stepMatchesHandGradient() throws {
        // One sample, 2 classes, 2-d, zero weights: p = (½, ½); with label 0, gz = (−½, ½);
        // gW = gzᵀ x, so W becomes −lr·gW and b becomes −lr·gz.
        var classifier = try LinearClassifier(inputDimension: 2, classCount: 2, momentum: 0.9)
        classifier.weights = [0, 0, 0, 0]
        let loss = try classifier.step(features: [1, 2], labels: [0], lr: 0.1)
        #expect(abs(loss - log(2)) < 1e-6)
        let expected: [Float] = [0.05, 0.1, -0.05, -0.1]
        for i in 0..<4 { #expect(abs(classifier.weights[i] - expected[i]) < 1e-6) }
        #expect(abs(classifier.bias[0] - 0.05) < 1e-6 && abs(classifier.bias[1] + 0.05) < 1e-6)
    }

    /// The first step's update against central differences of J = mean cross-entropy +
    /// wd/2·(‖W‖² + ‖b‖²), the objective whose gradient PyTorch's SGD with weight decay follows:
    /// the velocity starts at 0, so the first step moves every parameter by exactly −lr·∂J. A batch
    /// of 5, 4 classes, random weights and bias, so every term of the softmax gradient counts.
    @Test func stepFollowsTheFiniteDifferenceGradient() throws {
        let (b, c, d) = (5, 4, 3)
        let weightDecay: Float = 0.05
        var generator = SeededGenerator(seed: 31)
        let x = (0..<b * d).map { _ in generator.gaussian() }
        let y = [0, 3, 1, 3, 2]
        var start = try LinearClassifier(inputDimension: d, classCount: c, momentum: 0.9, weightDecay: weightDecay)
        start.weights = (0..<c * d).map { _ in generator.gaussian() }
        start.bias = (0..<c).map { _ in generator.gaussian() * 0.5 }

        /// J at (weights, bias): the classifier's own batch loss (a step with lr 0 changes nothing
        /// but the velocity of a copy) plus the decay term in Double.
        func objective(_ weights: [Float], _ bias: [Float]) throws -> Double {
            var probe = start
            probe.weights = weights
            probe.bias = bias
            let loss = try probe.step(features: x, labels: y, lr: 0)
            let squares = (weights + bias).reduce(0.0) { $0 + Double($1) * Double($1) }
            return Double(loss) + Double(weightDecay) / 2 * squares
        }
        var stepped = start
        let lr: Float = 1
        try stepped.step(features: x, labels: y, lr: lr)
        let analytic = zip(start.weights + start.bias, stepped.weights + stepped.bias).map { ($0 - $1) / lr }

        let h: Float = 1e-2
        var numeric: [Float] = []
        let parameters = start.weights + start.bias
        for i in parameters.indices {
            var up = parameters, down = parameters
            up[i] += h; down[i] -= h
            let plus = try objective(Array(up.prefix(c * d)), Array(up.suffix(c)))
            let minus = try objective(Array(down.prefix(c * d)), Array(down.suffix(c)))
            numeric.append(Float((plus - minus) / Double(2 * h)))
        }
        let scale = numeric.map(abs).max() ?? 0
        #expect(scale > 0.05, "the check needs gradients well above the differences' noise")
        #expect(analytic.count == numeric.count)
        for (i, (a, n)) in zip(analytic, numeric).enumerated() {
            #expect(abs(a - n) <= 2e-3 * scale, "parameter \(i) (\(i < c * d ? "weight" : "bias")): analytic \(a), numeric \(n)")
        }
    }

    /// Two steps with momentum and weight decay against the update written out by hand, bit for
    /// bit. Every row of W starts equal and b constant, so the first step's logits tie and
    /// p = ¼ exactly; the second batch is all zeros, so its data gradient is 0 and only decay and
    /// momentum move the parameters (b's velocity comes from decay alone). With dyadic operands
    /// (μ ½, wd ¼, lr ½) every value is exact in fp32, so equality is the right test.
    @Test func momentumStepMatchesAHandComputation() throws {
        let (mu, wd, lr) = (0.5, 0.25, 0.5)
        let row: [Double] = [0.75, -0.25], k = 0.125
        let x: [[Double]] = [[1, 2], [-1, 0], [2, -1], [0, 1]]
        var classifier = try LinearClassifier(inputDimension: 2, classCount: 4, momentum: Float(mu), weightDecay: Float(wd))
        classifier.weights = (0..<4).flatMap { _ in row.map(Float.init) }
        classifier.bias = [Float](repeating: Float(k), count: 4)

        // Step 1: g[r][c] = (¼ − [c = y_r]) / 4 with y_r = r, so gW[c][j] = Σ_r g[r][c]·x[r][j]
        // and gb[c] = Σ_r g[r][c] = 0; v = g + wd·w; w −= lr·v.
        var w0 = [[Double]](repeating: row, count: 4)
        var vW = [[Double]](repeating: [0, 0], count: 4)
        for c in 0..<4 { for j in 0..<2 {
            var g = 0.0
            for r in 0..<4 { g += ((0.25 - (r == c ? 1 : 0)) / 4) * x[r][j] }
            vW[c][j] = g + wd * w0[c][j]
            w0[c][j] -= lr * vW[c][j]
        } }
        var vb = wd * k
        var b = k - lr * vb
        let loss1 = try classifier.step(features: x.flatMap { $0.map(Float.init) }, labels: [0, 1, 2, 3], lr: Float(lr))
        #expect(abs(Double(loss1) - log(4)) < 1e-6)
        #expect(classifier.weights == w0.flatMap { $0.map(Float.init) })
        #expect(classifier.bias == [Float](repeating: Float(b), count: 4))

        // The first step left velocity in both buffers, so the second step tests momentum.
        #expect(vW.joined().allSatisfy { $0 != 0 } && vb != 0)

        // Step 2: zero features, so logits = b (all equal), gW = 0 and gb = 0: v = μ·v + wd·w.
        for c in 0..<4 { for j in 0..<2 {
            vW[c][j] = mu * vW[c][j] + wd * w0[c][j]
            w0[c][j] -= lr * vW[c][j]
        } }
        vb = mu * vb + wd * b
        b -= lr * vb
        let loss2 = try classifier.step(features: [Float](repeating: 0, count: 8), labels: [0, 1, 2, 3], lr: Float(lr))
        #expect(abs(Double(loss2) - log(4)) < 1e-6)
        #expect(classifier.weights == w0.flatMap { $0.map(Float.init) })
        #expect(classifier.bias == [Float](repeating: Float(b), count: 4))
    }

    @Test func badInputsThrow() throws {
        #expect(throws: EvaluationError.self) { try LinearClassifier(inputDimension: 0, classCount: 2) }
        var classifier = try LinearClassifier(inputDimension: 2, classCount: 2)
        #expect(throws: EvaluationError.self) { try classifier.step(features: [1, 2, 3], labels: [0], lr: 0.1) }
        #expect(throws: EvaluationError.self) { try classifier.step(features: [1, 2], labels: [2], lr: 0.1) }
        #expect(throws: EvaluationError.self) { try classifier.step(features: [1, 2], labels: [0, 1], lr: 0.1) }
        #expect(throws: EvaluationError.self) {
            try LinearProbe(batchSize: 0).train(features: [1, 2], labels: [0], dimension: 2)
        }
        #expect(throws: EvaluationError.self) { try LinearProbe().train(features: [], labels: [], dimension: 2) }
    }
}
