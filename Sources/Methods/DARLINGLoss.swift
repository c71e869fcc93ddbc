import Foundation
import Kernels

/// DARLING's options beyond the bank's (τ and m come from the memory-bank options).
public struct DARLINGConfig: Sendable, Codable, Equatable {
    /// λ, the weight of the domain head's cross-entropy against the images' domain labels.
    public var domainWeight: Float = 1

    /// The defaults.
    public init() {}

    /// Throws naming the option out of range.
    public func validate() throws {
        guard domainWeight.isFinite, domainWeight >= 0 else {
            throw MethodsError.invalidConfiguration("--domain-weight must be a finite number ≥ 0, got \(domainWeight)")
        }
        guard domainWeight <= Self.maxDomainWeight else {
            throw MethodsError.invalidConfiguration("--domain-weight must be ≤ \(Self.maxDomainWeight), got \(domainWeight)")
        }
    }

    /// Largest λ accepted (a larger one drowns the contrastive term).
    public static let maxDomainWeight: Float = 100
}

/// One evaluation of DARLING's loss on a batch.
public struct DARLINGLossOutput: Sendable {
    /// L = L_darling + λ·L_domain.
    public var loss: Float
    /// L_darling = mean_b −log Σ_d p(d|q_b)·p(pos|q_b, d).
    public var darling: Float
    /// L_domain = mean_b −log p(d_b|q_b), d_b the anchor's own domain.
    public var domain: Float
    /// dL/df: [B, D] (bank constant; the head reads the features without passing gradient back).
    public var gradient: [Float]
    /// dL/dW: [K, D] and dL/db: [K] of the domain head: λ·L_domain's only (L_darling takes
    /// p(d|q) as given weights, so it cannot pull the head toward the easiest domain).
    public var headWeightGradient: [Float], headBiasGradient: [Float]
    /// p(d|q): [B, K], the head's domain probabilities.
    public var domainProbabilities: [Float]
}

/// DARLING's domain-aware likelihood over a memory bank (docs/methods.md, "DARLING"). For the
/// anchor b with v = f/‖f‖, bank M: [N, D] (constant) and dense domains c: [N] in 0..<K:
///   s_j = v·M_j, e_j = exp(s_j/τ), Z_d = e_anchor + Σ_{j ≠ anchor, c_j = d} e_j,
///   p(pos|q, d) = e_anchor / Z_d,  p(d|q) = softmax(W·v + β)_d  (W: [K, D], β: [K]),
///   L = mean_b [−log Σ_d p(d|q)·p(pos|q, d)] + λ·mean_b [−log p(c_anchor|q)].
/// Gradients: f gets L_darling's through the similarities only; the head gets λ·L_domain's only.
public enum DARLINGLoss {
    /// Evaluates the loss and its gradients for f: [B, D] of the images `indices` against
    /// `bank`, whose entries have the dense `domains` [N] in 0..<`domainCount`. The head reads
    /// `headInput` [B, D] when given (tests hold it fixed to take finite differences in f),
    /// else v = f/‖f‖; either way as a constant.
    public static func evaluate(features: [Float], indices: [Int], bank: MemoryBank, domains: [Int32], domainCount k: Int,
                                headWeight: [Float], headBias: [Float], temperature: Float, domainWeight: Float,
                                headInput: [Float]? = nil) throws -> DARLINGLossOutput {
        let n = bank.count, d = bank.dimension
        guard domains.count == n else { throw MethodsError.invalidInput("\(domains.count) domain labels for a bank of \(n)") }
        guard headWeight.count == k * d, headBias.count == k else { throw MethodsError.invalidInput("domain head is not [\(k), \(d)]") }
        let b = try validateBatch(features: features, indices: indices, dimension: d, datasetSize: n)
        var scores = [Float]()
        let (v, norms) = normalizedSimilarities(features, batch: b, bank: bank, into: &scores)   // scores: [B, N]
        let h = headInput ?? v                                                                   // [B, D]
        guard h.count == b * d else { throw MethodsError.invalidInput("head input is not [\(b), \(d)]") }
        let logits = headLogits(h, batch: b, weight: headWeight, bias: headBias, classes: k)     // [B, K]
        var dz = [Float](repeating: 0, count: b * k)                                            // dL/dz: [B, K]
        var probabilities = [Float](repeating: 0, count: b * k)
        var darling = 0.0, domain = 0.0
        let invB = 1 / Double(b), invTau = 1 / Double(temperature)
        for r in 0..<b {
            let row = Array(scores[r * n..<(r + 1) * n])
            let own = Int(domains[indices[r]])
            let pi = softmax(Array(logits[r * k..<(r + 1) * k]))
            let term = rowTerms(scores: row, anchor: indices[r], domains: domains, domainCount: k, pi: pi, invTau: invTau)
            darling += term.loss
            domain -= log(pi[own])
            for c in 0..<k {
                probabilities[r * k + c] = Float(pi[c])
                let target = c == own ? 1.0 : 0.0
                dz[r * k + c] = Float(invB * Double(domainWeight) * (pi[c] - target))   // the head learns from L_domain only
            }
            for j in 0..<n { scores[r * n + j] = Float(invB * term.scoreGradient[j]) }   // dL/ds now
        }
        var dv = [Float](repeating: 0, count: b * d)
        scores.withUnsafeBufferPointer { sp in dv.withUnsafeMutableBufferPointer { bank.backProject(sp.baseAddress!, batch: b, into: $0.baseAddress!) } }
        let (dW, dBias) = headBackward(dz, v: h, batch: b, classes: k, dimension: d)
        let lDarling = darling * invB, lDomain = domain * invB
        return DARLINGLossOutput(loss: Float(lDarling + Double(domainWeight) * lDomain), darling: Float(lDarling), domain: Float(lDomain),
                                 gradient: l2NormalizeBackward(v: v, norms: norms, dv: dv, rows: b, dimension: d),
                                 headWeightGradient: dW, headBiasGradient: dBias, domainProbabilities: probabilities)
    }

