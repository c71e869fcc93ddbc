import Foundation
import Kernels

/// Options of NPID (Wu et al. 2018): instance discrimination with a full softmax over the bank.
public struct NPIDConfig: Sendable, Codable, Equatable {
    /// τ of the softmax (0.07 ImageNet, 0.1 CIFAR).
    public var temperature: Float = 0.07
    /// m of the bank update (0.5).
    public var momentum: Float = 0.5
    /// Precision of the two bank products (nil: fp32; `BankPrecision`).
    public var bankPrecision: BankPrecision?

    /// The defaults listed above.
    public init() {}

    /// Throws `MethodsError.invalidConfiguration` for τ ≤ 0 or m outside [0, 1).
    public func validate(datasetSize n: Int) throws {
        guard n >= 1 else { throw MethodsError.invalidConfiguration("dataset size must be ≥ 1, got \(n)") }
        guard temperature.isFinite && temperature > 0 else {
            throw MethodsError.invalidConfiguration("temperature τ must be > 0, got \(temperature)")
        }
        guard momentum >= 0 && momentum < 1 else {
            throw MethodsError.invalidConfiguration("momentum m must be in [0, 1), got \(momentum)")
        }
    }
}

/// The NPID loss and its gradient.
public struct NPIDLossOutput: Sendable {
    /// L = mean_b −log(exp(v_b·bank[idx_b]/τ) / Σ_j exp(v_b·bank[j]/τ) + 1e-7).
    public var loss: Float
    /// dL/df: [B, D], through the normalisation, bank constant.
    public var gradient: [Float]
}

/// NPID's non-parametric softmax over the whole bank (the reference code's `PointLoss`, no NCE),
/// with a reusable [B, N] workspace. Per step: `evaluate` → backward → optimizer step →
/// `bank.update(indices:features:)`.
public final class NPIDLoss {
    /// The options (validated at init).
    public let config: NPIDConfig
    /// N, the bank size.
    public let datasetSize: Int
    /// [B, N]: z = v·bankᵀ, then dL/dz in place.
    private var scores: [Float] = []
    /// [B, N]: the unscaled exponentials e rounded to bf16, the left operand of the bf16 dv = e·bank
    /// (only while the bank's `productPrecision` is bf16; see `evaluateBF16`).
    private var exponentialsBF16: [BF16Bits] = []
    /// True (default): on the bf16 path, the exponentials come fused out of the product where
    /// that is safe (`evaluateFusedBF16`); false: always the two-pass path (for tests).
    var fusedExponentials = true

    /// Validates `config` for a bank of `datasetSize` entries.
    public init(config: NPIDConfig, datasetSize: Int) throws {
        try config.validate(datasetSize: datasetSize)
        self.config = config
        self.datasetSize = datasetSize
    }

