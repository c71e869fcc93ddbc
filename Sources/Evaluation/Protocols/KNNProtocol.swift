import Foundation

/// Where the training side of the kNN classifier comes from.
public enum KNNTrainFeatures: String, Sendable, CaseIterable, Codable {
    /// The memory bank saved in the checkpoint: the paper's per-epoch monitor (no forward pass
    /// over the training set; entries are momentum averages of augmented views).
    case bank
    /// Head features of the training images recomputed with the evaluation transform.
    case recompute
}

/// `invprop eval knn`: the weighted kNN protocol (SPEC "Evaluation protocols") on a checkpoint.
public struct KNNProtocol: Sendable {
    /// The classifier (K, σ); K is clamped to the training-set size as the monitor does.
    public var knn: WeightedKNN
    /// Bank or recomputed training features.
    public var trainFeatures: KNNTrainFeatures

    /// The protocol with the paper's K = 200, σ = 0.07 and bank features unless given.
    public init(k: Int = 200, temperature: Float = 0.07, trainFeatures: KNNTrainFeatures = .bank) {
        knn = WeightedKNN(k: k, temperature: temperature)
        self.trainFeatures = trainFeatures
    }

    /// Classifies the test split's head features by their neighbours among the training features.
    public func run(_ session: EvaluationSession, progress: (String) -> Void = { _ in }) throws -> KNNResult {
        guard knn.k >= 1 else { throw EvaluationError(.invalidArgument, "--k must be ≥ 1, got \(knn.k)") }
        guard knn.temperature > 0, knn.temperature.isFinite else {
            throw EvaluationError(.invalidArgument, "--temperature must be > 0, got \(knn.temperature)")
        }
        let ((report, trainCount, dimension), seconds) = try timed { () throws -> (ClassificationReport, Int, Int) in
            let trainLabels = try session.labels(.train)
            let (train, dimension) = try session.trainingFeatures(trainFeatures, progress: progress)
            progress("features of the test images")
            let test = try session.features(.test)
            guard let testLabels = test.labels, let testHead = test.head else {
                throw EvaluationError(.emptyInput, "the test split of \(session.datasetName) has no labels")
            }
            guard test.headDimension == dimension else {
                throw EvaluationError(.shapeMismatch, "test features are \(test.headDimension)-d, training features \(dimension)-d")
            }
            var classifier = knn
            classifier.k = min(knn.k, trainLabels.count)
            let report = try classifier.evaluate(train: train, trainLabels: trainLabels, test: testHead, testLabels: testLabels,
                                                 dimension: dimension, classCount: try session.classCount())
            return (report, trainLabels.count, dimension)
        }
        var used = knn
        used.k = min(knn.k, trainCount)
        return KNNResult(context: session.context(features: trainFeatures == .bank ? "memory-bank" : "head"), knn: used,
                         report: report, trainCount: trainCount, dimension: dimension, seconds: seconds)
    }
}
