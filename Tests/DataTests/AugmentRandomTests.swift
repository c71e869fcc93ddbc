import Randomness
import Testing
@testable import Data

@Suite("SeededGenerator")
struct AugmentRandomTests {
    @Test("a seed reproduces its stream; another seed or stream differs")
    func reproducible() {
        var a = SeededGenerator(seed: 42), b = SeededGenerator(seed: 42), c = SeededGenerator(seed: 43)
        let sa = (0..<8).map { _ in a.next() }, sb = (0..<8).map { _ in b.next() }, sc = (0..<8).map { _ in c.next() }
        #expect(sa == sb)
        #expect(sa != sc)
        var d = SeededGenerator(seed: 42, streams: [1, 2]), e = SeededGenerator(seed: 42, streams: [2, 1])
        #expect(d.next() != e.next())
        var f = SeededGenerator(seed: 42).derived(7), g = SeededGenerator(seed: 42).derived(7)
        #expect(f.next() == g.next())
    }

    @Test("uniform draws stay in range with mean and variance of U[a, b)")
    func uniformMoments() {
        var rng = SeededGenerator(seed: 1)
        let n = 100_000
        var sum = 0.0, sumSq = 0.0, outside = 0
        for _ in 0..<n {
            let u = rng.uniform(-2, 6)
            if !(u >= -2 && u < 6) { outside += 1 }
            sum += u; sumSq += u * u
        }
        #expect(outside == 0)
        let mean = sum / Double(n), variance = sumSq / Double(n) - mean * mean
        #expect(abs(mean - 2) < 0.05)
        #expect(abs(variance - 64.0 / 12.0) < 0.1)
    }

    @Test("int(below:) is uniform over its range")
    func integers() {
        var rng = SeededGenerator(seed: 2)
        var counts = [Int](repeating: 0, count: 7)
        for _ in 0..<70_000 { counts[rng.int(below: 7)] += 1 }
        for c in counts { #expect(abs(c - 10_000) < 500) }
        let values = Set((0..<1000).map { _ in rng.int(in: 3..<5) })
        #expect(values == [3, 4])
    }

    @Test("permutation is a permutation and every order of 4 appears")
    func permutations() {
        var rng = SeededGenerator(seed: 3)
        #expect(rng.permutation(100).sorted() == Array(0..<100))
        var seen = Set<[Int]>()
        for _ in 0..<2000 { seen.insert(rng.permutation(4)) }
        #expect(seen.count == 24)
    }

    @Test("normal samples have mean 0 and variance 1")
    func normal() {
        var rng = SeededGenerator(seed: 4)
        let xs = (0..<50_000).map { _ in rng.normal() }
        let mean = xs.reduce(0, +) / Double(xs.count)
        let variance = xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(xs.count)
        #expect(abs(mean) < 0.02)
        #expect(abs(variance - 1) < 0.03)
    }
}
