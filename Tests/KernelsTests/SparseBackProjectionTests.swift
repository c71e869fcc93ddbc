import Testing
@testable import Kernels

@Suite struct SparseBackProjectionTests {
    /// A random bf16 bank [rows, dimension] and `batch` rows of pairs: some rows empty, some bank
    /// rows named several times by one row (as an anchor can be background, self and positive).
    struct Problem {
        var bank: [BF16Bits]
        var pairs: [[(row: Int32, weight: Float)]]
        let rows: Int, dimension: Int

        init(rows: Int, dimension: Int, batch: Int, maxPairs: Int, seed: UInt64) {
            var rng = SplitMix(seed: seed)
            self.rows = rows
            self.dimension = dimension
            bank = (0..<rows * dimension).map { _ in Gemm.bf16(rng.nextFloat()) }
            pairs = (0..<batch).map { b in
                let count = b % 5 == 2 ? 0 : Int(rng.next() % UInt64(maxPairs))
                var list = (0..<count).map { _ in (row: Int32(rng.next() % UInt64(rows)), weight: rng.nextFloat() * 0.5) }
                if let first = list.first, count > 2 { list[count - 1].row = first.row }  // a repeated bank row
                return list
            }
        }

        /// The projection's output with the given share count and path.
        func project(_ projection: SparseBackProjection, shares: Int, plain: Bool) -> [Float] {
            projection.reset(batch: pairs.count, stride: pairs.map(\.count).max() ?? 0)
            for (b, list) in pairs.enumerated() {
                let (rows, weights) = projection.reserve(row: b, count: list.count)
                for (p, pair) in list.enumerated() { rows[p] = pair.row; weights[p] = pair.weight }
            }
            var out = [Float](repeating: .nan, count: pairs.count * dimension)
            bank.withUnsafeBufferPointer { bp in
                out.withUnsafeMutableBufferPointer { op in
                    projection.project(bank: bp.baseAddress!, rows: rows, dimension: dimension, into: op.baseAddress!,
                                       shares: shares, plain: plain)
                }
            }
            return out
        }

        /// out[b][c] = Σ weight · bank[row][c] in Double, and Σ |weight · bank[row][c]| (the error scale).
        func reference() -> (sum: [Double], magnitude: [Double]) {
            var sum = [Double](repeating: 0, count: pairs.count * dimension), magnitude = sum
            for (b, list) in pairs.enumerated() {
                for pair in list {
                    for c in 0..<dimension {
                        let t = Double(pair.weight) * Double(Gemm.float(bf16: bank[Int(pair.row) * dimension + c]))
                        sum[b * dimension + c] += t
                        magnitude[b * dimension + c] += abs(t)
                    }
                }
            }
            return (sum, magnitude)
        }
    }

    /// The AVX-512 kernel and the plain loop give the same bits, for any number of shares of the
    /// counting sort, on dimensions around the 16-column block (tails masked), and both match a
    /// Double sum to fp32 rounding.
    @Test(arguments: [1, 15, 16, 20, 128])
    func pathsAgreeBitForBitAndMatchADoubleSum(dimension: Int) {
        let problem = Problem(rows: 257, dimension: dimension, batch: 11, maxPairs: 300, seed: UInt64(dimension))
        let projection = SparseBackProjection()
        let plain = problem.project(projection, shares: 1, plain: true)
        for shares in [1, 2, 3, 11, 16] {
            for usePlain in [true, false] where usePlain || SparseBackProjection.accumulatesWithAVX512 {
                let got = problem.project(projection, shares: shares, plain: usePlain)
                #expect(got.map(\.bitPattern) == plain.map(\.bitPattern), "shares \(shares), plain \(usePlain)")
            }
        }
        let (sum, magnitude) = problem.reference()
        for i in plain.indices {
            #expect(abs(Double(plain[i]) - sum[i]) <= 1e-6 * magnitude[i] + 1e-30, "entry \(i)")
        }
        // Rows without pairs are exactly zero.
        for (b, list) in problem.pairs.enumerated() where list.isEmpty {
            #expect(plain[b * dimension..<(b + 1) * dimension].allSatisfy { $0 == 0 })
        }
    }

    /// One instance reused across steps of different sizes gives what a fresh one gives.
    @Test func reuseAcrossSizesEqualsAFreshInstance() {
        let projection = SparseBackProjection()
        for (i, (batch, maxPairs)) in [(4, 50), (9, 400), (2, 10), (9, 400)].enumerated() {
            let problem = Problem(rows: 100, dimension: 24, batch: batch, maxPairs: maxPairs, seed: UInt64(40 + i))
            let reused = problem.project(projection, shares: 2, plain: !SparseBackProjection.accumulatesWithAVX512)
            let fresh = problem.project(SparseBackProjection(), shares: 2, plain: true)
            #expect(reused.map(\.bitPattern) == fresh.map(\.bitPattern), "step \(i)")
        }
    }
}
