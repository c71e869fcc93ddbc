import Testing
@testable import Kernels

@Suite struct SelectionTests {
    /// The order Selection promises: value descending, index ascending on ties, NaN last.
    static func fullSortTop(_ v: [Float], _ k: Int) -> [Int32] {
        let order = v.indices.sorted { a, b in
            v.withUnsafeBufferPointer { Selection.ranksBefore($0.baseAddress!, Int32(a), Int32(b)) }
        }
        return order.prefix(k).map { Int32($0) }
    }

    static func run(_ v: [Float], k: Int, prefix: Int) -> [Int32] {
        var out = [Int32](repeating: -1, count: k)
        v.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer { o in
                Selection.topK(p.baseAddress!, count: v.count, k: k, sortedPrefix: prefix,
                               indices: o.baseAddress!)
            }
        }
        return out
    }

    /// Random rows of several sizes: the selected set equals the full sort's top k, and the sorted
    /// prefix equals the full sort's first entries in order.
    @Test(arguments: [(1, 1), (10, 3), (1000, 1), (1000, 999), (60_000, 4096), (5000, 5000)])
    func matchesFullSort(n: Int, k: Int) {
        var rng = SplitMix(seed: UInt64(n * 31 + k))
        let v = (0..<n).map { _ in rng.nextFloat() }
        let prefix = min(5, k)
        let got = Self.run(v, k: k, prefix: prefix)
        let want = Self.fullSortTop(v, k)
        #expect(Set(got) == Set(want))
        #expect(Array(got.prefix(prefix)) == Array(want.prefix(prefix)))
        let fullySorted = Self.run(v, k: k, prefix: k)
        #expect(fullySorted == want)
    }

    /// Heavy ties (few distinct values), a constant row, infinities and NaN: ties resolve to lower
    /// indices and NaN never beats a number.
    @Test func tiesInfinitiesAndNaN() {
        var rng = SplitMix(seed: 7)
        let ties = (0..<3000).map { _ in Float(Int(rng.nextFloat() * 4)) }
        #expect(Self.run(ties, k: 700, prefix: 700) == Self.fullSortTop(ties, 700))
        let constant = [Float](repeating: 2, count: 100)
        #expect(Self.run(constant, k: 10, prefix: 10) == (0..<10).map { Int32($0) })
        var odd = (0..<200).map { Float($0) }
        odd[5] = .nan; odd[17] = .infinity; odd[40] = -.infinity
        #expect(Self.run(odd, k: 199, prefix: 199) == Self.fullSortTop(odd, 199))
        #expect(!Self.run(odd, k: 199, prefix: 0).contains(5))
        // Large rows take the sampled-threshold path: ties and NaN there too.
        let bigTies = (0..<20_000).map { _ in Float(Int(rng.nextFloat() * 50)) }
        #expect(Self.run(bigTies, k: 3000, prefix: 3000) == Self.fullSortTop(bigTies, 3000))
        var bigNaN = (0..<20_000).map { _ in rng.nextFloat() }
        for i in stride(from: 0, to: 20_000, by: 3) { bigNaN[i] = .nan }
        #expect(Self.run(bigNaN, k: 4000, prefix: 4000) == Self.fullSortTop(bigNaN, 4000))
        var mostlyNaN = [Float](repeating: .nan, count: 50)
        mostlyNaN[3] = 1; mostlyNaN[30] = 0.5
        #expect(Self.run(mostlyNaN, k: 3, prefix: 3) == [3, 30, 0])
    }

    static func runReference(_ v: [Float], k: Int, prefix: Int) -> [Int32] {
        var out = [Int32](repeating: -1, count: k)
        v.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer { o in
                Selection.topKReference(p.baseAddress!, count: v.count, k: k, sortedPrefix: prefix, indices: o.baseAddress!)
            }
        }
        return out
    }

    /// Rows that stress the sampled-threshold path (n ≥ 8 192, so it is tried for k ≤ n/4): the fast
    /// `topK` gives the plain reference's indices in the reference's order (so sums over the
    /// background are bit for bit the same), and the full sort's set and prefix.
    static func adversarialRows(n: Int) -> [(String, [Float])] {
        var rng = SplitMix(seed: 99)
        var rows: [(String, [Float])] = []
        rows.append(("uniform", (0..<n).map { _ in rng.nextFloat() }))
        rows.append(("gaussian-like", (0..<n).map { _ in (rng.nextFloat() + rng.nextFloat() + rng.nextFloat()) * 0.3 }))
        rows.append(("all equal", [Float](repeating: 0.25, count: n)))
        rows.append(("two values", (0..<n).map { _ in rng.nextFloat() > 0.9 ? 1 : 0 }))
        rows.append(("few distinct", (0..<n).map { _ in Float(Int(rng.nextFloat() * 5)) }))
        rows.append(("many ties near the top", (0..<n).map { i in i % 7 == 0 ? 0.5 : rng.nextFloat() * 0.5 }))
        rows.append(("ascending", (0..<n).map { Float($0) }))
        rows.append(("descending", (0..<n).map { Float(n - $0) }))
        rows.append(("sample points high", (0..<n).map { i in i % (n / 2048) == 0 ? 1 : rng.nextFloat() * 0.1 }))
        rows.append(("sample points low", (0..<n).map { i in i % (n / 2048) == 0 ? -1 : rng.nextFloat() }))
        var nan = (0..<n).map { _ in rng.nextFloat() }
        for i in stride(from: 0, to: n, by: 5) { nan[i] = .nan }
        rows.append(("NaN every fifth", nan))
        var inf = (0..<n).map { _ in rng.nextFloat() }
        for i in stride(from: 3, to: n, by: 11) { inf[i] = .infinity }
        for i in stride(from: 4, to: n, by: 13) { inf[i] = -.infinity }
        rows.append(("infinities", inf))
        rows.append(("huge range", (0..<n).map { i in i % 2 == 0 ? 3e38 * rng.nextFloat() : -3e38 * rng.nextFloat() }))
        rows.append(("subnormal range", (0..<n).map { _ in Float.leastNonzeroMagnitude * Float(Int(rng.nextFloat() * 8)) }))
        rows.append(("negative zeros", (0..<n).map { i in i % 2 == 0 ? -0.0 : 0.0 }))
        return rows
    }

    @Test func fastPathEqualsReference() {
        let n = 10_000
        for (name, v) in Self.adversarialRows(n: n) {
            let order = Self.fullSortTop(v, n)   // once per row; every k below is a prefix of it
            for k in [1, 2, 5, 100, 2048, 2499, 2500, 2501, n - 1, n] {
                for prefix in Set([0, 1, min(5, k), k]) {
                    let got = Self.run(v, k: k, prefix: prefix)
                    let reference = Self.runReference(v, k: k, prefix: prefix)
                    #expect(got == reference, "\(name), k \(k), prefix \(prefix)")
                }
                let got = Self.run(v, k: k, prefix: min(5, k))
                #expect(Set(got) == Set(order.prefix(k)), "\(name), k \(k)")
                #expect(Array(got.prefix(min(5, k))) == Array(order.prefix(min(5, k))), "\(name), k \(k)")
            }
        }
    }

    /// The sampled path at the loss's scale, on many random rows (both outcomes of the
    /// threshold test occur: the cut is set from a sample).
    @Test func fastPathEqualsReferenceOnManyRows() {
        var rng = SplitMix(seed: 5)
        for trial in 0..<24 {
            let n = 8192 + trial * 1237
            let spread = Float(trial % 4 + 1) * 0.2
            let v = (0..<n).map { _ in (rng.nextFloat() + rng.nextFloat()) * spread }
            let k = [1, 17, 512, n / 4][trial % 4]
            #expect(Self.run(v, k: k, prefix: 5 <= k ? 5 : k) == Self.runReference(v, k: k, prefix: 5 <= k ? 5 : k), "trial \(trial)")
        }
    }

    /// The histogram order statistic equals quickselect's on rows with ties, infinities and
    /// degenerate ranges, for every rank tried.
    @Test func histogramOrderStatisticEqualsQuickselect() {
        var rng = SplitMix(seed: 11)
        let rows: [[Float]] = [
            (0..<3000).map { _ in rng.nextFloat() },
            (0..<3000).map { _ in Float(Int(rng.nextFloat() * 3)) },
            [Float](repeating: -2, count: 100),
            (0..<500).map { i in i % 3 == 0 ? -.infinity : rng.nextFloat() },
            (0..<500).map { _ in 3e38 * rng.nextFloat() },
            [1],
        ]
        for v in rows {
            for nth in Set([0, 1, v.count / 2, v.count - 1].filter { $0 < v.count }) {
                var copy = v
                let want = copy.withUnsafeMutableBufferPointer { Selection.kthLargest($0.baseAddress!, v.count, nth) }
                var scratch = [Float](repeating: 0, count: v.count)
                let got = v.withUnsafeBufferPointer { p in
                    scratch.withUnsafeMutableBufferPointer { Selection.kthLargestByHistogram(p.baseAddress!, v.count, nth, scratch: $0.baseAddress!) }
                }
                #expect(got == want, "count \(v.count), nth \(nth)")
            }
        }
    }

    /// All rows at once on the compute threads: the same as row by row.
    @Test func rowsInParallelEqualOneByOne() {
        var rng = SplitMix(seed: 3)
        let rows = 9, n = 10_000, k = 700
        let v = (0..<rows * n).map { _ in rng.nextFloat() }
        var all = [Int32](repeating: -1, count: rows * k)
        v.withUnsafeBufferPointer { p in
            all.withUnsafeMutableBufferPointer { o in
                Selection.topKRows(p.baseAddress!, rows: rows, count: n, k: k, sortedPrefix: 5, indices: o.baseAddress!)
            }
        }
        for r in 0..<rows {
            #expect(Array(all[r * k..<(r + 1) * k]) == Self.run(Array(v[r * n..<(r + 1) * n]), k: k, prefix: 5))
        }
    }

    /// Rows for the collecting pass: lengths around the 16-lane step, with NaN, signed zeros,
    /// infinities and ties at the threshold; thresholds include NaN (nothing qualifies).
    static func collectCases() -> [(values: [Float], threshold: Float)] {
        var rng = SplitMix(seed: 17)
        let specials: [Float] = [.nan, -0.0, 0.0, .infinity, -.infinity, 0.5, 0.5]
        var cases: [(values: [Float], threshold: Float)] = []
        for n in [0, 1, 15, 16, 17, 31, 33, 1000, 55_000] {
            let v = (0..<n).map { i in i % 7 == 3 ? specials[i % specials.count] : rng.nextFloat() - 0.25 }
            for threshold: Float in [-.infinity, -0.0, 0.5, 0.9, .infinity, .nan] { cases.append((v, threshold)) }
        }
        return cases
    }

    /// Runs `collectAtLeast` (plain: `collectAtLeastPlain`) on `v`: the indices and the bits of
    /// the collected values.
    static func collect(_ v: [Float], _ threshold: Float, plain: Bool) -> (indices: [Int32], values: [UInt32]) {
        let n = v.count
        var idx = [Int32](repeating: -1, count: n + 16), got = [Float](repeating: 0, count: n + 16)
        let c = v.withUnsafeBufferPointer { p in
            idx.withUnsafeMutableBufferPointer { i in
                got.withUnsafeMutableBufferPointer { g in
                    let base = p.baseAddress ?? UnsafePointer(g.baseAddress!)
                    return plain
                        ? Selection.collectAtLeastPlain(base, n, threshold, indices: i.baseAddress!, collected: g.baseAddress!)
                        : Selection.collectAtLeast(base, n, threshold, indices: i.baseAddress!, collected: g.baseAddress!)
                }
            }
        }
        return (Array(idx.prefix(c)), got.prefix(c).map(\.bitPattern))
    }

    /// The plain collecting loop keeps exactly the positions with v ≥ threshold, in order.
    @Test func plainCollectingPassKeepsThePositionsAtLeastTheThreshold() {
        for (v, threshold) in Self.collectCases() {
            let plain = Self.collect(v, threshold, plain: true)
            let want = v.indices.filter { v[$0] >= threshold }
            #expect(plain.indices == want.map { Int32($0) }, "n \(v.count), threshold \(threshold)")
            #expect(plain.values == want.map { v[$0].bitPattern }, "n \(v.count), threshold \(threshold)")
        }
    }

    /// The AVX-512 collecting pass equals its plain loop, bit for bit. Without AVX-512
    /// `collectAtLeast` is the plain loop, so the comparison would prove nothing: skipped, and
    /// reported as skipped.
    @Test(.enabled(if: Selection.collectsWithAVX512, "this CPU has no AVX-512: collectAtLeast runs the plain loop"))
    func avx512CollectingPassEqualsPlainLoop() {
        for (v, threshold) in Self.collectCases() {
            let fast = Self.collect(v, threshold, plain: false), plain = Self.collect(v, threshold, plain: true)
            #expect(fast.indices == plain.indices && fast.values == plain.values, "n \(v.count), threshold \(threshold)")
        }
    }
}
