import Foundation
import Testing
@testable import Kernels

/// `VectorMath` against plain scalar references: Double-precision exp, a scalar maximum, and a
/// scalar exp-sum-round loop.
@Suite struct VectorMathTests {
    /// The reference of `exponentialsToBF16`: each e_j in Double, rounded to fp32 then bf16.
    static func exponentialsReference(_ row: [Float], shift: Float, scale: Float) -> (bits: [BF16Bits], sum: Double) {
        let e = row.map { Foundation.exp(Double(($0 - shift) * scale)) }
        return (e.map { Gemm.bf16(Float($0)) }, e.reduce(0, +))
    }

    /// e^x within 1 ulp (relative 1.2e-7) of the exact value over the whole finite range, on a
    /// dense grid and at the ends, with every lane computed independently.
    @Test func expIsWithinOneUlp() {
        var worst = 0.0
        var x: Float = VectorMath.expLow
        while x + Float(VectorMath.lanes) * 1e-3 <= VectorMath.expHigh {
            var lanes = VectorMath.Vector()
            for l in 0..<VectorMath.lanes { lanes[l] = x + Float(l) * 1e-3 }
            let e = VectorMath.exp(lanes)
            for l in 0..<VectorMath.lanes {
                let exact = Foundation.exp(Double(lanes[l]))
                worst = max(worst, abs(Double(e[l]) - exact) / exact)
            }
            x += 0.0173
        }
        #expect(worst <= 1.2e-7, "worst relative error \(worst)")
        for v: Float in [0, -0.0, 1, -1, 1e-30, -1e-30, 0.5 * Float(M_LN2), -0.5 * Float(M_LN2)] {
            let exact = Foundation.exp(Double(v))
            #expect(abs(Double(VectorMath.exp(v)) - exact) <= 1.2e-7 * exact, "x = \(v)")
        }
    }

    /// Outside the finite range the input is clamped: huge arguments give the largest finite
    /// values' neighbourhood, not NaN or a wrapped exponent; very negative ones a tiny normal.
    @Test func expClampsOutOfRangeArguments() {
        for v: Float in [100, 1e6, .greatestFiniteMagnitude] {
            let e = VectorMath.exp(v)
            #expect(e.isFinite && e > 1e38, "exp(\(v)) = \(e)")
        }
        for v: Float in [-100, -1e6, -.greatestFiniteMagnitude] {
            let e = VectorMath.exp(v)
            #expect(e >= 0 && e < 1.2e-38, "exp(\(v)) = \(e)")
        }
    }

    /// The maximum of rows of every length around the vector width (tails), with the maximum at
    /// the first, last and a middle position, negative rows, ties and infinities.
    @Test func maximumMatchesAScalarLoop() {
        var rng = SplitMix(seed: 7)
        for n in [1, 2, 15, 16, 17, 31, 32, 33, 100, 1024, 1025, 55_001] {
            for case_ in 0..<5 {
                var row = (0..<n).map { _ in rng.nextFloat() * 2 - 3 }
                switch case_ {
                case 1: row[0] = 5
                case 2: row[n - 1] = 5
                case 3: row[n / 2] = .infinity
                case 4: row = [Float](repeating: -.infinity, count: n)
                default: break
                }
                let got = row.withUnsafeBufferPointer { VectorMath.maximum($0.baseAddress!, count: n) }
                #expect(got == row.max()!, "n \(n), case \(case_)")
            }
        }
    }

    /// Exponentials rounded to bf16 and their sum, against the Double reference: every bf16 value
    /// the reference's or its neighbour (the fp32 e^x may sit on the other side of a rounding
    /// boundary), the sum to 1e-6 relative; lengths with tails and across the 1 024-value blocks.
    @Test func exponentialsToBF16MatchTheReference() {
        var rng = SplitMix(seed: 11)
        for n in [1, 16, 17, 1023, 1024, 1025, 3000, 55_000] {
            for scale: Float in [1 / 0.07, 1 / 0.2, 1] {
                let row = (0..<n).map { _ in rng.nextFloat() * 2 - 1 }
                let shift = row.max()!
                var out = [BF16Bits](repeating: 0xFFFF, count: n + 3)
                let sum = row.withUnsafeBufferPointer { r in
                    out.withUnsafeMutableBufferPointer { VectorMath.exponentialsToBF16(r.baseAddress!, count: n, shift: shift, scale: scale, into: $0.baseAddress!) }
                }
                let reference = Self.exponentialsReference(row, shift: shift, scale: scale)
                #expect(abs(sum - reference.sum) <= 1e-6 * reference.sum, "n \(n), scale \(scale)")
                let far = zip(out.prefix(n), reference.bits).filter { abs(Int($0) - Int($1)) > 1 }
                #expect(far.isEmpty, "n \(n), scale \(scale): \(far.prefix(3))")
                #expect(out.suffix(3).allSatisfy { $0 == 0xFFFF }, "wrote past the row")
            }
        }
    }

