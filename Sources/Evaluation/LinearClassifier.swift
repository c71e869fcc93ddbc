import Foundation
import Kernels
import Randomness

/// A linear softmax classifier z = x Wᵀ + b trained by SGD with momentum (PyTorch's `optim.SGD`
/// update: g += wd·w; v = μ·v + g; w -= lr·v). Reusable by the full linear-probe protocol: feed
/// it pooled backbone features batch by batch through `step(features:labels:lr:)`.
public struct LinearClassifier: Codable, Equatable, Sendable {
    /// Feature dimension D.
    public let inputDimension: Int
    /// Number of classes C.
    public let classCount: Int
    /// Weights [C, D], row-major (the layout of `nn.Linear.weight`).
    public var weights: [Float]
    /// Bias [C].
    public var bias: [Float]
    /// Momentum μ of the SGD update (the paper: 0.9).
    public var momentum: Float
    /// L2 weight decay added to the weight gradient (the paper: 0); the bias is decayed too, as
    /// `optim.SGD(model.parameters(), weight_decay=...)` does.
    public var weightDecay: Float
    /// Momentum buffers, [C, D] and [C].
    private var weightVelocity: [Float]
    private var biasVelocity: [Float]

    /// A classifier with weights ~ N(0, 0.01²) from `seed` and zero bias (the NPID/InvP linear
    /// evaluation initialisation).
    public init(inputDimension: Int, classCount: Int, momentum: Float = 0.9, weightDecay: Float = 0,
                seed: UInt64 = 0) throws {
        guard inputDimension >= 1 else {
            throw EvaluationError(.invalidArgument, "input dimension must be >= 1, got \(inputDimension)")
        }
        guard classCount >= 1 else {
            throw EvaluationError(.invalidArgument, "class count must be >= 1, got \(classCount)")
        }
        guard momentum >= 0 && momentum < 1, weightDecay >= 0 else {
            throw EvaluationError(.invalidArgument,
                "momentum must be in [0, 1) and weight decay >= 0, got \(momentum), \(weightDecay)")
        }
        self.inputDimension = inputDimension
        self.classCount = classCount
        self.momentum = momentum
        self.weightDecay = weightDecay
        var generator = SeededGenerator(seed: seed, streams: [0x4C49_4E45])  // "LINE"
        weights = (0..<(classCount * inputDimension)).map { _ in Float(generator.normal() * 0.01) }
        bias = [Float](repeating: 0, count: classCount)
        weightVelocity = [Float](repeating: 0, count: classCount * inputDimension)
        biasVelocity = [Float](repeating: 0, count: classCount)
    }

    /// Logits [B, C] for features [B, D].
    public func logits(_ features: [Float]) throws -> [Float] {
        let count = try FeatureMatrix.validate(features, dimension: inputDimension, name: "features",
                                               allowEmpty: true)
        return features.withUnsafeBufferPointer { x in
            guard let base = x.baseAddress else { return [] }
            return logits(base, count: count)
        }
    }

    /// Logits [count, C] of `count` rows at `x` ([count, D]); inputs trusted.
    func logits(_ x: UnsafePointer<Float>, count: Int) -> [Float] {
        var z = [Float](repeating: 0, count: count * classCount)
        // Broadcast the bias into z, then z += X[B, D] · W[C, D]ᵀ (beta = 1).
        for row in 0..<count { for c in 0..<classCount { z[row * classCount + c] = bias[c] } }
        weights.withUnsafeBufferPointer { w in
            z.withUnsafeMutableBufferPointer { zBuffer in
                guard let wBase = w.baseAddress, let zBase = zBuffer.baseAddress else { return }
                Gemm.sgemm(transA: false, transB: true, m: count, n: classCount, k: inputDimension,
                           a: x, lda: inputDimension, b: wBase, ldb: inputDimension,
                           beta: 1, c: zBase, ldc: classCount)
            }
        }
        return z
    }

