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

    /// The bf16 path of `evaluate`, given v: [B, D] and the scores z: [B, N] already in `scores`.
    /// dL/dz_bj = c_b·e_bj − k_b·δ(j, anchor_b) with e_bj = exp((z_bj − max_b)/τ), c_b = ρ_b/(B·τ·Σ_j e_bj)
    /// and k_b = ρ_b/(B·τ): one vectorised pass per row writes bf16(e_bj) unscaled and sums e_bj,
    /// the bf16 matmul gives Σ_j bf16(e_bj)·bank_j, and each row of dv is then scaled by c_b with
    /// k_b·bank[anchor_b] subtracted in fp32 (instead of three scalar passes over every row).
    private func evaluateBF16(v: [Float], norms: [Float], indices: [Int], bank: MemoryBank, batch b: Int) -> NPIDLossOutput {
        let n = datasetSize, d = bank.dimension
        let invTau = 1 / config.temperature
        let invB = 1 / Double(b)
        if exponentialsBF16.count != b * n { exponentialsBF16 = [BF16Bits](repeating: 0, count: b * n) }
        var rowLoss = [Double](repeating: 0, count: b)
        var rowScale = [Float](repeating: 0, count: b)  // c_b
        var anchorWeight = [Float](repeating: 0, count: b)  // k_b
        exponentialsBF16.withUnsafeMutableBufferPointer { gbP in
        scores.withUnsafeBufferPointer { sp in
        rowLoss.withUnsafeMutableBufferPointer { lossP in
        rowScale.withUnsafeMutableBufferPointer { scaleP in
        anchorWeight.withUnsafeMutableBufferPointer { anchorP in
            parallelRanges(count: b) { rows in
                for r in rows {
                    let row = sp.baseAddress! + r * n
                    let mx = VectorMath.maximum(row, count: n)
                    let sum = VectorMath.exponentialsToBF16(row, count: n, shift: mx, scale: invTau, into: gbP.baseAddress! + r * n)
                    let anchor = indices[r]
                    // The anchor's e by the same steps as its lane in the pass above.
                    let p = Double(VectorMath.exp((row[anchor] - mx) * invTau)) / sum
                    lossP[r] = -log(p + logEpsilon)
                    let rho = p / (p + logEpsilon)
                    scaleP[r] = Float(rho * invB / sum) * invTau
                    anchorP[r] = Float(rho * invB) * invTau
                }
            }
        }}}}}
        var dv = [Float](repeating: 0, count: b * d)
        exponentialsBF16.withUnsafeBufferPointer { gp in
            dv.withUnsafeMutableBufferPointer { dp in
                bank.backProject(bf16: gp.baseAddress!, batch: b, into: dp.baseAddress!)
            }
        }
        for r in 0..<b {
            let anchorRow = indices[r] * d
            for c in 0..<d { dv[r * d + c] = rowScale[r] * dv[r * d + c] - anchorWeight[r] * bank.storage[anchorRow + c] }
        }
        let gradient = l2NormalizeBackward(v: v, norms: norms, dv: dv, rows: b, dimension: d)
        return NPIDLossOutput(loss: Float(rowLoss.reduce(0, +) * invB), gradient: gradient)
    }
}
