import Foundation
import Kernels
import Randomness

/// k-means: k-means++ seeding from a seed, Lloyd iterations with sgemm distances, several
/// restarts, keeping the lowest inertia (sum of squared distances to the assigned centroid).
public struct KMeans: Codable, Equatable, Sendable {
    /// Number of clusters k.
    public var clusterCount: Int
    /// Independent k-means++ initialisations; the best (lowest-inertia) run is returned.
    public var restarts: Int
    /// Maximum Lloyd iterations per restart.
    public var maxIterations: Int
    /// Stop when the summed squared centroid shift ≤ tolerance × mean per-dimension variance
    /// (sklearn's criterion), or when no assignment changes.
    public var tolerance: Double
    /// Seed of the k-means++ draws (restart r uses its own stream).
    public var seed: UInt64

    /// A k-means configuration (defaults: 3 restarts, 100 iterations, tolerance 1e-4).
    public init(clusterCount: Int, restarts: Int = 3, maxIterations: Int = 100, tolerance: Double = 1e-4,
                seed: UInt64 = 0) {
        self.clusterCount = clusterCount
        self.restarts = restarts
        self.maxIterations = maxIterations
        self.tolerance = tolerance
        self.seed = seed
    }

    /// The outcome of the best restart.
    public struct Result: Codable, Equatable, Sendable {
        /// Centroids [k, D], row-major.
        public var centroids: [Float]
        /// Cluster of every sample, [N], in 0..<k.
        public var assignments: [Int]
        /// Σ ||x − c(x)||² over all samples.
        public var inertia: Double
        /// Lloyd iterations the best restart ran.
        public var iterations: Int
        /// Which restart won (0-based).
        public var restart: Int

        /// A result as `fit` returns it.
        public init(centroids: [Float], assignments: [Int], inertia: Double, iterations: Int, restart: Int) {
            self.centroids = centroids; self.assignments = assignments; self.inertia = inertia
            self.iterations = iterations; self.restart = restart
        }
    }

    /// Clusters `features` [N, D].
    public func fit(_ features: [Float], dimension: Int) throws -> Result {
        guard dimension >= 1, features.count % dimension == 0, !features.isEmpty else {
            throw MethodsError.invalidInput("k-means: \(features.count) values do not make samples of dimension \(dimension)")
        }
        let count = features.count / dimension
        if let bad = features.firstIndex(where: { !$0.isFinite }) {
            throw MethodsError.invalidInput("k-means: value \(features[bad]) at row \(bad / dimension), column \(bad % dimension) is not finite")
        }
        guard clusterCount >= 1 && clusterCount <= count else {
            throw MethodsError.invalidConfiguration("k must be in 1...\(count) (the sample count), got \(clusterCount)")
        }
        guard restarts >= 1, maxIterations >= 1, tolerance >= 0 else {
            throw MethodsError.invalidConfiguration(
                "restarts and iterations must be >= 1 and tolerance >= 0, got \(restarts), \(maxIterations), \(tolerance)")
        }
        let data = Points(features: features, count: count, dimension: dimension)
        let tolerance = self.tolerance * data.meanVariance()
        var best: Result?
        for restart in 0..<restarts {
            var generator = SeededGenerator(seed: seed, streams: [0x4B4D_4541_4E53, UInt64(restart)])  // "KMEANS"
            let initial = data.plusPlusCentroids(k: clusterCount, generator: &generator)
            var result = data.lloyd(initial, k: clusterCount, maxIterations: maxIterations, tolerance: tolerance)
            result.restart = restart
            if best == nil || result.inertia < best?.inertia ?? .infinity { best = result }
        }
        guard let best else { throw MethodsError.invalidConfiguration("k-means ran no restart") }
        return best
    }
}

/// Feature rows with their squared norms, and the k-means steps on them.
private struct Points {
    let features: [Float]
    let count: Int
    let dimension: Int
    /// ||x_i||², [N].
    let squaredNorms: [Float]

    init(features: [Float], count: Int, dimension: Int) {
        self.features = features
        self.count = count
        self.dimension = dimension
        squaredNorms = (0..<count).map { i in
            var s: Float = 0
            for j in 0..<dimension { s += features[i * dimension + j] * features[i * dimension + j] }
            return s
        }
    }

    /// Mean over dimensions of the per-dimension variance (the scale of sklearn's tolerance).
    func meanVariance() -> Double {
        var total = 0.0
        for j in 0..<dimension {
            var sum = 0.0, sumSquares = 0.0
            for i in 0..<count {
                let v = Double(features[i * dimension + j])
                sum += v
                sumSquares += v * v
            }
            let mean = sum / Double(count)
            total += max(0, sumSquares / Double(count) - mean * mean)
        }
        return total / Double(dimension)
    }

    /// Exact squared distance from row i to a centroid row (Double accumulation).
    func squaredDistance(_ i: Int, _ centroid: ArraySlice<Float>) -> Double {
        var s = 0.0
        var j = 0
        for c in centroid {
            let d = Double(features[i * dimension + j]) - Double(c)
            s += d * d
            j += 1
        }
        return s
    }