    /// One SGD step on the mean softmax cross-entropy of a batch (features [B, D], labels [B]).
    /// Returns the batch loss before the update.
    @discardableResult
    public mutating func step(features: [Float], labels: [Int], lr: Float) throws -> Float {
        let count = try FeatureMatrix.validate(features, dimension: inputDimension, name: "batch features")
        try FeatureMatrix.validateLabels(labels, count: count, classCount: classCount, name: "batch labels")
        guard lr >= 0 && lr.isFinite else {
            throw EvaluationError(.invalidArgument, "learning rate must be finite and >= 0, got \(lr)")
        }
        return features.withUnsafeBufferPointer { x in
            labels.withUnsafeBufferPointer { y in
                guard let xBase = x.baseAddress, let yBase = y.baseAddress else { return 0 }
                return step(xBase, yBase, count: count, lr: lr)
            }
        }
    }

    /// `step` on trusted pointers: x [count, D], y [count].
    mutating func step(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Int>, count: Int, lr: Float) -> Float {
        // g: [B, C] = (softmax(z) − onehot(y)) / B, the gradient of the mean loss w.r.t. the logits.
        var g = logits(x, count: count)
        var loss: Double = 0
        let inverseCount = 1 / Float(count)
        for row in 0..<count {
            let base = row * classCount
            var largest = -Float.infinity
            for c in 0..<classCount { largest = max(largest, g[base + c]) }
            var sum: Float = 0
            for c in 0..<classCount {
                let e = exp(g[base + c] - largest)
                g[base + c] = e
                sum += e
            }
            let label = y[row]
            // −log p_y = log Σ exp(z − max) − (z_y − max), computed from the stable exponentials.
            loss += Double(log(sum) - log(max(g[base + label], Float.leastNormalMagnitude)))
            let scale = inverseCount / sum
            for c in 0..<classCount { g[base + c] *= scale }
            g[base + label] -= inverseCount
        }
        // gW: [C, D] = gᵀ[C, B] · X[B, D]; gb: [C] = column sums of g.
        var weightGradient = [Float](repeating: 0, count: classCount * inputDimension)
        g.withUnsafeBufferPointer { gBuffer in
            weightGradient.withUnsafeMutableBufferPointer { out in
                guard let gBase = gBuffer.baseAddress, let outBase = out.baseAddress else { return }
                Gemm.sgemm(transA: true, transB: false, m: classCount, n: inputDimension, k: count,
                           a: gBase, lda: classCount, b: x, ldb: inputDimension, c: outBase, ldc: inputDimension)
            }
        }
        var biasGradient = [Float](repeating: 0, count: classCount)
        for row in 0..<count { for c in 0..<classCount { biasGradient[c] += g[row * classCount + c] } }
        LinearClassifier.sgdUpdate(&weights, &weightVelocity, weightGradient, lr: lr, momentum: momentum,
                                   weightDecay: weightDecay)
        LinearClassifier.sgdUpdate(&bias, &biasVelocity, biasGradient, lr: lr, momentum: momentum,
                                   weightDecay: weightDecay)
        return Float(loss / Double(count))
    }

    /// PyTorch SGD: g += wd·w; v = μ·v + g; w -= lr·v (v starts at 0, so the first v is g).
    private static func sgdUpdate(_ parameters: inout [Float], _ velocity: inout [Float], _ gradient: [Float],
                                  lr: Float, momentum: Float, weightDecay: Float) {
        for i in parameters.indices {
            let g = gradient[i] + weightDecay * parameters[i]
            velocity[i] = momentum * velocity[i] + g
            parameters[i] -= lr * velocity[i]
        }
    }

    /// Scores features [N, D] against labels [N]: top-1, top-5, per-class accuracy.
    public func evaluate(features: [Float], labels: [Int]) throws -> ClassificationReport {
        let count = try FeatureMatrix.validate(features, dimension: inputDimension, name: "test features")
        try FeatureMatrix.validateLabels(labels, count: count, classCount: classCount, name: "test labels")
        return try ClassificationReport(scores: logits(features), labels: labels, classCount: classCount)
    }
}

