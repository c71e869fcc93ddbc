import Foundation
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

    /// bf16 rounding: nearest, ties to even, infinities kept, NaN stays NaN; back-conversion exact.
    @Test func bf16Rounding() {
        #expect(Gemm.bf16(1) == 0x3F80)
        #expect(Gemm.bf16(Float(bitPattern: 0x3F80_8000)) == 0x3F80)   // tie, even stays
        #expect(Gemm.bf16(Float(bitPattern: 0x3F81_8000)) == 0x3F82)   // tie, odd rounds up
        #expect(Gemm.bf16(Float(bitPattern: 0x3F80_8001)) == 0x3F81)
        #expect(Gemm.bf16(.infinity) == 0x7F80)
        #expect(Gemm.float(bf16: Gemm.bf16(.nan)).isNaN)
        #expect(Gemm.float(bf16: Gemm.bf16(-2.5)) == -2.5)
        var rng = SplitMix(seed: 4)
        for _ in 0..<1000 {
            let x = rng.nextFloat()
            #expect(abs(Gemm.float(bf16: Gemm.bf16(x)) - x) <= abs(x) / 256)
        }
    }

    /// The bf16 matmul against a plain loop over the same bf16-rounded inputs (so only the
    /// fp32 summation order differs), B plain and transposed, at a bank-like shape.
    @Test(arguments: [false, true])
    func bf16gemmMatchesReference(transB: Bool) {
        let m = 6, n = 300, k = 40
        var rng = SplitMix(seed: transB ? 2 : 3)
        let a = (0..<m * k).map { _ in Gemm.bf16(rng.nextFloat()) }
        let b = (0..<k * n).map { _ in Gemm.bf16(rng.nextFloat()) }
        var c = [Float](repeating: .nan, count: m * n)
        Gemm.bf16gemm(transB: transB, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: transB ? k : n, c: &c, ldc: n)
        for i in 0..<m { for j in 0..<n {
            var s = 0.0, bound = 0.0
            for p in 0..<k {
                let av = Double(Gemm.float(bf16: a[i * k + p]))
                let bv = Double(Gemm.float(bf16: transB ? b[j * k + p] : b[p * n + j]))
                s += av * bv
                bound += abs(av * bv)
            }
            #expect(abs(Double(c[i * n + j]) - s) <= 1e-6 * bound + 1e-7, "\(i), \(j)")
        } }
    }

    /// The matmul with exp fused into its output against a plain loop: e = exp((Σ a·b − shift)·scale)
    /// over the same bf16 inputs in Double, rounded to bf16. Allowed: the fp32 sum's rounding
    /// (times scale, in the exponent) and oneDNN's exp, then at most one bf16 step apart; the
    /// last column's padding untouched (ldc > n).
    @Test func bf16gemmExponentialsMatchReference() throws {
        try #require(Gemm.bf16gemmExponentialsAvailable)
        let m = 5, n = 301, k = 48, ldc = n + 3
        var rng = SplitMix(seed: 21)
        let a = (0..<m * k).map { _ in Gemm.bf16(rng.nextFloat() * 0.3) }
        let b = (0..<n * k).map { _ in Gemm.bf16(rng.nextFloat() * 0.3) }
        for (shift, scale): (Float, Float) in [(1, 1 / 0.07), (0, 1), (0.5, 10)] {
            var e = [BF16Bits](repeating: 0xFFFF, count: m * ldc)
            Gemm.bf16gemmExponentials(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: k, shift: shift, scale: scale, c: &e, ldc: ldc)
            for i in 0..<m {
                for j in 0..<n {
                    var z = 0.0
                    for p in 0..<k { z += Double(Gemm.float(bf16: a[i * k + p])) * Double(Gemm.float(bf16: b[j * k + p])) }
                    let exact = Foundation.exp((z - Double(shift)) * Double(scale))
                    let got = Double(Gemm.float(bf16: e[i * ldc + j]))
                    #expect(abs(got - exact) <= (1.0 / 128 + 1e-5 * Double(scale)) * exact, "\(i), \(j), scale \(scale)")
                }
                #expect(e[(i * ldc + n)..<(i * ldc + ldc)].allSatisfy { $0 == 0xFFFF }, "wrote past row \(i)")
            }
        }
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
