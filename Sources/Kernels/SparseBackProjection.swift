import CKernels

/// dv = g·bank for a g: [B, N] with only a few thousand non-zeros per row (InvP's dL/dz: the
/// M + 1 + P selected entries of N, issue 14), from a bf16 bank: [N, D], in bank order.
///
/// Each row b of g is given as (bank row, weight) pairs. A counting sort groups the pairs by bank
/// row, then the bank streams once in order and each row is added to the anchors that named it.
/// This replaces both a dense [B, N]·[N, D] product (1.8 GFLOP of mostly zeros, plus a [B, N]
/// operand to clear every step) and a gather of the named rows per anchor (bound by memory
/// latency: 2026-12-05 in docs/benchmarks.md). Sums are fp32, one fused multiply-add per pair, in
/// bank order, then in batch order within a bank row: the result does not depend on the thread
/// count. Reuses its buffers between steps; one instance per caller (not thread-safe).
public final class SparseBackProjection {
    /// B, the rows of the current `reset`.
    public private(set) var batch = 0
    /// The most pairs a row may hold (the room per row in `pairRows` and `pairWeights`).
    public private(set) var stride = 0
    /// [B, stride]: the bank row of each pair; row b's pairs come first in its slice.
    private var pairRows = UnsafeMutablePointer<Int32>.allocate(capacity: 0)
    /// [B, stride]: the weight of each pair.
    private var pairWeights = UnsafeMutablePointer<Float>.allocate(capacity: 0)
    /// [B]: how many pairs each row holds.
    private var pairCounts = UnsafeMutablePointer<Int32>.allocate(capacity: 0)
    /// Capacity of the two pair buffers, in pairs, and of `pairCounts`, in rows.
    private var pairCapacity = 0, rowCapacity = 0
    /// [shares, N]: pairs per bank row in each share of the batch, then each share's next slot.
    private var cursors: [Int32] = []
    /// [N + 1]: bank row j's pairs are start[j] ..< start[j + 1] of the sorted pairs.
    private var start: [Int32] = []
    /// The sorted pairs: their anchors (rows of the batch) and weights.
    private var sortedAnchors: [Int32] = []
    private var sortedWeights: [Float] = []
    /// The sums before they are laid out as [B, D]: a region per range of column blocks (`project`).
    private var partial: [Float] = []

    /// An empty projection; `reset` sizes it.
    public init() {}

    deinit {
        pairRows.deallocate()
        pairWeights.deallocate()
        pairCounts.deallocate()
    }

    /// Makes room for `batch` rows of up to `stride` pairs each and empties every row.
    public func reset(batch: Int, stride: Int) {
        precondition(batch >= 0 && stride >= 0, "SparseBackProjection.reset: negative size")
        if batch * stride > pairCapacity {
            pairRows.deallocate(); pairWeights.deallocate()
            pairCapacity = batch * stride
            pairRows = .allocate(capacity: pairCapacity)
            pairWeights = .allocate(capacity: pairCapacity)
        }
        if batch > rowCapacity {
            pairCounts.deallocate()
            rowCapacity = batch
            pairCounts = .allocate(capacity: batch)
        }
        self.batch = batch
        self.stride = stride
        pairCounts.initialize(repeating: 0, count: batch)
    }

    /// Sets row `row` to hold `count` pairs (at most `stride`) and returns where they go: the
    /// caller writes all `count` bank rows and weights. Calls for different rows may run on
    /// different threads at once. (One call per row rather than one per pair: every access to a
    /// class's stored `var` is checked for exclusivity at run time, too slow per pair.)
    public func reserve(row: Int, count: Int) -> (bankRows: UnsafeMutablePointer<Int32>, weights: UnsafeMutablePointer<Float>) {
        precondition(row >= 0 && row < batch && count >= 0 && count <= stride,
                     "SparseBackProjection: row \(row) of \(batch) with \(count) pairs (room for \(stride))")
        pairCounts[row] = Int32(count)
        return (pairRows + row * stride, pairWeights + row * stride)
    }

    /// out[b] = Σ weight · bank[bank row] over row b's pairs, for a bf16 bank: [rows, dimension];
    /// out: [batch, dimension] is overwritten. Every pair's bank row must be in 0..<rows.
    public func project(bank: UnsafePointer<BF16Bits>, rows: Int, dimension: Int, into out: UnsafeMutablePointer<Float>) {
        project(bank: bank, rows: rows, dimension: dimension, into: out,
                shares: max(1, min(ComputeThreads.count, batch)), plain: !Self.accumulatesWithAVX512)
    }

    /// Whether `project` adds the rows with AVX-512 (decided once per process from CPUID).
    static let accumulatesWithAVX512 = ckernels_has_avx512f() == 1