    /// Evaluates the loss on f: [B, D] of the images `indices`: [B] against `bank` (unchanged).
    public func evaluate(features: [Float], indices: [Int], bank: MemoryBank) throws -> NPIDLossOutput {
        let n = datasetSize, d = bank.dimension
        guard bank.count == n else { throw MethodsError.invalidInput("bank has \(bank.count) entries, expected \(n)") }
        let b = try validateBatch(features: features, indices: indices, dimension: d, datasetSize: n)
        if fusedExponentials, bank.productPrecision == .bf16, let fused = evaluateFusedBF16(features: features, indices: indices, bank: bank, batch: b) {
            return fused
        }
        let (v, norms) = normalizedSimilarities(features, batch: b, bank: bank, into: &scores)
        if bank.productPrecision == .bf16 {
            return evaluateBF16(v: v, norms: norms, indices: indices, bank: bank, batch: b)
        }
        let invTau = 1 / config.temperature
        let invB = 1 / Double(b)
        var rowLoss = [Double](repeating: 0, count: b)
        scores.withUnsafeMutableBufferPointer { sp in
            rowLoss.withUnsafeMutableBufferPointer { lossP in
                let base = sp.baseAddress!
                parallelRanges(count: b) { rows in
                    for r in rows {
                        let row = base + r * n
                        // Softmax with the row maximum subtracted: same value as the reference's
                        // plain exp, without overflow for small τ.
                        var mx = -Float.infinity
                        for j in 0..<n where row[j] > mx { mx = row[j] }
                        var sum = 0.0
                        for j in 0..<n {
                            let e = expf((row[j] - mx) * invTau)
                            row[j] = e
                            sum += Double(e)
                        }
                        let anchor = indices[r]
                        let p = Double(row[anchor]) / sum
                        lossP[r] = -log(p + logEpsilon)
                        // dL/dz_j = (1/B)(1/τ)·ρ·(p_j − δ_j,anchor), ρ = p/(p + 1e-7).
                        let rho = p / (p + logEpsilon)
                        let c = Float(rho * invB / sum) * invTau
                        for j in 0..<n { row[j] *= c }
                        row[anchor] -= Float(rho * invB) * invTau
                    }
                }
            }
        }
        var dv = [Float](repeating: 0, count: b * d)
        scores.withUnsafeBufferPointer { sp in
            dv.withUnsafeMutableBufferPointer { dp in
                bank.backProject(sp.baseAddress!, batch: b, into: dp.baseAddress!)
            }
        }
        let gradient = l2NormalizeBackward(v: v, norms: norms, dv: dv, rows: b, dimension: d)
        return NPIDLossOutput(loss: Float(rowLoss.reduce(0, +) * invB), gradient: gradient)
    }

    /// The bf16 path of `evaluate`, given v: [B, D] and the scores z: [B, N] already in `scores`:
    /// dL/dz_bj = c_b·e_bj − k_b·δ(j, anchor_b) with e_bj = exp((z_bj − max_b)/τ), c_b = ρ_b/(B·τ·Σ_j e_bj)
    /// and k_b = ρ_b/(B·τ). One vectorised pass per row writes bf16(e_bj) unscaled and sums e_bj;
    /// `backProjectScaled` does the rest. Taken where the fused path (`evaluateFusedBF16`) is not.
    private func evaluateBF16(v: [Float], norms: [Float], indices: [Int], bank: MemoryBank, batch b: Int) -> NPIDLossOutput {
        let n = datasetSize, tau = config.temperature
        let invTau = 1 / tau
        if exponentialsBF16.count != b * n { exponentialsBF16 = [BF16Bits](repeating: 0, count: b * n) }
        var rows = [SoftmaxRow](repeating: SoftmaxRow(), count: b)
        exponentialsBF16.withUnsafeMutableBufferPointer { gbP in
        scores.withUnsafeBufferPointer { sp in
        rows.withUnsafeMutableBufferPointer { rowP in
            parallelRanges(count: b) { range in
                for r in range {
                    let row = sp.baseAddress! + r * n
                    let mx = VectorMath.maximum(row, count: n)
                    let sum = VectorMath.exponentialsToBF16(row, count: n, shift: mx, scale: invTau, into: gbP.baseAddress! + r * n)
                    // The anchor's e by the same steps as its lane in the pass above.
                    let anchorE = Double(VectorMath.exp((row[indices[r]] - mx) * invTau))
                    rowP[r] = SoftmaxRow(anchorExponential: anchorE, sum: sum, batch: b, temperature: tau)
                }
            }
        }}}
        return backProjectScaled(rows: rows, v: v, norms: norms, indices: indices, bank: bank)
    }

