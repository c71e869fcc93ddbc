import CDNNL

/// Row kernels on 16-lane vectors for the memory-bank losses' bf16 paths: e^x, a row's maximum, a
/// row's exponentials summed and rounded to bf16 in one pass (NPID), and a weighted sum of selected
/// bf16 rows (InvP's sparse dv). They replace scalar loops (glibc's `expf` per entry, a Double sum)
/// and a dense product over mostly zero weights (docs/benchmarks.md, issue 14). The tests hold
/// them to plain scalar references.
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

    /// bf16 bits of every lane, rounded to nearest with ties to even (finite inputs).
    @inline(__always)
    static func roundToBF16(_ v: Vector) -> SIMD16<UInt16> {
        let u = unsafeBitCast(v, to: SIMD16<UInt32>.self)
        return SIMD16<UInt16>(truncatingIfNeeded: (u &+ 0x7FFF &+ ((u &>> 16) & 1)) &>> 16)
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

    /// out[j] = bf16(e_j) with e_j = e^{(row[j] − shift)·scale}, j < count; returns Σ_j e_j (fp32
    /// partial sums over blocks of 1 024 values, Double across blocks).
    public static func exponentialsToBF16(_ row: UnsafePointer<Float>, count n: Int, shift: Float, scale: Float,
                                          into out: UnsafeMutablePointer<BF16Bits>) -> Double {
        var total = 0.0
        var block = 0
        while block < n {
            let end = min(n, block + 1024)
            var partial = Vector()
            var j = block
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
            total += Double(partial.sum())
            block = end
        }
        return total
    }

    /// out[0..<d] = Σ_j weights[j] · rows[indices[j]] for `count` entries of a bf16 table
    /// `rows`: [*, d] (row-major), summed in fp32: InvP's dv = (dL/dz)·bank over the M + 1 + P
    /// non-zero entries of a row of dL/dz instead of all N (issue 14). Indices need not be
    /// distinct; they are not bounds-checked (the caller's selections come from the table).
    public static func weightedRowSum(bf16 rows: UnsafePointer<BF16Bits>, dimension d: Int,
                                      indices: UnsafePointer<Int32>, weights: UnsafePointer<Float>, count: Int,
                                      into out: UnsafeMutablePointer<Float>) {
        if d == 128 {
            weightedRowSum128(rows, indices, weights, count, out)
            return
        }
        // Any other width: one pass over the entries per 16 lanes of the row.
        var c = 0
        while c < d {
            let width = min(lanes, d - c)
            var acc = Vector()
            for j in 0..<count {
                let row = rows + Int(indices[j]) * d + c
                acc += weights[j] * widen(row, count: width)
            }
            for l in 0..<width { out[c + l] = acc[l] }
            c += lanes
        }
    }

    /// `weightedRowSum` for d = 128 (the paper's feature size): each selected row is read once as
    /// four 64-byte blocks, each block split into its even and odd bf16 values by a shift and a
    /// mask (no widening conversion), and summed into eight accumulators whose lanes are put back
    /// in order at the end. Rows a few entries ahead are prefetched: the gather is bound by
    /// memory latency, and the selected rows are too scattered for the hardware prefetcher.
    @inline(__always)
    static func weightedRowSum128(_ rows: UnsafePointer<BF16Bits>, _ indices: UnsafePointer<Int32>,
                                  _ weights: UnsafePointer<Float>, _ count: Int, _ out: UnsafeMutablePointer<Float>) {
        typealias Block = SIMD16<UInt32>   // 32 bf16 values: even ones in the low halves, odd ones in the high
        let high = Block(repeating: 0xFFFF_0000)
        var even0 = Vector(), even1 = Vector(), even2 = Vector(), even3 = Vector()
        var odd0 = Vector(), odd1 = Vector(), odd2 = Vector(), odd3 = Vector()
        let ahead = 16
        for j in 0..<count {
            if j + ahead < count {
                let next = UnsafeRawPointer(rows + Int(indices[j + ahead]) * 128)
                cdnnl_prefetch(next); cdnnl_prefetch(next + 64); cdnnl_prefetch(next + 128); cdnnl_prefetch(next + 192)
            }
            let row = UnsafeRawPointer(rows + Int(indices[j]) * 128)
            let w = Vector(repeating: weights[j])
            let b0 = row.loadUnaligned(as: Block.self), b1 = row.loadUnaligned(fromByteOffset: 64, as: Block.self)
            let b2 = row.loadUnaligned(fromByteOffset: 128, as: Block.self), b3 = row.loadUnaligned(fromByteOffset: 192, as: Block.self)
            even0 += w * unsafeBitCast(b0 &<< 16, to: Vector.self); odd0 += w * unsafeBitCast(b0 & high, to: Vector.self)
            even1 += w * unsafeBitCast(b1 &<< 16, to: Vector.self); odd1 += w * unsafeBitCast(b1 & high, to: Vector.self)
            even2 += w * unsafeBitCast(b2 &<< 16, to: Vector.self); odd2 += w * unsafeBitCast(b2 & high, to: Vector.self)
            even3 += w * unsafeBitCast(b3 &<< 16, to: Vector.self); odd3 += w * unsafeBitCast(b3 & high, to: Vector.self)
        }
        for (block, (even, odd)) in [(even0, odd0), (even1, odd1), (even2, odd2), (even3, odd3)].enumerated() {
            for l in 0..<16 {
                out[32 * block + 2 * l] = even[l]
                out[32 * block + 2 * l + 1] = odd[l]
            }
        }
    }

    /// The first `count` ≤ 16 bf16 values at `p` as fp32 lanes (a bf16 is the upper half of its
    /// fp32), the others 0.
    @inline(__always)
    static func widen(_ p: UnsafePointer<BF16Bits>, count: Int) -> Vector {
        var v = Vector()
        for l in 0..<count { v[l] = Float(bitPattern: UInt32(p[l]) << 16) }
        return v
    }
}
