import Foundation
import Kernels
import Testing
@testable import Methods

/// The bf16 bank products (issue 14): the same losses up to bf16 rounding, and a bf16 copy of
/// the bank that always equals the fp32 bank rounded.
@Suite struct BankPrecisionTests {
    /// The bf16 copy follows every write to the fp32 bank: switching on, restore, fill, update.
    @Test func bf16CopyFollowsTheBank() throws {
        let p = try Problem(b: 5, d: 16, n: 200, k: 3, seed: 4)
        let bank = p.bank
        #expect(bank.storageBF16.isEmpty)
        // Every machine of this project runs oneDNN on AVX-512, which has the bf16 matmul.
        #expect(Gemm.bf16gemmAvailable)
        try bank.setProductPrecision(.bf16)
        #expect(bank.storageBF16 == bank.storage.map(Gemm.bf16))
        try bank.update(indices: p.indices, features: p.features)
        #expect(bank.storageBF16 == bank.storage.map(Gemm.bf16))
        try bank.restore(bank.storage.map { -$0 })
        #expect(bank.storageBF16 == bank.storage.map(Gemm.bf16))
        try bank.fill(features: bank.storage.map { $0 * 2 + 0.01 })
        #expect(bank.storageBF16 == bank.storage.map(Gemm.bf16))
        bank.productPrecision = .fp32
        #expect(bank.storageBF16.isEmpty)
    }

    /// z = v·bankᵀ in bf16 against a plain loop over the bf16-rounded operands.
    @Test func bf16SimilaritiesMatchAPlainLoop() throws {
        let p = try Problem(b: 3, d: 16, n: 120, k: 2, seed: 6)
        p.bank.productPrecision = .bf16
        let d = 16, n = 120
        var z = [Float](repeating: 0, count: 3 * n)
        p.bank.similarities(p.features, batch: 3, into: &z)
        for r in 0..<3 { for j in 0..<n {
            var s = 0.0, bound = 0.0
            for c in 0..<d {
                let t = Double(Gemm.float(bf16: Gemm.bf16(p.features[r * d + c]))) * Double(Gemm.float(bf16: Gemm.bf16(p.bank.storage[j * d + c])))
                s += t; bound += abs(t)
            }
            #expect(abs(Double(z[r * n + j]) - s) <= 1e-6 * bound + 1e-7)
        } }
    }

    /// dv = g·bank in bf16 (`backProject(bf16:)`, the backward of the bf16 similarities) against
    /// a Double loop over the bf16 operands, the bank's rounded from its fp32 rows: each entry
    /// within fp32 summation error of the exact sum (n·2⁻²⁴ of Σ|terms|, the worst case of an
    /// fp32 sum of n terms). The same product against the fp32 bank misses that bound on most
    /// entries (by the bank's 2⁻⁹ rounding), so the bound does tell the operands apart. Bank
    /// sizes on and off the 16-value blocks.
    @Test(arguments: [120, 131])
    func bf16BackProjectionMatchesAPlainLoop(n: Int) throws {
        let b = 3, d = 16
        let p = try Problem(b: b, d: d, n: n, k: 2, seed: 14)
        try p.bank.setProductPrecision(.bf16)
        var rng = TestRNG(seed: 15)
        let g = (0..<b * n).map { _ in Gemm.bf16(rng.float() * 0.1) }
        var dv = [Float](repeating: .nan, count: b * d)
        g.withUnsafeBufferPointer { p.bank.backProject(bf16: $0.baseAddress!, batch: b, into: &dv) }
        var fp32 = [Float](repeating: .nan, count: b * d)
        g.map(Gemm.float(bf16:)).withUnsafeBufferPointer { p.bank.backProject($0.baseAddress!, batch: b, into: &fp32) }
        var fp32Misses = 0
        for r in 0..<b { for c in 0..<d {
            var s = 0.0, bound = 0.0
            for j in 0..<n {
                let t = Double(Gemm.float(bf16: g[r * n + j])) * Double(Gemm.float(bf16: Gemm.bf16(p.bank.storage[j * d + c])))
                s += t; bound += abs(t)
            }
            let tolerance = Double(n) * 0x1p-24 * bound
            #expect(abs(Double(dv[r * d + c]) - s) <= tolerance, "row \(r), column \(c): \(dv[r * d + c]) vs \(s)")
            if abs(Double(fp32[r * d + c]) - s) > tolerance { fp32Misses += 1 }
        }}
        #expect(fp32Misses * 2 > b * d, "only \(fp32Misses) of \(b * d) fp32 entries fall outside the bound")
    }