/// Per-dimension standardisation x → (x − mean) / std, fitted on training features.
public struct FeatureStandardizer: Codable, Equatable, Sendable {
    /// Per-dimension mean, [D].
    public var mean: [Float]
    /// Per-dimension standard deviation (population), [D]; near-constant dimensions use 1.
    public var scale: [Float]

    /// Fits mean and standard deviation of `features` [N, D] (accumulated in Double).
    public init(fitting features: [Float], dimension: Int) throws {
        let count = try FeatureMatrix.validate(features, dimension: dimension, name: "features")
        var sum = [Double](repeating: 0, count: dimension)
        var sumSquares = [Double](repeating: 0, count: dimension)
        for row in 0..<count {
            for j in 0..<dimension {
                let v = Double(features[row * dimension + j])
                sum[j] += v
                sumSquares[j] += v * v
            }
        }
        mean = sum.map { Float($0 / Double(count)) }
        scale = (0..<dimension).map { j in
            let m = sum[j] / Double(count)
            let variance = max(0, sumSquares[j] / Double(count) - m * m)
            let std = variance.squareRoot()
            return std > 1e-6 ? Float(std) : 1
        }
    }

    /// Standardised copy of `features` [N, D].
    public func apply(_ features: [Float]) throws -> [Float] {
        let dimension = mean.count
        try FeatureMatrix.validate(features, dimension: dimension, name: "features", allowEmpty: true)
        var out = features
        for i in out.indices {
            let j = i % dimension
            out[i] = (out[i] - mean[j]) / scale[j]
        }
        return out
    }
}

/// The fast linear probe: multinomial logistic regression on precomputed, frozen features
/// (no augmentation), with the paper's schedule (SGD lr 30, momentum 0.9, no weight decay,
/// batch 256, 100 epochs, lr × 0.2 at 40 / 60 / 80 % of the epochs).
public struct LinearProbe: Codable, Equatable, Sendable {
    /// Initial learning rate. The paper's 30 suits raw pooled ResNet features; with
    /// `standardize` use a much smaller value (about 0.1–1).
    public var learningRate: Float
    /// SGD momentum.
    public var momentum: Float
    /// L2 weight decay.
    public var weightDecay: Float
    /// Mini-batch size; the last batch of an epoch may be smaller (drop_last = False).
    public var batchSize: Int
    /// Number of passes over the training features.
    public var epochs: Int
    /// Where the learning rate decays, as fractions of `epochs` (rounded to whole epochs).
    public var milestoneFractions: [Double]
    /// Learning-rate factor applied at each milestone.
    public var decay: Float
    /// Standardise features with training mean and std before training.
    public var standardize: Bool
    /// Seed for the weight initialisation and the per-epoch shuffles.
    public var seed: UInt64

    /// A probe with the paper's protocol numbers as defaults.
    public init(learningRate: Float = 30, momentum: Float = 0.9, weightDecay: Float = 0, batchSize: Int = 256,
                epochs: Int = 100, milestoneFractions: [Double] = [0.4, 0.6, 0.8], decay: Float = 0.2,
                standardize: Bool = false, seed: UInt64 = 0) {
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.batchSize = batchSize
        self.epochs = epochs
        self.milestoneFractions = milestoneFractions
        self.decay = decay
        self.standardize = standardize
        self.seed = seed
    }

    /// The milestone epochs (0-based epoch at which the decay first applies), e.g. [40, 60, 80].
    public var milestones: [Int] {
        milestoneFractions.map { Int(($0 * Double(epochs)).rounded()) }
    }

    /// The learning rate used during 0-based `epoch` (multi-step schedule).
    public func learningRate(atEpoch epoch: Int) -> Float {
        let passed = milestones.filter { epoch >= $0 }.count
        return learningRate * pow(decay, Float(passed))
    }