    /// `roundToBF16` against `Gemm.bf16` (round to nearest, ties to even; NaN kept quiet), bit for
    /// bit: ties with even and odd last bits of both signs, the largest normal (which rounds to
    /// infinity) and its neighbours, the smallest normal, subnormals (ties among them, and the
    /// largest, which rounds up to the smallest normal), zeros, infinities, NaNs whose rounding
    /// would carry into infinity or the sign bit, and random bit patterns.
    @Test func roundToBF16MatchesGemmBF16BitForBit() {
        var patterns: [UInt32] = [
            0x3F80_8000, 0x3F81_8000, 0xBF80_8000, 0xBF81_8000, 0x3F80_7FFF, 0x3F80_8001,   // ties and beside them
            0x7F7F_FFFF, 0xFF7F_FFFF, 0x7F7F_7FFF, 0x7F7F_8000, 0x7F7E_8000,                   // largest normals
            0x0080_0000, 0x8080_0000, 0x0080_8000, 0x0081_8000,                                 // smallest normals
            0x0000_0001, 0x8000_0001, 0x0000_8000, 0x0001_8000, 0x0000_8001, 0x007F_FFFF, 0x807F_FFFF,   // subnormals
            0x0000_0000, 0x8000_0000, 0x7F80_0000, 0xFF80_0000,                                 // zeros, infinities
            0x7FC0_0000, 0xFFC0_0000, 0x7F80_0001, 0xFF80_0001, 0x7F80_8000, 0x7FBF_FFFF,       // NaNs
            0x7FFF_FFFF, 0xFFFF_FFFF, 0x7FFF_8000,
        ]
        var rng = SplitMix(seed: 19)
        for _ in 0..<100_000 { patterns.append(UInt32(truncatingIfNeeded: rng.next())) }
        while patterns.count % VectorMath.lanes != 0 { patterns.append(0x3F80_8000) }
        var mismatches: [String] = []
        for start in stride(from: 0, to: patterns.count, by: VectorMath.lanes) {
            var v = VectorMath.Vector()
            for l in 0..<VectorMath.lanes { v[l] = Float(bitPattern: patterns[start + l]) }
            let got = VectorMath.roundToBF16(v)
            for l in 0..<VectorMath.lanes where got[l] != Gemm.bf16(v[l]) {
                mismatches.append("0x\(String(patterns[start + l], radix: 16)) → 0x\(String(got[l], radix: 16)), "
                                  + "expected 0x\(String(Gemm.bf16(v[l]), radix: 16))")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches, first: \(mismatches.prefix(5))")
        // Two of the cases pinned by hand, so the comparison cannot pass with a wrong reference.
        #expect(VectorMath.roundToBF16(VectorMath.Vector(repeating: Float(bitPattern: 0x3F81_8000)))[0] == 0x3F82)
        #expect(VectorMath.roundToBF16(VectorMath.Vector(repeating: Float(bitPattern: 0x7F7F_FFFF)))[0] == 0x7F80)
    }

    /// The sum of a bf16 row against a Double loop: lengths around the 32-value loads and the
    /// 1 024-value blocks, odd start addresses (an unaligned view into a larger row), tiny and
    /// large magnitudes.
    @Test func sumOfBF16MatchesADoubleLoop() {
        var rng = SplitMix(seed: 13)
        for n in [1, 31, 32, 33, 1023, 1024, 1025, 3001, 55_000] {
            for magnitude: Float in [1, 1e-12, 1e6] {
                let row = (0..<n + 1).map { _ in Gemm.bf16(abs(rng.nextFloat()) * magnitude) }
                let reference = row.dropFirst().reduce(0.0) { $0 + Double(Gemm.float(bf16: $1)) }
                let got = row.withUnsafeBufferPointer { VectorMath.sum(bf16: $0.baseAddress! + 1, count: n) }
                #expect(abs(got - reference) <= 1e-6 * reference, "n \(n), magnitude \(magnitude)")
            }
        }
    }
}