    /// InvP with bf16 products: the fp32 loss and gradient up to bf16 rounding (τ 0.1, so a
    /// 2⁻⁹ rounding of z moves s by about 2 %).
    @Test func invpBF16AgreesWithFP32() throws {
        var c = InvPConfig(); c.backgroundCount = 64; c.temperature = 0.1
        let a = try Problem(b: 6, d: 16, n: 300, k: 4, seed: 8), b = try Problem(b: 6, d: 16, n: 300, k: 4, seed: 8)
        b.bank.productPrecision = .bf16
        let fp32 = try InvPLoss(config: c, datasetSize: 300).evaluate(features: a.features, indices: a.indices, epoch: 31, bank: a.bank, table: a.table)
        let bf16 = try InvPLoss(config: c, datasetSize: 300).evaluate(features: b.features, indices: b.indices, epoch: 31, bank: b.bank, table: b.table)
        #expect(abs(fp32.loss - bf16.loss) <= 0.02 * abs(fp32.loss))
        let scale = fp32.gradient.map(abs).max() ?? 0
        #expect(scale > 0)
        for (x, y) in zip(fp32.gradient, bf16.gradient) { #expect(abs(x - y) <= 0.1 * scale) }
        // Selections at most shift at the margin: most of the k+1 nearest agree.
        let same = zip(fp32.nearest, bf16.nearest).filter { $0 == $1 }.count
        #expect(same * 10 >= fp32.nearest.count * 8)
    }

    /// InvP's bf16 path against fp32 on operands that bf16 holds exactly (unit vectors of four ±½
    /// entries, so every z is a multiple of ¼ in both precisions): the same selections and loss
    /// bit for bit, and the gradient within 1 % of its largest entry (dL/dz is rounded to bf16,
    /// 2⁻⁹ relative, before dv = dL/dz · bank).
    @Test func invpBF16MatchesFP32OnExactOperands() throws {
        let b = 6, d = 16, n = 300
        var rng = TestRNG(seed: 21)
        func halves() -> [Float] {
            var row = [Float](repeating: 0, count: d), placed = 0
            while placed < 4 {
                let c = rng.int(d)
                if row[c] == 0 { row[c] = rng.float() < 0 ? -0.5 : 0.5; placed += 1 }
            }
            return row
        }
        var c = InvPConfig(); c.backgroundCount = 64; c.temperature = 0.1
        let a = try Problem(b: b, d: d, n: n, k: 4, seed: 8), e = try Problem(b: b, d: d, n: n, k: 4, seed: 8)
        let bankRows = (0..<n).flatMap { _ in halves() }, features = (0..<b).flatMap { _ in halves() }
        try a.bank.restore(bankRows)
        try e.bank.restore(bankRows)
        e.bank.productPrecision = .bf16
        let fp32 = try InvPLoss(config: c, datasetSize: n).evaluate(features: features, indices: a.indices, epoch: 31, bank: a.bank, table: a.table)
        let bf16 = try InvPLoss(config: c, datasetSize: n).evaluate(features: features, indices: e.indices, epoch: 31, bank: e.bank, table: e.table)
        #expect(fp32.nearest == bf16.nearest)
        #expect(fp32.loss == bf16.loss)
        let scale = fp32.gradient.map(abs).max() ?? 0
        #expect(scale > 0)
        for (x, y) in zip(fp32.gradient, bf16.gradient) { #expect(abs(x - y) <= 1e-2 * scale) }
    }

    /// NPID's bf16 path with the exponentials fused into the product (τ 0.1) and without (τ 0.02,
    /// below the fused path's bound): each agrees with fp32 up to bf16 rounding.
    @Test(arguments: [Float(0.1), 0.02])
    func npidBF16PathsAgreeWithFP32(temperature: Float) throws {
        let a = try Problem(b: 6, d: 16, n: 300, k: 2, seed: 10), b = try Problem(b: 6, d: 16, n: 300, k: 2, seed: 10)
        b.bank.productPrecision = .bf16
        var c = NPIDConfig(); c.temperature = temperature
        let fp32 = try NPIDLoss(config: c, datasetSize: 300).evaluate(features: a.features, indices: a.indices, bank: a.bank)
        let bf16 = try NPIDLoss(config: c, datasetSize: 300).evaluate(features: b.features, indices: b.indices, bank: b.bank)
        #expect(abs(fp32.loss - bf16.loss) <= 0.02 * abs(fp32.loss))
        let scale = fp32.gradient.map(abs).max() ?? 0
        #expect(scale > 0)
        for (x, y) in zip(fp32.gradient, bf16.gradient) { #expect(abs(x - y) <= 0.1 * scale) }
    }

    /// The fused exponentials against the two-pass bf16 path on the same bank: the same softmax
    /// up to one more bf16 rounding of each e (and the shift by 1 instead of the row maximum).
    /// With a bank whose rows are far from unit vectors, exp((z − 1)/τ) overflows and the loss
    /// falls back to the two-pass path: bit for bit its result.
    @Test func npidFusedExponentialsMatchTheTwoPassPath() throws {
        let p = try Problem(b: 6, d: 16, n: 300, k: 2, seed: 12)
        p.bank.productPrecision = .bf16
        var c = NPIDConfig(); c.temperature = 0.1
        let fusedLoss = try NPIDLoss(config: c, datasetSize: 300), twoPassLoss = try NPIDLoss(config: c, datasetSize: 300)
        twoPassLoss.fusedExponentials = false
        let fused = try fusedLoss.evaluate(features: p.features, indices: p.indices, bank: p.bank)
        let twoPass = try twoPassLoss.evaluate(features: p.features, indices: p.indices, bank: p.bank)
        #expect(abs(fused.loss - twoPass.loss) <= 0.005 * abs(twoPass.loss))
        let scale = twoPass.gradient.map(abs).max() ?? 0
        #expect(scale > 0)
        for (x, y) in zip(fused.gradient, twoPass.gradient) { #expect(abs(x - y) <= 0.02 * scale) }

        try p.bank.restore(p.bank.storage.map { $0 * 30 })
        let overflowing = try fusedLoss.evaluate(features: p.features, indices: p.indices, bank: p.bank)
        let reference = try twoPassLoss.evaluate(features: p.features, indices: p.indices, bank: p.bank)
        #expect(overflowing.loss == reference.loss)
        #expect(overflowing.gradient == reference.gradient)
    }

    /// The option reaches both methods' banks through the registry's setup; nil stays fp32.
    @Test func methodsTakeThePrecisionFromTheOptions() throws {
        var options = InvPConfig(); options.backgroundCount = 16
        let plain = try InvariancePropagation(config: options, datasetSize: 50, dimension: 8, seed: 1)
        #expect(plain.bank.productPrecision == .fp32)
        options.bankPrecision = .bf16
        let invp = try InvariancePropagation(config: options, datasetSize: 50, dimension: 8, seed: 1)
        #expect(invp.bank.productPrecision == .bf16)
        let npid = try NPID(setup: MethodSetup(invp: options, datasetSize: 50, dimension: 8, seed: 1))
        #expect(npid.bank.productPrecision == .bf16)
    }
}