    /// `project` with the batch sorted in `shares` shares and the plain loop or the AVX-512
    /// kernel (the tests compare both choices: the result must not change).
    func project(bank: UnsafePointer<BF16Bits>, rows: Int, dimension: Int, into out: UnsafeMutablePointer<Float>,
                 shares: Int, plain: Bool) {
        out.update(repeating: 0, count: batch * dimension)
        guard rows > 0, dimension > 0, sortByBankRow(rows: rows, shares: shares) > 0 else { return }
        // Threads take disjoint ranges of 16-column blocks, each streaming the bank in order. The
        // range [lo, hi) sums into its own region of `partial`, at 2·lo·B·16: [B, 16·(hi − lo) + 16],
        // one spare 64-byte line per anchor (see the C kernel), then copies its columns to out.
        let batch = batch, blocks = (dimension + 15) / 16
        if partial.count < 2 * blocks * batch * 16 { partial = [Float](repeating: 0, count: 2 * blocks * batch * 16) }
        start.withUnsafeBufferPointer { s in
        sortedAnchors.withUnsafeBufferPointer { a in
        sortedWeights.withUnsafeBufferPointer { w in
        partial.withUnsafeMutableBufferPointer { pp in
            let sums = pp.baseAddress!
            parallelRanges(count: blocks) { range in
                let stride = 16 * range.count + 16
                let region = sums + 2 * range.lowerBound * batch * 16
                region.update(repeating: 0, count: batch * stride)
                if plain {
                    Self.accumulatePlain(bank: bank, rows: rows, dimension: dimension, blocks: range, start: s.baseAddress!,
                                         anchors: a.baseAddress!, weights: w.baseAddress!, anchorStride: stride, into: region)
                } else {
                    ckernels_accumulate_bf16_rows_avx512(bank, rows, dimension, range.lowerBound, range.upperBound, s.baseAddress!,
                                                         a.baseAddress!, w.baseAddress!, stride, region)
                }
                let c0 = range.lowerBound * 16, c1 = min(range.upperBound * 16, dimension)
                for b in 0..<batch {
                    for c in c0..<c1 { out[b * dimension + c] = region[b * stride + c - c0] }
                }
            }
        }}}}
    }

    /// The plain loop of the AVX-512 kernel (its tested reference, and the path elsewhere), into
    /// the same layout (anchor a's columns of `blocks` at partial[a · anchorStride ...]): for each
    /// bank row j, each pair in bucket j and each column, one fused multiply-add.
    static func accumulatePlain(bank: UnsafePointer<BF16Bits>, rows: Int, dimension: Int, blocks: Range<Int>,
                                start: UnsafePointer<Int32>, anchors: UnsafePointer<Int32>, weights: UnsafePointer<Float>,
                                anchorStride: Int, into partial: UnsafeMutablePointer<Float>) {
        let c0 = blocks.lowerBound * 16, c1 = min(blocks.upperBound * 16, dimension)
        for j in 0..<rows {
            let row = bank + j * dimension
            for q in Int(start[j])..<Int(start[j + 1]) {
                let o = partial + Int(anchors[q]) * anchorStride, w = weights[q]
                for c in c0..<c1 { o[c - c0] = o[c - c0].addingProduct(w, Gemm.float(bf16: row[c])) }
            }
        }
    }

    /// Fills `start`, `sortedAnchors` and `sortedWeights`: the pairs grouped by bank row, in batch
    /// order within a group (a stable counting sort). The batch is cut into shares counted and
    /// placed in parallel; share s's pairs go after those of shares before it in every group,
    /// so the order is the same for any number of shares. Returns the number of pairs.
    private func sortByBankRow(rows n: Int, shares: Int) -> Int {
        precondition(shares >= 1, "SparseBackProjection: shares must be ≥ 1")
        if cursors.count < shares * n { cursors = [Int32](repeating: 0, count: shares * n) }
        if start.count < n + 1 { start = [Int32](repeating: 0, count: n + 1) }
        var total = 0
        for b in 0..<batch { total += Int(pairCounts[b]) }
        if total == 0 { return 0 }
        if sortedAnchors.count < total {
            sortedAnchors = [Int32](repeating: 0, count: total)
            sortedWeights = [Float](repeating: 0, count: total)
        }
        let batch = batch, stride = stride, pairRows = pairRows, pairWeights = pairWeights, pairCounts = pairCounts
        func share(_ s: Int) -> Range<Int> { batch * s / shares..<batch * (s + 1) / shares }
        cursors.withUnsafeMutableBufferPointer { cp in
            let cursor = cp.baseAddress!
            parallelRanges(count: shares) { range in
                for s in range {
                    let count = cursor + s * n
                    count.update(repeating: 0, count: n)
                    for b in share(s) {
                        for p in 0..<Int(pairCounts[b]) {
                            let j = Int(pairRows[b * stride + p])
                            precondition(j >= 0 && j < n, "SparseBackProjection: bank row \(j) outside 0..<\(n)")
                            count[j] &+= 1
                        }
                    }
                }
            }
            // Each group's first slot per share (serial: N × shares additions).
            start.withUnsafeMutableBufferPointer { st in
                var next: Int32 = 0
                for j in 0..<n {
                    st[j] = next
                    for s in 0..<shares {
                        let c = cursor[s * n + j]
                        cursor[s * n + j] = next
                        next &+= c
                    }
                }
                st[n] = next
            }
            sortedAnchors.withUnsafeMutableBufferPointer { ap in
            sortedWeights.withUnsafeMutableBufferPointer { wp in
                let anchors = ap.baseAddress!, weights = wp.baseAddress!
                parallelRanges(count: shares) { range in
                    for s in range {
                        let slot = cursor + s * n
                        for b in share(s) {
                            for p in 0..<Int(pairCounts[b]) {
                                let j = Int(pairRows[b * stride + p])
                                let at = Int(slot[j])
                                anchors[at] = Int32(b)
                                weights[at] = pairWeights[b * stride + p]
                                slot[j] = Int32(at + 1)
                            }
                        }
                    }
                }
            }}
        }
        return total
    }
}
