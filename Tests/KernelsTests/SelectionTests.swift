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
}
