import Foundation

/// Agreement scores between a clustering and the true classes.
public struct ClusteringScores: Codable, Equatable, Sendable {
    /// Normalised mutual information, arithmetic normalisation (sklearn's default), in [0, 1].
    public var nmi: Double
    /// Adjusted Rand index, 1 for identical partitions, about 0 for chance.
    public var ari: Double
    /// Cluster accuracy: matched samples / N under the best one-to-one cluster → class map.
    public var accuracy: Double
    /// The cluster → class map behind `accuracy`; unmatched clusters are absent.
    public var clusterToClass: [Int: Int]
}

/// NMI, ARI and Hungarian cluster accuracy. Labels are arbitrary integers (only equality
/// matters); both labelings must have one entry per sample.
public enum ClusteringMetrics {
    /// All three scores for `classes` (ground truth) and `clusters` (predicted), both [N].
    public static func scores(classes: [Int], clusters: [Int]) throws -> ClusteringScores {
        let table = try Contingency(classes, clusters)
        let (accuracy, map) = table.clusterAccuracy()
        return ClusteringScores(nmi: table.normalizedMutualInformation(), ari: table.adjustedRandIndex(),
                                accuracy: accuracy, clusterToClass: map)
    }

    /// Normalised mutual information MI / ((H(U) + H(V)) / 2), natural logarithms; 1 when both
    /// labelings are a single group (sklearn's convention).
    public static func normalizedMutualInformation(classes: [Int], clusters: [Int]) throws -> Double {
        try Contingency(classes, clusters).normalizedMutualInformation()
    }

    /// Adjusted Rand index from the pair-confusion counts (Hubert & Arabie 1985, as sklearn).
    public static func adjustedRandIndex(classes: [Int], clusters: [Int]) throws -> Double {
        try Contingency(classes, clusters).adjustedRandIndex()
    }

    /// Cluster accuracy with the Hungarian algorithm; the cluster count may differ from the class count.
    public static func clusterAccuracy(classes: [Int], clusters: [Int]) throws -> Double {
        try Contingency(classes, clusters).clusterAccuracy().accuracy
    }
}

/// The contingency table n[class, cluster] of two labelings, with dense ids in sorted label order.
struct Contingency {
    let classLabels: [Int]
    let clusterLabels: [Int]
    /// n: [classes, clusters] co-occurrence counts.
    let counts: [Int]
    let classTotals: [Int]
    let clusterTotals: [Int]
    let sampleCount: Int

    init(_ classes: [Int], _ clusters: [Int]) throws {
        guard classes.count == clusters.count else {
            throw EvaluationError(.shapeMismatch, "\(classes.count) class labels but \(clusters.count) cluster labels")
        }
        guard !classes.isEmpty else { throw EvaluationError(.emptyInput, "clustering metrics need at least one sample") }
        classLabels = Array(Set(classes)).sorted()
        clusterLabels = Array(Set(clusters)).sorted()
        let classIndex = Dictionary(uniqueKeysWithValues: classLabels.enumerated().map { ($1, $0) })
        let clusterIndex = Dictionary(uniqueKeysWithValues: clusterLabels.enumerated().map { ($1, $0) })
        var counts = [Int](repeating: 0, count: classLabels.count * clusterLabels.count)
        var classTotals = [Int](repeating: 0, count: classLabels.count)
        var clusterTotals = [Int](repeating: 0, count: clusterLabels.count)
        for (a, b) in zip(classes, clusters) {
            // Both keys were inserted from these same arrays, so the lookups cannot fail.
            let i = classIndex[a] ?? 0
            let j = clusterIndex[b] ?? 0
            counts[i * clusterLabels.count + j] += 1
            classTotals[i] += 1
            clusterTotals[j] += 1
        }
        self.counts = counts
        self.classTotals = classTotals
        self.clusterTotals = clusterTotals
        sampleCount = classes.count
    }

    private static func entropy(_ totals: [Int], _ n: Int) -> Double {
        totals.reduce(0.0) { sum, count in
            guard count > 0 else { return sum }
            let p = Double(count) / Double(n)
            return sum - p * log(p)
        }
    }

    func normalizedMutualInformation() -> Double {
        // Both labelings unsplit (or each sample alone on both sides with one sample): perfect.
        if classLabels.count == 1 && clusterLabels.count == 1 { return 1 }
        let n = Double(sampleCount)
        var mutualInformation = 0.0
        for i in 0..<classLabels.count {
            for j in 0..<clusterLabels.count {
                let nij = Double(counts[i * clusterLabels.count + j])
                guard nij > 0 else { continue }
                mutualInformation += nij / n * log(n * nij / (Double(classTotals[i]) * Double(clusterTotals[j])))
            }
        }
        // MI = 0 cannot be a perfect match here (the special case above), as sklearn returns.
        if mutualInformation <= 0 { return 0 }
        let normaliser = (Contingency.entropy(classTotals, sampleCount) + Contingency.entropy(clusterTotals, sampleCount)) / 2
        return min(1, mutualInformation / normaliser)
    }

    func adjustedRandIndex() -> Double {
        // Pair confusion: tp pairs together in both, fp/fn together in one only, tn apart in both
        // (each counted twice, as sklearn's pair_confusion_matrix; the factor cancels).
        let n = Double(sampleCount)
        let sumSquares = counts.reduce(0.0) { $0 + Double($1) * Double($1) }
        let classSquares = classTotals.reduce(0.0) { $0 + Double($1) * Double($1) }
        let clusterSquares = clusterTotals.reduce(0.0) { $0 + Double($1) * Double($1) }
        let tp = sumSquares - n
        let fp = clusterSquares - sumSquares
        let fn = classSquares - sumSquares
        let tn = n * n - fp - fn - sumSquares
        if fn == 0 && fp == 0 { return 1 }
        return 2 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn))
    }

    func clusterAccuracy() -> (accuracy: Double, map: [Int: Int]) {
        // Rows are clusters, columns classes; maximise the matched counts.
        let rows = clusterLabels.count, columns = classLabels.count
        var weight = [Double](repeating: 0, count: rows * columns)
        for i in 0..<columns { for j in 0..<rows { weight[j * columns + i] = Double(counts[i * rows + j]) } }
        // Shapes and values are valid by construction, so the solver cannot throw here.
        guard let assignment = try? Hungarian.maximumWeight(weight, rows: rows, columns: columns) else { return (0, [:]) }
        var map: [Int: Int] = [:]
        for (cluster, column) in assignment.columnForRow.enumerated() {
            if let column { map[clusterLabels[cluster]] = classLabels[column] }
        }
        return (assignment.total / Double(sampleCount), map)
    }
}
