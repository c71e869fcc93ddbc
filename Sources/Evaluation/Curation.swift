import Foundation
import Kernels
import Methods

/// What `invprop curate` looks for in a set of embeddings, and how much of it to list.
public struct CurationSettings: Codable, Equatable, Sendable {
    /// Two images whose cosine similarity is at least this are near-duplicates (in [0, 1]).
    public var duplicateThreshold: Float
    /// Neighbours per image: the candidates for duplicates and the density's sample.
    public var neighbors: Int
    /// Images in the diverse subset (greedy farthest-point selection).
    public var subsetSize: Int
    /// Regions (k-means clusters of the embeddings) for the typical images and the outliers.
    public var regions: Int
    /// Typical images and outliers listed per region.
    public var perRegion: Int
    /// Seed of the k-means++ draws.
    public var seed: UInt64

    /// Settings with the defaults `invprop curate` uses.
    public init(duplicateThreshold: Float = 0.995, neighbors: Int = 10, subsetSize: Int = 1000, regions: Int = 10,
                perRegion: Int = 10, seed: UInt64 = 0) {
        self.duplicateThreshold = duplicateThreshold; self.neighbors = neighbors; self.subsetSize = subsetSize
        self.regions = regions; self.perRegion = perRegion; self.seed = seed
    }

    /// Throws a clear error for a setting out of range, given `count` images.
    public func validate(count: Int) throws {
        guard duplicateThreshold.isFinite, (0...1).contains(duplicateThreshold) else {
            throw EvaluationError(.invalidArgument, "the duplicate threshold must be in [0, 1], got \(duplicateThreshold)")
        }
        guard count >= 2 else { throw EvaluationError(.emptyInput, "curation needs at least 2 images, got \(count)") }
        guard neighbors >= 1 else { throw EvaluationError(.invalidArgument, "the neighbour count must be ≥ 1, got \(neighbors)") }
        guard (1...count).contains(subsetSize) else {
            throw EvaluationError(.invalidArgument, "the diverse subset must hold 1…\(count) images (the folder has \(count)), got \(subsetSize)")
        }
        guard (1...count).contains(regions) else {
            throw EvaluationError(.invalidArgument, "the region count must be in 1…\(count) (the image count), got \(regions)")
        }
        guard perRegion >= 1 else { throw EvaluationError(.invalidArgument, "images listed per region must be ≥ 1, got \(perRegion)") }
    }
}

/// The outcome of a curation; every image is a row of the embedding matrix.
public struct Curation: Codable, Equatable, Sendable {
    /// The settings used.
    public var settings: CurationSettings
    /// Near-duplicate groups (≥ 2 rows each, ascending), the largest first, then by first row.
    public var duplicateGroups: [[Int]]
    /// Per row: its group's position in `duplicateGroups`, −1 when it has no duplicate.
    public var duplicateGroup: [Int]
    /// Per row: its highest similarity to another member of its group (0 outside groups).
    public var duplicateScore: [Float]
    /// The diverse subset in selection order.
    public var diverse: [Int]
    /// Per selected image: its cosine distance to the nearest image selected before it (the
    /// first image's is 2, the largest possible); the sequence shrinks as the subset covers the set.
    public var diverseDistance: [Float]
    /// Per row: its region (k-means cluster) in 0..<regions.
    public var region: [Int]
    /// Per row: the mean cosine similarity to its `neighbors` nearest other images; high in dense
    /// (typical) places, low for outliers.
    public var density: [Float]
    /// Per region: its most typical images (highest density first; one per duplicate group).
    public var typical: [[Int]]
    /// Per region: its outliers (lowest density first).
    public var outliers: [[Int]]
}

/// Near-duplicates, a diverse subset, typical images and outliers from embeddings, without labels.
///
/// Every step works on the L2-normalised embeddings x: [N, D]; similarity is the cosine x_i·x_j.
/// 1. The `neighbors` nearest other images of each image (exact, chunked sgemm + selection).
/// 2. Duplicates: pairs among those neighbours with similarity ≥ threshold, joined transitively
///    (union-find), so a group is connected by near-identical pairs.
/// 3. Density: mean similarity to those neighbours.
/// 4. Regions: k-means on x; per region the densest images are typical, the sparsest outliers.
/// 5. Diverse subset: greedy farthest-point (k-center) selection from the densest image, each
///    step taking the image farthest (cosine distance 1 − x_i·x_j) from every image taken so far.
public enum Curator {
    /// Curates `features` [N, D] (normalised here); `progress` names each step as it starts.
    public static func curate(features: [Float], dimension: Int, settings: CurationSettings,
                              progress: (String) -> Void = { _ in }) throws -> Curation {
        let count = try FeatureMatrix.validate(features, dimension: dimension, name: "embeddings")
        try settings.validate(count: count)
        let x = FeatureMatrix.l2Normalized(features, dimension: dimension)
        progress("the \(min(settings.neighbors, count - 1)) nearest neighbours of \(count) images")
        let neighbors = try nearestOthers(x, count: count, dimension: dimension, k: min(settings.neighbors, count - 1))
        let density = neighbors.map { list in list.isEmpty ? 0 : list.reduce(Float(0)) { $0 + $1.similarity } / Float(list.count) }
        let (groups, groupOf, scores) = duplicateGroups(neighbors, threshold: settings.duplicateThreshold)
        progress("\(settings.regions) regions (k-means)")
        let regions = try KMeans(clusterCount: settings.regions, restarts: 1, maxIterations: 50, seed: settings.seed)
            .fit(x, dimension: dimension).assignments
        let (typical, outliers) = typicalAndOutliers(region: regions, regionCount: settings.regions, density: density,
                                                     duplicateGroup: groupOf, groups: groups, perRegion: settings.perRegion)
        progress("a diverse subset of \(settings.subsetSize)")
        let start = density.indices.max { density[$0] < density[$1] || (density[$0] == density[$1] && $0 > $1) } ?? 0
        let (diverse, distances) = farthestPoints(x, count: count, dimension: dimension, size: settings.subsetSize, start: start)
        return Curation(settings: settings, duplicateGroups: groups, duplicateGroup: groupOf, duplicateScore: scores,
                        diverse: diverse, diverseDistance: distances, region: regions, density: density,
                        typical: typical, outliers: outliers)
    }

