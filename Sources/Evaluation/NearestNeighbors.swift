import Kernels

/// One retrieved neighbour: its row in the database and its similarity to the query.
public struct Neighbor: Equatable, Sendable, Codable {
    /// Row index in the database (training set / memory bank).
    public var index: Int
    /// Inner product with the query (cosine similarity when both were normalised).
    public var similarity: Float

    /// A neighbour at `index` with `similarity`.
    public init(index: Int, similarity: Float) {
        self.index = index
        self.similarity = similarity
    }
}

/// Exact top-K retrieval by inner product, chunked over queries so [N_query, N_db] never exists.
///
/// Per chunk of `chunkSize` queries one sgemm gives s: [chunk, N_db]; each row then keeps its K
/// best entries in a bounded min-heap (O(N_db) compares, no full sort). Order: similarity
/// descending, ties broken by the lower database index, so results do not depend on chunking.
public enum NearestNeighbors {
    /// The `k` nearest database rows of every query, best first: [N_query][min(k, N_db)].
    /// With `normalize`, both sets are L2-normalised first so the similarity is the cosine.
    public static func search(queries: [Float], database: [Float], dimension: Int, k: Int,
                              normalize: Bool = true, chunkSize: Int = 256) throws -> [[Neighbor]] {
        let queryCount = try FeatureMatrix.validate(queries, dimension: dimension, name: "queries")
        let databaseCount = try FeatureMatrix.validate(database, dimension: dimension, name: "database")
        guard k >= 1 else { throw EvaluationError(.invalidArgument, "K must be >= 1, got \(k)") }
        guard chunkSize >= 1 else {
            throw EvaluationError(.invalidArgument, "chunk size must be >= 1, got \(chunkSize)")
        }
        let q = normalize ? FeatureMatrix.l2Normalized(queries, dimension: dimension) : queries
        let db = normalize ? FeatureMatrix.l2Normalized(database, dimension: dimension) : database
        let kept = min(k, databaseCount)
        var result = [[Neighbor]](repeating: [], count: queryCount)
        result.withUnsafeMutableBufferPointer { out in
            guard let outBase = out.baseAddress else { return }
            forEachTopK(queries: q, queryCount: queryCount, database: db, databaseCount: databaseCount,
                        dimension: dimension, k: kept, chunkSize: chunkSize) { query, sims, indices in
                // Each query's slot is written by exactly one task.
                outBase[query] = (0..<kept).map { Neighbor(index: Int(indices[$0]), similarity: sims[$0]) }
            }
        }
        return result
    }

    /// Core loop: calls `body(query, similarities[k], indices[k])` (best first) for every query,
    /// concurrently for different queries. Inputs are trusted (validated by the callers).
    /// queries: [queryCount, dimension], database: [databaseCount, dimension], 1 ≤ k ≤ databaseCount.
    static func forEachTopK(queries: [Float], queryCount: Int, database: [Float], databaseCount: Int,
                            dimension: Int, k: Int, chunkSize: Int,
                            _ body: (Int, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Int32>) -> Void) {
        let chunk = min(chunkSize, queryCount)
        // s: [chunk, N_db] similarities of one chunk of queries to the whole database.
        var similarities = [Float](repeating: 0, count: chunk * databaseCount)
        queries.withUnsafeBufferPointer { qBuffer in
            database.withUnsafeBufferPointer { dbBuffer in
                similarities.withUnsafeMutableBufferPointer { sBuffer in
                    guard let qBase = qBuffer.baseAddress, let dbBase = dbBuffer.baseAddress,
                          let sBase = sBuffer.baseAddress else { return }
                    var start = 0
                    while start < queryCount {
                        let rows = min(chunk, queryCount - start)
                        // s[rows, N_db] = Q[rows, D] · DB[N_db, D]^T
                        Gemm.sgemm(transA: false, transB: true, m: rows, n: databaseCount, k: dimension,
                                   a: qBase + start * dimension, lda: dimension,
                                   b: dbBase, ldb: dimension, c: sBase, ldc: databaseCount)
                        let chunkStart = start
                        parallelRanges(count: rows, minimumPerTask: 4) { range in
                            var heap = TopKHeap(capacity: k)
                            for row in range {
                                heap.select(sBase + row * databaseCount, count: databaseCount)
                                heap.withSorted { sims, indices in body(chunkStart + row, sims, indices) }
                            }
                        }
                        start += rows
                    }
                }
            }
        }
    }
}

/// The K largest entries of a row, kept in a min-heap whose root is the worst kept entry.
/// "Worse" means lower similarity, or equal similarity and higher index.
struct TopKHeap {
    let capacity: Int
    private var sims: [Float]
    private var indices: [Int32]

    init(capacity: Int) {
        self.capacity = capacity
        sims = [Float](repeating: 0, count: capacity)
        indices = [Int32](repeating: 0, count: capacity)
    }

    @inline(__always)
    private static func worse(_ s1: Float, _ i1: Int32, than s2: Float, _ i2: Int32) -> Bool {
        s1 < s2 || (s1 == s2 && i1 > i2)
    }

    /// Fills the heap with the `capacity` best of row[0..<count] (count ≥ capacity).
    mutating func select(_ row: UnsafePointer<Float>, count: Int) {
        let k = capacity
        sims.withUnsafeMutableBufferPointer { sBuf in
            indices.withUnsafeMutableBufferPointer { iBuf in
                guard let s = sBuf.baseAddress, let ix = iBuf.baseAddress else { return }
                for j in 0..<k {
                    s[j] = row[j]
                    ix[j] = Int32(j)
                }
                var node = k / 2 - 1
                while node >= 0 {
                    TopKHeap.siftDown(s, ix, k, node)
                    node -= 1
                }
                // Later indices are larger, so a tie with the root never replaces it.
                var rootSim = s[0]
                for j in k..<count {
                    let v = row[j]
                    if v > rootSim {
                        s[0] = v
                        ix[0] = Int32(j)
                        TopKHeap.siftDown(s, ix, k, 0)
                        rootSim = s[0]
                    }
                }
            }
        }
    }

    @inline(__always)
    private static func siftDown(_ s: UnsafeMutablePointer<Float>, _ ix: UnsafeMutablePointer<Int32>,
                                 _ n: Int, _ start: Int) {
        var node = start
        while true {
            let left = 2 * node + 1
            if left >= n { return }
            var child = left
            let right = left + 1
            if right < n && worse(s[right], ix[right], than: s[left], ix[left]) { child = right }
            if worse(s[child], ix[child], than: s[node], ix[node]) {
                s.swapAt(node, child)
                ix.swapAt(node, child)
                node = child
            } else {
                return
            }
        }
    }

    /// Sorts the kept entries best first and hands them to `body`.
    mutating func withSorted(_ body: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Int32>) -> Void) {
        let k = capacity
        sims.withUnsafeMutableBufferPointer { sBuf in
            indices.withUnsafeMutableBufferPointer { iBuf in
                guard let s = sBuf.baseAddress, let ix = iBuf.baseAddress else { return }
                // Heap sort: repeatedly move the worst (root) to the end, giving best-first order.
                var n = k
                while n > 1 {
                    n -= 1
                    s.swapAt(0, n)
                    ix.swapAt(0, n)
                    TopKHeap.siftDown(s, ix, n, 0)
                }
                body(s, ix)
            }
        }
    }
}

extension UnsafeMutablePointer {
    @inline(__always)
    fileprivate func swapAt(_ i: Int, _ j: Int) {
        let t = self[i]
        self[i] = self[j]
        self[j] = t
    }
}
