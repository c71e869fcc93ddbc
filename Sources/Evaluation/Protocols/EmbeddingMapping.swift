import Foundation

/// One image on the 2-D map: its training-image index, label and coordinates.
public struct MapPoint: Codable, Equatable, Sendable {
    /// Dataset index of the image.
    public var index: Int
    /// Its label, nil when unknown.
    public var label: Int?
    /// Coordinates on the first two principal axes.
    public var x: Double, y: Double
}

/// A 2-D map of a run's embeddings: a sample of training images projected on the first two
/// principal axes of their (L2-normalised) embeddings.
public struct EmbeddingMap: Sendable {
    /// The points, in sample order.
    public var points: [MapPoint]
    /// Share of the total variance along each axis.
    public var explainedVariance: [Double]
    /// Which embeddings: "memory bank" or "head features (recomputed)".
    public var source: String

    /// Maps `sampleSize` training images of `session` (evenly spaced rows, deterministic):
    /// the memory bank's rows where the checkpoint has one, else head features recomputed
    /// with the evaluation transform for the sampled images only.
    public static func compute(_ session: EvaluationSession, sampleSize: Int) throws -> EmbeddingMap {
        guard sampleSize >= 2 else { throw EvaluationError(.invalidArgument, "the map needs at least 2 points, got \(sampleSize)") }
        let total = session.trainIndices.count
        let rows = (0..<min(sampleSize, total)).map { $0 * total / min(sampleSize, total) }
        let indices = rows.map { session.trainIndices[$0] }
        var features: [Float], dimension: Int, source: String
        if session.hasMemoryBank && session.isTrainingDataset {
            let bank = try session.bank()
            dimension = bank.dimension
            features = rows.flatMap { bank.features[$0 * dimension..<($0 + 1) * dimension] }
            source = "memory bank"
        } else {
            let f = try FeatureExtractor.extract(model: session.model, dataset: session.train, transform: session.transform(),
                                                 indices: indices, batchSize: session.options.batchSize, precision: session.precision,
                                                 workers: session.options.workers)
            (features, dimension, source) = (f.head ?? [], f.headDimension, "head features (recomputed)")
        }
        FeatureMatrix.l2Normalize(&features, dimension: dimension)
        let pca = try PrincipalComponents(features: features, dimension: dimension, components: 2)
        let coordinates = pca.project(features, dimension: dimension)
        let points = zip(indices, coordinates).map { index, xy in
            MapPoint(index: index, label: session.train.label(at: index), x: xy[0], y: xy[1])
        }
        return EmbeddingMap(points: points, explainedVariance: pca.variances.map { $0 / max(pca.totalVariance, .leastNonzeroMagnitude) },
                            source: source)
    }
}