    /// One anchor's −log Σ_d π_d·p(pos|q, d), the posterior r_d ∝ π_d·p(pos|q, d), and
    /// dℓ/ds_j for its similarity row s: [N] (unscaled by 1/B).
    static func rowTerms(scores s: [Float], anchor: Int, domains: [Int32], domainCount k: Int, pi: [Double],
                         invTau: Double) -> (loss: Double, responsibility: [Double], scoreGradient: [Double]) {
        let n = s.count
        let top = Double(s.max()!)
        let e = s.map { exp((Double($0) - top) * invTau) }          // e_j / exp(top/τ)
        var z = [Double](repeating: e[anchor], count: k)             // Z_d, same scale
        for j in 0..<n where j != anchor { z[Int(domains[j])] += e[j] }
        let joint = (0..<k).map { pi[$0] * e[anchor] / z[$0] }       // π_d·p(pos|q, d)
        let total = joint.reduce(0, +)
        let r = joint.map { $0 / total }
        // dℓ/dlog p_d = −r_d; dlog p_d/ds_anchor = (1 − e_a/Z_d)/τ; dlog p_d/ds_j = −e_j/(Z_d·τ).
        var g = [Double](repeating: 0, count: n)
        for j in 0..<n where j != anchor {
            let c = Int(domains[j])
            g[j] = r[c] * e[j] / z[c] * invTau
        }
        g[anchor] = -(0..<k).reduce(0.0) { $0 + r[$1] * (1 - e[anchor] / z[$1]) } * invTau
        return (-log(total), r, g)
    }

    /// z = v·Wᵀ + β: [B, K] for v: [B, D].
    static func headLogits(_ v: [Float], batch b: Int, weight: [Float], bias: [Float], classes k: Int) -> [Float] {
        let d = weight.count / k
        return (0..<b * k).map { i in
            let (r, c) = (i / k, i % k)
            return bias[c] + (0..<d).reduce(Float(0)) { $0 + v[r * d + $1] * weight[c * d + $1] }
        }
    }

    /// dL/dW = dzᵀ·v: [K, D] and dL/dβ = Σ_rows dz: [K] from dz: [B, K].
    static func headBackward(_ dz: [Float], v: [Float], batch b: Int, classes k: Int, dimension d: Int) -> ([Float], [Float]) {
        var dW = [Float](repeating: 0, count: k * d), dBias = [Float](repeating: 0, count: k)
        for r in 0..<b {
            for c in 0..<k {
                dBias[c] += dz[r * k + c]
                for x in 0..<d { dW[c * d + x] += dz[r * k + c] * v[r * d + x] }
            }
        }
        return (dW, dBias)
    }

    /// Softmax of one row of logits, in doubles.
    static func softmax(_ z: [Float]) -> [Double] {
        let top = Double(z.max()!)
        let e = z.map { exp(Double($0) - top) }
        let sum = e.reduce(0, +)
        return e.map { $0 / sum }
    }
}
