import Methods
import Foundation

/// Which features a protocol reads from the network.
public enum FeatureLayer: String, Sendable, CaseIterable, Codable {
    /// The projection head's output (the embedding the memory bank holds).
    case head
    /// The pooled backbone feature.
    case backbone
}

/// `invprop eval cluster`: k-means on L2-normalised test features, scored against the classes
/// with NMI, ARI and cluster accuracy (Hungarian matching).
public struct ClusterProtocol: Sendable {
    /// Head or backbone features.
    public var layer: FeatureLayer
    /// k (nil: the number of classes), restarts, iterations and seed of k-means.
    public var clusterCount: Int?, restarts: Int, maxIterations: Int, seed: UInt64

    /// k-means with k = the number of classes, 3 restarts, 100 iterations unless given.
    public init(layer: FeatureLayer = .head, clusterCount: Int? = nil, restarts: Int = 3, maxIterations: Int = 100, seed: UInt64 = 0) {
        self.layer = layer; self.clusterCount = clusterCount; self.restarts = restarts
        self.maxIterations = maxIterations; self.seed = seed
    }

    /// Clusters the test split and scores the clusters.
    public func run(_ session: EvaluationSession, progress: (String) -> Void = { _ in }) throws -> ClusteringResult {
        let k = try clusterCount ?? session.classCount()
        guard k >= 1, restarts >= 1, maxIterations >= 1 else {
            throw EvaluationError(.invalidArgument, "--clusters, --restarts and --iterations must be ≥ 1, got \(k), \(restarts), \(maxIterations)")
        }
        let kmeans = KMeans(clusterCount: k, restarts: restarts, maxIterations: maxIterations, seed: seed)
        let ((result, scores, dimension), seconds) = try timed { () throws -> (KMeans.Result, ClusteringScores, Int) in
            progress("\(layer.rawValue) features of the test images")
            let f = try session.features(.test, backbone: layer == .backbone, head: layer == .head)
            guard let labels = f.labels else {
                throw EvaluationError(.emptyInput, "the test split of \(session.datasetName) has no labels")
            }
            let dimension = layer == .head ? f.headDimension : f.backboneDimension
            // Cosine geometry, as the kNN protocol and the training objective use.
            let normalized = FeatureMatrix.l2Normalized((layer == .head ? f.head : f.backbone) ?? [], dimension: dimension)
            progress("k-means, k = \(k)")
            let result = try kmeans.fit(normalized, dimension: dimension)
            return (result, try ClusteringMetrics.scores(classes: labels, clusters: result.assignments), dimension)
        }
        return ClusteringResult(context: session.context(features: layer.rawValue), kmeans: kmeans, result: result, scores: scores,
                                dimension: dimension, seconds: seconds)
    }
}