    /// A trained probe: the classifier, the standardiser it expects (if any) and the loss curve.
    public struct Model: Codable, Equatable, Sendable {
        /// The trained classifier.
        public var classifier: LinearClassifier
        /// The standardisation applied to features before `classifier`, when enabled.
        public var standardizer: FeatureStandardizer?
        /// Mean training loss of every epoch, [epochs].
        public var epochLosses: [Float]

        /// Scores features [N, D] (raw: the standardiser is applied here).
        public func evaluate(features: [Float], labels: [Int]) throws -> ClassificationReport {
            let input = try standardizer?.apply(features) ?? features
            return try classifier.evaluate(features: input, labels: labels)
        }
    }

    /// Trains on features [N, D] with labels in 0..<classCount (default: largest label + 1).
    public func train(features: [Float], labels: [Int], dimension: Int, classCount: Int? = nil) throws -> Model {
        let count = try FeatureMatrix.validate(features, dimension: dimension, name: "train features")
        let classes = try FeatureMatrix.classCount(explicit: classCount, labels)
        try FeatureMatrix.validateLabels(labels, count: count, classCount: classes, name: "train labels")
        guard batchSize >= 1, epochs >= 1 else {
            throw EvaluationError(.invalidArgument,
                "batch size and epochs must be >= 1, got \(batchSize) and \(epochs)")
        }
        guard learningRate > 0 && learningRate.isFinite, decay > 0 else {
            throw EvaluationError(.invalidArgument,
                "learning rate and decay must be positive, got \(learningRate) and \(decay)")
        }
        let standardizer = standardize ? try FeatureStandardizer(fitting: features, dimension: dimension) : nil
        let input = try standardizer?.apply(features) ?? features
        var classifier = try LinearClassifier(inputDimension: dimension, classCount: classes,
                                              momentum: momentum, weightDecay: weightDecay, seed: seed)
        var epochLosses: [Float] = []
        var batch = [Float](repeating: 0, count: min(batchSize, count) * dimension)
        var batchLabels = [Int](repeating: 0, count: min(batchSize, count))
        for epoch in 0..<epochs {
            // One shuffle stream per epoch, so epoch e's order does not depend on earlier epochs.
            var generator = SeededGenerator(seed: seed, streams: [0x5348_5546, UInt64(epoch)])  // "SHUF"
            let order = generator.permutation(count)
            let lr = learningRate(atEpoch: epoch)
            var lossSum: Double = 0
            var start = 0
            while start < count {
                let rows = min(batchSize, count - start)
                // Gather the batch rows: batch [rows, D], batchLabels [rows].
                for r in 0..<rows {
                    let source = order[start + r]
                    batchLabels[r] = labels[source]
                    for j in 0..<dimension { batch[r * dimension + j] = input[source * dimension + j] }
                }
                let loss = batch.withUnsafeBufferPointer { x in
                    batchLabels.withUnsafeBufferPointer { y -> Float in
                        guard let xBase = x.baseAddress, let yBase = y.baseAddress else { return 0 }
                        return classifier.step(xBase, yBase, count: rows, lr: lr)
                    }
                }
                lossSum += Double(loss) * Double(rows)
                start += rows
            }
            epochLosses.append(Float(lossSum / Double(count)))
        }
        return Model(classifier: classifier, standardizer: standardizer, epochLosses: epochLosses)
    }

    /// Trains on (train, trainLabels) and scores (test, testLabels); features are [N, D].
    public func evaluate(train: [Float], trainLabels: [Int], test: [Float], testLabels: [Int],
                         dimension: Int, classCount: Int? = nil) throws -> (model: Model, report: ClassificationReport) {
        let classes = try FeatureMatrix.classCount(explicit: classCount, trainLabels, testLabels)
        let model = try self.train(features: train, labels: trainLabels, dimension: dimension, classCount: classes)
        return (model, try model.evaluate(features: test, labels: testLabels))
    }
}