    /// The bf16 path with the exponentials fused into the product: E = bf16(exp((v·bankᵀ − 1)/τ))
    /// straight from oneDNN (`MemoryBank.exponentialSimilarities`), so neither z: [B, N] in fp32
    /// nor a pass over it exists. Shifting by 1 instead of each row's maximum is safe because v
    /// and the bank rows have unit norm, so z ≤ 1 (up to bf16 rounding) and e ≤ 1; the smallest
    /// e, exp(−2/τ), stays a normal float for τ ≥ 0.025. nil (take the other path) for smaller
    /// τ, where oneDNN lacks the primitive, or when a row's sum is not a positive finite number
    /// (a bank that is not normalised).
    private func evaluateFusedBF16(features: [Float], indices: [Int], bank: MemoryBank, batch b: Int) -> NPIDLossOutput? {
        let n = datasetSize, tau = config.temperature
        guard tau >= 0.025, Gemm.bf16gemmExponentialsAvailable else { return nil }
        let (v, norms) = l2NormalizeRows(features, rows: b, dimension: bank.dimension)
        if exponentialsBF16.count != b * n { exponentialsBF16 = [BF16Bits](repeating: 0, count: b * n) }
        let invTau = 1 / tau
        exponentialsBF16.withUnsafeMutableBufferPointer { ep in
            v.withUnsafeBufferPointer { bank.exponentialSimilarities($0.baseAddress!, batch: b, shift: 1, scale: invTau, into: ep.baseAddress!) }
        }
        var rows = [SoftmaxRow](repeating: SoftmaxRow(), count: b)
        exponentialsBF16.withUnsafeBufferPointer { ep in
            rows.withUnsafeMutableBufferPointer { rowP in
                parallelRanges(count: b) { range in
                    for r in range {
                        let row = ep.baseAddress! + r * n
                        let anchorE = Double(Gemm.float(bf16: row[indices[r]]))
                        let sum = VectorMath.sum(bf16: row, count: n)
                        rowP[r] = SoftmaxRow(anchorExponential: anchorE, sum: sum, batch: b, temperature: tau)
                    }
                }
            }
        }
        guard rows.allSatisfy({ $0.sum.isFinite && $0.sum > 0 }) else { return nil }
        return backProjectScaled(rows: rows, v: v, norms: norms, indices: indices, bank: bank)
    }

    /// dv = c_b·(E·bank)_b − k_b·bank[anchor_b] with E: [B, N] the bf16 exponentials in
    /// `exponentialsBF16` (one bf16 matmul; the scales in fp32 afterwards), then back through the
    /// normalisation; the loss is the mean of the rows'.
    private func backProjectScaled(rows: [SoftmaxRow], v: [Float], norms: [Float], indices: [Int], bank: MemoryBank) -> NPIDLossOutput {
        let b = rows.count, d = bank.dimension
        var dv = [Float](repeating: 0, count: b * d)
        exponentialsBF16.withUnsafeBufferPointer { gp in
            dv.withUnsafeMutableBufferPointer { dp in
                bank.backProject(bf16: gp.baseAddress!, batch: b, into: dp.baseAddress!)
            }
        }
        for r in 0..<b {
            let anchorRow = indices[r] * d
            for c in 0..<d { dv[r * d + c] = rows[r].scale * dv[r * d + c] - rows[r].anchorWeight * bank.storage[anchorRow + c] }
        }
        let gradient = l2NormalizeBackward(v: v, norms: norms, dv: dv, rows: b, dimension: d)
        return NPIDLossOutput(loss: Float(rows.map(\.loss).reduce(0, +) * (1 / Double(b))), gradient: gradient)
    }
}

/// One row of NPID's softmax on the bf16 paths: its loss, c_b = ρ_b/(B·τ·Σe) and k_b = ρ_b/(B·τ),
/// where p = e_anchor/Σe and ρ = p/(p + 1e-7).
private struct SoftmaxRow {
    /// −log(p + 1e-7).
    var loss = 0.0
    /// Σ_j e_bj.
    var sum = 0.0
    /// c_b, the factor on the row's exponentials in dL/dz.
    var scale: Float = 0
    /// k_b, subtracted at the anchor.
    var anchorWeight: Float = 0

    init() {}

    init(anchorExponential: Double, sum: Double, batch: Int, temperature: Float) {
        let p = anchorExponential / sum
        let rho = p / (p + logEpsilon)
        let invB = 1 / Double(batch), invTau = 1 / temperature
        self.loss = -log(p + logEpsilon)
        self.sum = sum
        self.scale = Float(rho * invB / sum) * invTau
        self.anchorWeight = Float(rho * invB) * invTau
    }
}
