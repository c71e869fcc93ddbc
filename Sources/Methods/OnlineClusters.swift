import Foundation

/// ODC's clustering state over a samples memory (Zhan et al., CVPR 2020, as mmselfsup's
/// `ODCMemory` runs it): one pseudo-label per training image and K centroids [K, D], kept in step
/// with the memory's rows by the operations below. The memory itself is a `MemoryBank`.
public struct OnlineClusters: Sendable, Equatable {
    /// K, the number of clusters.
    public let clusterCount: Int
    /// D, the feature width.
    public let dimension: Int
    /// The cluster of every training image, [N].
    public var labels: [Int32]
    /// Centroids [K, D], row-major (means of their members' memory rows, not normalised).
    public var centroids: [Float]

    /// Labels as given, centroids computed from `memory` ([N, D] rows); every cluster must
    /// have a member (the caller fixes empty ones with `splitLargest`).
    public init(labels: [Int32], clusterCount: Int, memory: [Float], dimension: Int) {
        self.clusterCount = clusterCount
        self.dimension = dimension
        self.labels = labels
        centroids = [Float](repeating: 0, count: clusterCount * dimension)
        recomputeCentroids(memory: memory)
    }

    /// Members per cluster, [K].
    public var counts: [Int] {
        var counts = [Int](repeating: 0, count: clusterCount)
        for label in labels { counts[Int(label)] += 1 }
        return counts
    }

    /// The cluster whose centroid has the largest dot product with `row` ([D]) among
    /// `allowed` (all clusters when nil); the first on ties.
    func nearestCentroid(to row: ArraySlice<Float>, allowed: [Int]? = nil) -> Int {
        var best = -1, bestScore = -Float.infinity
        for k in allowed ?? Array(0..<clusterCount) {
            var score: Float = 0
            let base = k * dimension
            for (c, x) in zip(0..<dimension, row) { score += centroids[base + c] * x }
            if best < 0 || score > bestScore { best = k; bestScore = score }
        }
        return best
    }

    /// New labels for the images `indices` from their memory rows; returns how many changed.
    public mutating func relabel(indices: [Int], memory: [Float]) -> Int {
        let fresh = indices.map { Int32(nearestCentroid(to: memory[$0 * dimension..<($0 + 1) * dimension])) }
        var changed = 0
        for (i, label) in zip(indices, fresh) where labels[i] != label { changed += 1 }
        for (i, label) in zip(indices, fresh) { labels[i] = label }
        return changed
    }

    /// Every non-empty cluster's centroid becomes the mean of its members' memory rows (or only
    /// those of `clusters`); empty clusters keep theirs.
    public mutating func recomputeCentroids(memory: [Float], only clusters: [Int]? = nil) {
        let d = dimension
        var sums = [Float](repeating: 0, count: clusterCount * d)
        var counts = [Int](repeating: 0, count: clusterCount)
        for (i, label) in labels.enumerated() {
            let k = Int(label)
            counts[k] += 1
            for c in 0..<d { sums[k * d + c] += memory[i * d + c] }
        }
        for k in clusters ?? Array(0..<clusterCount) where counts[k] > 0 {
            let inverse = 1 / Float(counts[k])
            for c in 0..<d { centroids[k * d + c] = sums[k * d + c] * inverse }
        }
    }

    /// ODC's small-cluster rule: every cluster with fewer than `minimumSize` members (empty ones
    /// included) is dissolved, its members moved to the nearest centroid among the other
    /// clusters; then each of them, in ascending order, takes half of the largest cluster
    /// (`splitLargest`). Returns the small clusters.
    @discardableResult
    public mutating func handleSmallClusters(minimumSize: Int, memory: [Float]) -> [Int] {
        let small = counts.enumerated().filter { $0.element < minimumSize }.map(\.offset)
        guard !small.isEmpty else { return [] }
        let smallSet = Set(small)
        let remaining = (0..<clusterCount).filter { !smallSet.contains($0) }
        if !remaining.isEmpty {
            for i in labels.indices where smallSet.contains(Int(labels[i])) {
                labels[i] = Int32(nearestCentroid(to: memory[i * dimension..<(i + 1) * dimension], allowed: remaining))
            }
        }
        for empty in small { splitLargest(into: empty, memory: memory) }
        return small
    }

    /// Moves half of the largest cluster (the first on ties) into the empty cluster `empty` by
    /// 2-means on the members' memory rows (`TwoMeans`), then recomputes both centroids.
    public mutating func splitLargest(into empty: Int, memory: [Float]) {
        let sizes = counts
        guard let largest = sizes.indices.max(by: { sizes[$0] < sizes[$1] || (sizes[$0] == sizes[$1] && $0 > $1) }),
              sizes[largest] >= 2 else { return }
        let members = labels.indices.filter { labels[$0] == Int32(largest) }
        let moved = TwoMeans.partition(members: members, memory: memory, dimension: dimension)
        for i in moved { labels[i] = Int32(empty) }
        recomputeCentroids(memory: memory, only: [largest, empty])
    }

    /// ODC's loss weights: w_c ∝ (1 / (count_c + 1e-10))^power, normalised to sum 1, [K].
    public func lossWeights(power: Float) -> [Float] {
        let raw = counts.map { pow(1 / (Float($0) + 1e-10), power) }
        let total = raw.reduce(0, +)
        return raw.map { $0 / total }
    }
}

/// The 2-means that splits a cluster in two. mmselfsup calls sklearn's KMeans (random start);
/// ours is deterministic, so runs and fixtures repeat: centre 0 starts at the first member (in
/// index order), centre 1 at the member least similar to it (smallest dot product, the first on
/// ties); Lloyd iterations (squared distance, ties to centre 0) until no assignment changes, at
/// most 20. The half that holds the first member stays; the other is returned. If one half ends
/// empty, every second member (positions 1, 3, 5, …) is returned instead.
enum TwoMeans {
    /// The members ([indices into the memory's rows], ascending) that leave the cluster.
    static func partition(members: [Int], memory: [Float], dimension d: Int) -> [Int] {
        func row(_ i: Int) -> ArraySlice<Float> { memory[i * d..<(i + 1) * d] }
        func dot(_ a: ArraySlice<Float>, _ b: [Float]) -> Float { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
        func distance(_ a: ArraySlice<Float>, _ b: [Float]) -> Float { zip(a, b).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } }
        let first = Array(row(members[0]))
        var farthest = members[0], lowest = Float.infinity
        for i in members where dot(row(i), first) < lowest { lowest = dot(row(i), first); farthest = i }
        var centres = [first, Array(row(farthest))]
        var side = [Int](repeating: -1, count: members.count)
        for _ in 0..<20 {
            let next = members.map { distance(row($0), centres[1]) < distance(row($0), centres[0]) ? 1 : 0 }
            if next == side { break }
            side = next
            for s in 0..<2 {
                let chosen = zip(members, side).filter { $0.1 == s }.map(\.0)
                guard !chosen.isEmpty else { continue }
                var mean = [Float](repeating: 0, count: d)
                for i in chosen { for c in 0..<d { mean[c] += memory[i * d + c] } }
                centres[s] = mean.map { $0 / Float(chosen.count) }
            }
        }
        let leaving = zip(members, side).filter { $0.1 != side[0] }.map(\.0)
        if leaving.isEmpty || leaving.count == members.count {
            return members.enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
        }
        return leaving
    }
}
