import Testing
@testable import Kernels

@Suite struct GemmTests {
    /// sgemm against a plain triple loop, with and without transposes.
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func matchesReference(transA: Bool, transB: Bool) {
        let m = 5, n = 7, k = 3
        var rng = SplitMix(seed: 1)
        let a = (0..<m * k).map { _ in rng.nextFloat() }
        let b = (0..<k * n).map { _ in rng.nextFloat() }
        var c = [Float](repeating: 0, count: m * n)
        Gemm.sgemm(transA: transA, transB: transB, m: m, n: n, k: k,
                   a: a, lda: transA ? m : k, b: b, ldb: transB ? k : n, c: &c, ldc: n)
        for i in 0..<m { for j in 0..<n {
            var s: Float = 0
            for p in 0..<k {
                let av = transA ? a[p * m + i] : a[i * k + p]
                let bv = transB ? b[j * k + p] : b[p * n + j]
                s += av * bv
            }
            #expect(abs(c[i * n + j] - s) < 1e-5)
        } }
    }
}

/// A tiny deterministic generator for test data.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
    mutating func nextFloat() -> Float { Float(next() >> 40) / Float(1 << 24) * 2 - 1 }
}