    /// The `k` nearest rows of each row other than itself, best first. x: [N, D] normalised.
    static func nearestOthers(_ x: [Float], count: Int, dimension: Int, k: Int) throws -> [[Neighbor]] {
        guard k >= 1 else { return [[Neighbor]](repeating: [], count: count) }
        let lists = try NearestNeighbors.search(queries: x, database: x, dimension: dimension, k: k + 1, normalize: false)
        // A row is usually its own first neighbour, but an exact copy with a lower index ties with
        // it and comes first; drop the row itself wherever it is, else the last entry.
        return lists.enumerated().map { row, list in
            if let own = list.firstIndex(where: { $0.index == row }) {
                var others = list
                others.remove(at: own)
                return others
            }
            return Array(list.prefix(k))
        }
    }

    /// Groups rows joined by a neighbour pair with similarity ≥ `threshold`; returns the groups
    /// (largest first), each row's group (−1 for none) and each grouped row's best similarity in it.
    static func duplicateGroups(_ neighbors: [[Neighbor]], threshold: Float) -> ([[Int]], [Int], [Float]) {
        let count = neighbors.count
        var parent = Array(0..<count)
        func root(_ i: Int) -> Int {
            var r = i
            while parent[r] != r { r = parent[r] }
            var j = i
            while parent[j] != r { (parent[j], j) = (r, parent[j]) }   // path compression
            return r
        }
        var best = [Float](repeating: 0, count: count)
        for (row, list) in neighbors.enumerated() {
            for neighbor in list where neighbor.similarity >= threshold {
                let (a, b) = (root(row), root(neighbor.index))
                if a != b { parent[max(a, b)] = min(a, b) }
                best[row] = max(best[row], neighbor.similarity)
                best[neighbor.index] = max(best[neighbor.index], neighbor.similarity)
            }
        }
        var members: [Int: [Int]] = [:]
        for row in 0..<count { members[root(row), default: []].append(row) }
        let groups = members.values.filter { $0.count >= 2 }
            .sorted { $0.count != $1.count ? $0.count > $1.count : $0[0] < $1[0] }
        var groupOf = [Int](repeating: -1, count: count)
        for (g, group) in groups.enumerated() { for row in group { groupOf[row] = g } }
        for row in 0..<count where groupOf[row] < 0 { best[row] = 0 }
        return (groups, groupOf, best)
    }

    /// Per region, the `perRegion` densest rows (one per duplicate group: its first row) and the
    /// `perRegion` sparsest rows; ties go to the lower row.
    static func typicalAndOutliers(region: [Int], regionCount: Int, density: [Float], duplicateGroup: [Int],
                                   groups: [[Int]], perRegion: Int) -> ([[Int]], [[Int]]) {
        var rows = [[Int]](repeating: [], count: regionCount)
        for (row, r) in region.enumerated() { rows[r].append(row) }
        let typical = rows.map { members in
            members.filter { duplicateGroup[$0] < 0 || groups[duplicateGroup[$0]][0] == $0 }
                .sorted { density[$0] != density[$1] ? density[$0] > density[$1] : $0 < $1 }
                .prefix(perRegion).map { $0 }
        }
        let outliers = rows.map { members in
            members.sorted { density[$0] != density[$1] ? density[$0] < density[$1] : $0 < $1 }.prefix(perRegion).map { $0 }
        }
        return (typical, outliers)
    }

    /// Greedy farthest-point selection of `size` rows from `start`; returns the rows in order
    /// and each one's cosine distance to the nearest row taken before it. x: [N, D] normalised.
    static func farthestPoints(_ x: [Float], count: Int, dimension: Int, size: Int, start: Int) -> ([Int], [Float]) {
        // nearest[i]: cosine distance from row i to the closest selected row (+∞ before any).
        var nearest = [Float](repeating: .infinity, count: count)
        var similarity = [Float](repeating: 0, count: count)
        var chosen: [Int] = [start], distances: [Float] = [2]
        chosen.reserveCapacity(size)
        x.withUnsafeBufferPointer { xs in
            guard let base = xs.baseAddress else { return }
            var latest = start
            while true {
                // similarity[N] = x[N, D] · x[latest]ᵀ
                similarity.withUnsafeMutableBufferPointer { s in
                    Gemm.sgemm(transA: false, transB: false, m: count, n: 1, k: dimension, a: base, lda: dimension,
                               b: base + latest * dimension, ldb: 1, c: s.baseAddress!, ldc: 1)
                }
                nearest[latest] = -1   // never chosen again
                var farthest = -1, farthestDistance: Float = -.infinity
                for i in 0..<count where nearest[i] >= 0 {
                    nearest[i] = min(nearest[i], max(0, 1 - similarity[i]))
                    if nearest[i] > farthestDistance { (farthest, farthestDistance) = (i, nearest[i]) }
                }
                guard chosen.count < size, farthest >= 0 else { break }
                chosen.append(farthest)
                distances.append(farthestDistance)
                latest = farthest
            }
        }
        return (chosen, distances)
    }
}
