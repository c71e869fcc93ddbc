import Foundation
import Methods
import RunFormat

/// One image shown beside an anchor: its training index, label and cosine similarity to the anchor.
public struct RetrievedImage: Codable, Equatable, Sendable {
    /// Index in the training set (= memory-bank row).
    public var index: Int
    /// Its label, when the dataset has labels.
    public var label: Int?
    /// Cosine similarity to the anchor in the features searched.
    public var similarity: Float
}

/// What `invprop neighbors` shows for one anchor.
public struct AnchorInspection: Codable, Equatable, Sendable {
    /// The anchor's training index and label.
    public var anchor: Int, label: Int?
    /// Its nearest training images, best first, itself excluded.
    public var neighbors: [RetrievedImage]
    /// Distinct images that propagation reaches from it through the neighbour table, in discovery
    /// order, itself excluded (empty for runs without a table).
    public var candidates: [RetrievedImage]
    /// The positives InvP would choose among the candidates (hard: least similar first), by bank similarity.
    public var positives: [RetrievedImage]
}

/// `invprop neighbors`: nearest neighbours of chosen training images and the positives that
/// invariance propagation discovers for them from the checkpoint's neighbour table.
public struct NeighborInspection: Sendable {
    /// Source of the features searched for nearest neighbours.
    public var features: KNNTrainFeatures
    /// Neighbours shown per anchor.
    public var neighborCount: Int

    /// An inspection with `neighborCount` neighbours from `features`.
    public init(features: KNNTrainFeatures = .bank, neighborCount: Int = 8) {
        self.features = features
        self.neighborCount = neighborCount
    }

    /// Inspects `anchors` (training indices). Propagation needs the bank and the table, so it is
    /// skipped (empty lists) for runs without a table, such as NPID.
    public func run(_ session: EvaluationSession, anchors: [Int], progress: (String) -> Void = { _ in }) throws -> [AnchorInspection] {
        guard neighborCount >= 1 else { throw EvaluationError(.invalidArgument, "--k must be ≥ 1, got \(neighborCount)") }
        guard !anchors.isEmpty else { throw EvaluationError(.emptyInput, "--images names no image") }
        let n = session.trainIndices.count
        if let bad = anchors.first(where: { $0 < 0 || $0 >= n }) {
            throw EvaluationError(.invalidArgument, "--images: index \(bad) is outside the \(n) training images (0..<\(n))")
        }
        let labels = (try? session.labels(.train)).map { list in { (i: Int) -> Int? in list[i] } } ?? { _ in nil }
        let (database, dimension) = try session.trainingFeatures(features, progress: progress)
        let normalized = FeatureMatrix.l2Normalized(database, dimension: dimension)
        let queries = anchors.flatMap { normalized[$0 * dimension..<($0 + 1) * dimension] }
        // One extra neighbour, since each anchor finds itself first.
        let found = try NearestNeighbors.search(queries: queries, database: normalized, dimension: dimension,
                                                k: neighborCount + 1, normalize: false)
        // Propagation needs the run's own table and bank (InvP checkpoints of the training dataset).
        var propagation: (table: NeighbourTable, bank: [Float], dimension: Int, config: InvPConfig)?
        if session.isTrainingDataset, session.archive.contains(CheckpointKey.neighbourTable), let config = session.checkpoint.invp {
            let (bank, d) = try session.bank()
            propagation = (try session.neighbourTable(), FeatureMatrix.l2Normalized(bank, dimension: d), d, config)
        }
        return anchors.enumerated().map { row, anchor in
            let neighbors = found[row].filter { $0.index != anchor }.prefix(neighborCount)
                .map { RetrievedImage(index: $0.index, label: labels($0.index), similarity: $0.similarity) }
            var inspection = AnchorInspection(anchor: anchor, label: labels(anchor), neighbors: Array(neighbors), candidates: [], positives: [])
            if let (table, bank, d, config) = propagation {
                func similarity(_ i: Int) -> Float {
                    (0..<d).reduce(Float(0)) { $0 + bank[anchor * d + $1] * bank[i * d + $1] }
                }
                let raw = Propagation.candidates(anchor: anchor, table: table, hops: config.hops, mode: config.propagation).map(Int.init)
                let sims = raw.map(similarity)
                var seen: Set<Int> = [anchor]
                inspection.candidates = zip(raw, sims).filter { seen.insert($0.0).inserted }
                    .map { RetrievedImage(index: $0.0, label: labels($0.0), similarity: $0.1) }
                // The P least (hard) or most (easy) similar candidates, ties by position, as InvPLoss selects them.
                let order = raw.indices.sorted { a, b in
                    sims[a] == sims[b] ? a < b : (config.positives == .hard ? sims[a] < sims[b] : sims[a] > sims[b])
                }
                inspection.positives = order.prefix(min(config.positiveCount, raw.count))
                    .map { RetrievedImage(index: raw[$0], label: labels(raw[$0]), similarity: sims[$0]) }
            }
            return inspection
        }
    }
}