    /// k-means++ (Arthur & Vassilvitskii 2007): first centre uniform, then each next centre drawn
    /// with probability ∝ D(x)², the squared distance to the closest centre so far. → [k, D].
    func plusPlusCentroids(k: Int, generator: inout SeededGenerator) -> [Float] {
        var centroids: [Float] = []
        centroids.reserveCapacity(k * dimension)
        var closest = [Double](repeating: .infinity, count: count)
        var next = generator.int(below: count)
        for c in 0..<k {
            centroids.append(contentsOf: features[(next * dimension)..<((next + 1) * dimension)])
            let centre = centroids[(c * dimension)..<((c + 1) * dimension)]
            for i in 0..<count { closest[i] = min(closest[i], squaredDistance(i, centre)) }
            if c + 1 == k { break }
            let total = closest.reduce(0, +)
            if total <= 0 {
                // Every point coincides with a centre: any further choice is as good.
                next = generator.int(below: count)
                continue
            }
            var target = generator.uniform() * total
            next = count - 1
            for i in 0..<count {
                target -= closest[i]
                if target < 0 && closest[i] > 0 { next = i; break }
            }
        }
        return centroids
    }

    /// Nearest centroid of every row (ties: lower index) and its squared distance, via
    /// ||x||² − 2 x·c + ||c||² with x·c from sgemm in row chunks. centroids: [k, D].
    func assign(_ centroids: [Float], k: Int) -> (assignments: [Int], distances: [Float]) {
        var assignments = [Int](repeating: 0, count: count)
        var distances = [Float](repeating: 0, count: count)
        let centroidNorms: [Float] = (0..<k).map { c in
            var s: Float = 0
            for j in 0..<dimension { s += centroids[c * dimension + j] * centroids[c * dimension + j] }
            return s
        }
        // dots: [chunk, k]; bounded to about 4M floats whatever k is.
        let chunk = max(1, min(count, 4_000_000 / k))
        var dots = [Float](repeating: 0, count: chunk * k)
        features.withUnsafeBufferPointer { x in
            centroids.withUnsafeBufferPointer { c in
                dots.withUnsafeMutableBufferPointer { d in
                    assignments.withUnsafeMutableBufferPointer { a in
                        distances.withUnsafeMutableBufferPointer { dist in
                            guard let xBase = x.baseAddress, let cBase = c.baseAddress, let dBase = d.baseAddress,
                                  let aBase = a.baseAddress, let distBase = dist.baseAddress else { return }
                            var start = 0
                            while start < count {
                                let rows = min(chunk, count - start)
                                Gemm.sgemm(transA: false, transB: true, m: rows, n: k, k: dimension,
                                           a: xBase + start * dimension, lda: dimension, b: cBase, ldb: dimension,
                                           c: dBase, ldc: k)
                                let offset = start
                                parallelRanges(count: rows, minimumPerTask: 256) { range in
                                    for r in range {
                                        var best = 0
                                        var bestDistance = Float.infinity
                                        for cluster in 0..<k {
                                            let dd = centroidNorms[cluster] - 2 * dBase[r * k + cluster]
                                            if dd < bestDistance { bestDistance = dd; best = cluster }
                                        }
                                        aBase[offset + r] = best
                                        distBase[offset + r] = max(0, bestDistance + squaredNorms[offset + r])
                                    }
                                }
                                start += rows
                            }
                        }
                    }
                }
            }
        }
        return (assignments, distances)
    }

    /// Lloyd iterations from `initial` [k, D]; ends with an assignment step so labels match centroids.
    func lloyd(_ initial: [Float], k: Int, maxIterations: Int, tolerance: Double) -> KMeans.Result {
        var centroids = initial
        var (assignments, distances) = assign(centroids, k: k)
        var iterations = 0
        while iterations < maxIterations {
            iterations += 1
            // Update step: means in Double; sums [k, D], counts [k].
            var sums = [Double](repeating: 0, count: k * dimension)
            var counts = [Int](repeating: 0, count: k)
            for i in 0..<count {
                let c = assignments[i]
                counts[c] += 1
                for j in 0..<dimension { sums[c * dimension + j] += Double(features[i * dimension + j]) }
            }
            var updated = centroids
            // Empty clusters take the points farthest from their centroids (as sklearn relocates).
            let farthest = counts.contains(0)
                ? (0..<count).sorted { distances[$0] > distances[$1] || (distances[$0] == distances[$1] && $0 < $1) }
                : []
            var nextFarthest = 0
            for c in 0..<k {
                if counts[c] > 0 {
                    for j in 0..<dimension { updated[c * dimension + j] = Float(sums[c * dimension + j] / Double(counts[c])) }
                } else if nextFarthest < farthest.count {
                    let i = farthest[nextFarthest]
                    nextFarthest += 1
                    for j in 0..<dimension { updated[c * dimension + j] = features[i * dimension + j] }
                }
            }
            var shift = 0.0
            for i in updated.indices { shift += Double(updated[i] - centroids[i]) * Double(updated[i] - centroids[i]) }
            centroids = updated
            let previous = assignments
            (assignments, distances) = assign(centroids, k: k)
            if assignments == previous || shift <= tolerance { break }
        }
        var inertia = 0.0
        for i in 0..<count {
            let c = assignments[i]
            inertia += squaredDistance(i, centroids[(c * dimension)..<((c + 1) * dimension)])
        }
        return KMeans.Result(centroids: centroids, assignments: assignments, inertia: inertia,
                             iterations: iterations, restart: 0)
    }
}
