import Foundation

/// The weighted kNN classifier of NPID / InvP (the paper's CIFAR/SVHN metric and epoch monitor).
///
/// Test and train features are L2-normalised; for each test sample the K most cosine-similar
/// training samples vote for their class with weight exp(sim / σ); classes are ranked by the
/// summed weight (ties: lower class index). Chunked over test samples (see `NearestNeighbors`).
public struct WeightedKNN: Sendable, Codable, Equatable {
    /// Number of neighbours (the paper: 200); clamped to the training-set size.
    public var k: Int
    /// Temperature σ of the vote weight exp(sim / σ) (the paper: 0.07).
    public var temperature: Float
    /// Test rows per sgemm chunk; memory is chunkSize × N_train floats. Does not change results.
    public var chunkSize: Int
    /// L2-normalise both feature sets first (on for the paper's protocol; off if already done).
    public var normalize: Bool

    /// A classifier with the paper's defaults (K = 200, σ = 0.07).
    public init(k: Int = 200, temperature: Float = 0.07, chunkSize: Int = 256, normalize: Bool = true) {
        self.k = k
        self.temperature = temperature
        self.chunkSize = chunkSize
        self.normalize = normalize
    }

    /// Classifies `test` [N_test, D] by its neighbours in `train` [N_train, D] and scores it.
    /// Labels are in 0..<classCount (default: largest label + 1).
    public func evaluate(train: [Float], trainLabels: [Int], test: [Float], testLabels: [Int],
                         dimension: Int, classCount: Int? = nil) throws -> ClassificationReport {
        let testCount = try FeatureMatrix.validate(test, dimension: dimension, name: "test features")
        let classes = try FeatureMatrix.classCount(explicit: classCount, trainLabels, testLabels)
        try FeatureMatrix.validateLabels(testLabels, count: testCount, classCount: classes, name: "test labels")
        let scores = try classScores(train: train, trainLabels: trainLabels, test: test,
                                     dimension: dimension, classCount: classes)
        return try ClassificationReport(scores: scores, labels: testLabels, classCount: classes)
    }

    /// Class scores [N_test, C]: Σ exp(sim/σ) over each test sample's K neighbours of that class.
    public func classScores(train: [Float], trainLabels: [Int], test: [Float],
                            dimension: Int, classCount: Int) throws -> [Float] {
        let trainCount = try FeatureMatrix.validate(train, dimension: dimension, name: "train features")
        let testCount = try FeatureMatrix.validate(test, dimension: dimension, name: "test features")
        try FeatureMatrix.validateLabels(trainLabels, count: trainCount, classCount: classCount,
                                         name: "train labels")
        guard k >= 1 else { throw EvaluationError(.invalidArgument, "K must be >= 1, got \(k)") }
        guard temperature > 0 && temperature.isFinite else {
            throw EvaluationError(.invalidArgument, "temperature σ must be positive, got \(temperature)")
        }
        guard chunkSize >= 1 else {
            throw EvaluationError(.invalidArgument, "chunk size must be >= 1, got \(chunkSize)")
        }
        let trainNormalized = normalize ? FeatureMatrix.l2Normalized(train, dimension: dimension) : train
        let testNormalized = normalize ? FeatureMatrix.l2Normalized(test, dimension: dimension) : test
        let kept = min(k, trainCount)
        var scores = [Float](repeating: 0, count: testCount * classCount)
        trainLabels.withUnsafeBufferPointer { labelBuffer in
            scores.withUnsafeMutableBufferPointer { scoreBuffer in
                guard let labels = labelBuffer.baseAddress, let out = scoreBuffer.baseAddress else { return }
                NearestNeighbors.forEachTopK(
                    queries: testNormalized, queryCount: testCount, database: trainNormalized,
                    databaseCount: trainCount, dimension: dimension, k: kept, chunkSize: chunkSize
                ) { query, sims, indices in
                    // Votes are added best neighbour first, a fixed order, so scores are reproducible.
                    let row = out + query * classCount
                    for j in 0..<kept {
                        row[labels[Int(indices[j])]] += exp(sims[j] / temperature)
                    }
                }
            }
        }
        return scores
    }
}
