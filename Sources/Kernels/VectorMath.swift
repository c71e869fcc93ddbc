/// Row kernels on 16-lane vectors for NPID's bf16 path: e^x, a row's maximum, and a row's
/// exponentials summed and rounded to bf16 in one pass, replacing a scalar loop (glibc's `expf`
/// per entry, a Double sum) that was most of NPID's loss (docs/benchmarks.md, issue 14). The tests
/// hold them to plain scalar references.
public enum VectorMath {
    /// 16 fp32 lanes: the compiler splits it into the widest registers the build targets.
    public typealias Vector = SIMD16<Float>
    /// Lanes of `Vector`.
    public static let lanes = 16
    /// Largest and smallest arguments of `exp` with a finite, normal result; inputs are clamped to them.
    static let expHigh: Float = 88.37626, expLow: Float = -87.33654

    /// e^x on every lane, within 1 ulp of the exact value for x in [−87.3, 88.3] (inputs outside
    /// are clamped to that range; NaN is not expected). x = k·ln 2 + r with |r| ≤ ln 2 / 2, e^r by
    /// a degree-7 polynomial (Cephes' expf coefficients), 2^k by writing k into the exponent bits.
    @inline(__always)
    public static func exp(_ input: Vector) -> Vector {
        var x = input
        // `replace(with:where:)` compiles to vector compares and blends; `pointwiseMin` does not.
        x.replace(with: Vector(repeating: expHigh), where: x .> expHigh)
        x.replace(with: Vector(repeating: expLow), where: x .< expLow)
        // k = round(x / ln 2) by adding and subtracting 1.5·2²³ (no rounding instruction needed);
        // the sum's low mantissa bits then hold k itself.
        let shifter = Vector(repeating: 12_582_912)
        let shifted = x * 1.442_695_04 + shifter
        let k = shifted - shifter
        let r = x - k * 0.693_359_375 - k * -2.121_944_4e-4
        var p = Vector(repeating: 1.987_569_15e-4)
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_59e-2
        p = p * r + 1.666_666_55e-1
        p = p * r + 5.000_000_12e-1
        p = p * (r * r) + r + 1
        let exponent = (unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- 0x4B40_0000 &+ 127) &<< 23
        return p * unsafeBitCast(exponent, to: Vector.self)
    }

    /// e^x of one value by the same steps as the vector version (bit-identical to its lanes).
    @inline(__always)
    public static func exp(_ x: Float) -> Float { exp(Vector(repeating: x))[0] }

    /// The lanes of `row[start..<start + count]` (count ≤ 16), the others `fill`.
    @inline(__always)
    static func load(_ row: UnsafePointer<Float>, _ start: Int, count: Int = 16, fill: Float = 0) -> Vector {
        if count == lanes { return UnsafeRawPointer(row + start).loadUnaligned(as: Vector.self) }
        var v = Vector(repeating: fill)
        for l in 0..<count { v[l] = row[start + l] }
        return v
    }

    /// bf16 bits of every lane, rounded to nearest with ties to even: `Gemm.bf16` lane by lane.
    @inline(__always)
    static func roundToBF16(_ v: Vector) -> SIMD16<UInt16> {
        let u = unsafeBitCast(v, to: SIMD16<UInt32>.self)
        var rounded = (u &+ 0x7FFF &+ ((u &>> 16) & 1)) &>> 16
        // Rounding a NaN's low payload can carry it into infinity (0x7F80_0001) or past the sign
        // bit (0x7FFF_FFFF → −0); a NaN instead keeps its top bits, made quiet, as `Gemm.bf16` does.
        rounded.replace(with: (u &>> 16) | 0x40, where: (u & 0x7FFF_FFFF) .> 0x7F80_0000)
        return SIMD16<UInt16>(truncatingIfNeeded: rounded)
    }

    /// max_j row[j] over `count` ≥ 1 values.
    public static func maximum(_ row: UnsafePointer<Float>, count n: Int) -> Float {
        var best = Vector(repeating: -.infinity)
        var j = 0
        while j < n {
            let v = load(row, j, count: min(lanes, n - j), fill: -.infinity)
            best.replace(with: v, where: v .> best)
            j += lanes
        }
        return best.max()
    }

    /// Σ_j row[j] of `count` bf16 values, as fp32 partial sums over blocks of 1 024 values and
    /// Double across blocks. Each 64-byte load holds 32 values: the even ones are the low halves
    /// of its 16 UInt32 lanes shifted up, the odd ones the high halves masked (no conversion call).
    public static func sum(bf16 row: UnsafePointer<BF16Bits>, count n: Int) -> Double {
        sumOverBlocks(n) { start, end in
            var partial = Vector()
            var j = start
            while j + 2 * lanes <= end {
                let pairs = UnsafeRawPointer(row + j).loadUnaligned(as: SIMD16<UInt32>.self)
                partial += unsafeBitCast(pairs &<< 16, to: Vector.self)
                partial += unsafeBitCast(pairs & 0xFFFF_0000, to: Vector.self)
                j += 2 * lanes
            }
            var tail: Float = 0
            for i in j..<end { tail += Gemm.float(bf16: row[i]) }
            return Double(partial.sum()) + Double(tail)
        }
    }

    /// Σ of `blockSum(start, end)` over the blocks of 1 024 values that cover 0..<n, in Double
    /// (each block summed in fp32 by the caller, so fp32 sums stay short).
    @inline(__always)
    static func sumOverBlocks(_ n: Int, _ blockSum: (_ start: Int, _ end: Int) -> Double) -> Double {
        var total = 0.0
        var block = 0
        while block < n {
            let end = min(n, block + 1024)
            total += blockSum(block, end)
            block = end
        }
        return total
    }

    /// out[j] = bf16(e_j) with e_j = e^{(row[j] − shift)·scale}, j < count; returns Σ_j e_j (fp32
    /// partial sums over blocks of 1 024 values, Double across blocks).
    public static func exponentialsToBF16(_ row: UnsafePointer<Float>, count n: Int, shift: Float, scale: Float,
                                          into out: UnsafeMutablePointer<BF16Bits>) -> Double {
        sumOverBlocks(n) { start, end in
            var partial = Vector()
            var j = start
            while j < end {
                let width = min(lanes, end - j)
                var e = exp((load(row, j, count: width) - shift) * scale)
                if width < lanes { for l in width..<lanes { e[l] = 0 } }
                partial += e
                let bits = roundToBF16(e)
                if width == lanes {
                    UnsafeMutableRawPointer(out + j).storeBytes(of: bits, as: SIMD16<UInt16>.self)
                } else {
                    for l in 0..<width { out[j + l] = bits[l] }
                }
                j += lanes
            }
            return Double(partial.sum())
        }
    }
}
