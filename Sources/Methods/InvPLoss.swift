import Foundation
import Kernels

/// The log's guard against log(0), as in the reference code: −log(ratio + 1e-7).
public let logEpsilon: Double = 1e-7

/// What one evaluation of the InvP loss returns (SPEC steps 2–9), plus what steps 10–11 need.
public struct InvPLossOutput: Sendable {
    /// L = L_ins + λ·w(epoch)·L_inv, averaged over the batch.
    public var loss: Float
    /// L_ins = mean_b −log(self_s / Σ background + 1e-7) (SPEC step 5).
    public var instanceLoss: Float
    /// L_inv (SPEC step 8), computed even while w(epoch) = 0 so it can be logged; 0 in the
    /// instance-only ablation.
    public var invarianceLoss: Float
    /// λ·w(epoch), the factor on L_inv this step.
    public var invarianceScale: Float
    /// dL/df: [B, D], the gradient with respect to the raw network outputs f (through the
    /// normalisation; bank and selections held constant).
    public var gradient: [Float]
    /// [B, k+1]: each anchor's k+1 most similar bank indices, most similar first; pass to
    /// `NeighbourTable.update(indices:nearest:)` (SPEC step 10).
    public var nearest: [Int32]
    /// Per-anchor candidates and chosen positives, when requested.
    public var diagnostics: InvPDiagnostics?
    /// Each anchor's background and positives, when requested (`keepTargets`), for scoring a
    /// transformed view of the same anchors against them (Un-Mix).
    public var targets: InvPTargets?
}

/// What InvP chose for each anchor of one batch (SPEC steps 4 and 7). Un-Mix scores the mixed
/// views of a batch against the clean view's choice, so that all three of its terms share one
/// background and one set of positives per anchor (the authors' "same positive key and
/// negatives").
public struct InvPTargets: Sendable, Equatable {
    /// [B, M]: each anchor's background, the bank indices of the M largest similarities (the
    /// first k + 1 most similar first).
    public var background: [Int32]
    /// [B][P_b]: each anchor's chosen positives, in selection order (empty lists in the
    /// instance-only ablation).
    public var positives: [[Int32]]
}

/// Per-anchor lists for logging and purity (never used for training).
public struct InvPDiagnostics: Sendable, Equatable {
    /// [B][C_b]: the propagated candidates of each anchor in propagation order (C_b = Σ kˡ in
    /// reference mode); empty lists in the instance-only ablation.
    public var candidates: [[Int32]]
    /// [B][P_b]: the bank indices chosen as positives, in selection order (hard: least similar
    /// first; easy: most similar first).
    public var positives: [[Int32]]
}

/// The InvP loss (SPEC steps 2–9) with its analytic gradient. Holds a [B, N] workspace that is
/// reused across steps (60 000 × 256 floats would otherwise be reallocated every step).
///
/// Per training step: `evaluate` → network backward with `gradient` → optimizer step →
/// `bank.update(indices:features:)` and `table.update(indices:nearest:)`
/// (or `InvariancePropagation.finishStep`).
public final class InvPLoss {
    /// The options (validated at init).
    public let config: InvPConfig
    /// N, the bank size this loss was validated for.
    public let datasetSize: Int
    /// scores: [B, N]: z = v·bankᵀ (overwritten in place by dL/dz on the dense fp32 path).
    private var scores: [Float] = []
    /// [B, N]: dL/dz rounded to bf16, the left operand of the bf16 dv = g·bank (only while the
    /// bank's `productPrecision` is bf16; reused across steps like `scores`).
    private var gradientBF16: [BF16Bits] = []
    /// True (default): dv by a dense sgemm [B, N]·[N, D]. False: gather only the M + 1 + P
    /// selected bank rows per anchor (15× fewer operations, but random 512-byte reads from a
    /// 30 MB bank; measured 2× slower on the 2-core target). Same result up to rounding.
    var denseBackward = true

    /// Validates `config` for a bank of `datasetSize` entries.
    public init(config: InvPConfig, datasetSize: Int) throws {
        try config.validate(datasetSize: datasetSize)
        self.config = config
        self.datasetSize = datasetSize
    }

    /// Evaluates the loss on network outputs `features` f: [B, D] (row-major) of the images with
    /// dataset indices `indices`: [B], in `epoch` (counted from 1, as the authors' loop does), against `bank` and the neighbour
    /// `table` as they were before this step. Neither is modified. With `targets`, each anchor's
    /// background and positives are those given (chosen by an earlier evaluation of the same
    /// anchors with `keepTargets`) instead of being chosen from f's similarities.
    public func evaluate(
        features: [Float], indices: [Int], epoch: Int, bank: MemoryBank, table: NeighbourTable,
        diagnostics wantDiagnostics: Bool = false, keepTargets: Bool = false, targets given: InvPTargets? = nil
    ) throws -> InvPLossOutput {
        let n = datasetSize, d = bank.dimension, cfg = config
        guard bank.count == n, table.count == n else {
            throw MethodsError.invalidInput("bank (\(bank.count)) and table (\(table.count)) must both have \(n) entries")
        }
        guard table.neighbours == cfg.neighbourCount else {
            throw MethodsError.invalidInput("table has k = \(table.neighbours), configuration k = \(cfg.neighbourCount)")
        }
        guard epoch >= 0 else { throw MethodsError.invalidInput("epoch must be ≥ 0, got \(epoch)") }
        let b = try validateBatch(features: features, indices: indices, dimension: d, datasetSize: n)
        if let given { try validate(given, batch: b) }

        // Steps 1–2: v = f/‖f‖ ([B, D]) and z = v·bankᵀ ([B, N]); s = exp(z/τ) is formed only
        // where it is used (background, self, candidates): exp is monotone, so selecting on z
        // selects the same entries.
        let (v, norms) = normalizedSimilarities(features, batch: b, bank: bank, into: &scores)

        let m = cfg.backgroundCount, k = cfg.neighbourCount
        let invariance = cfg.invarianceEnabled
        let scale = invariance ? cfg.invarianceWeight * cfg.rampWeight(epoch: epoch) : 0
        let invTau = 1 / Double(cfg.temperature)
        let invB = 1 / Double(b)
        var insLoss = [Double](repeating: 0, count: b)
        var invLoss = [Double](repeating: 0, count: b)
        var nearest = [Int32](repeating: 0, count: b * (k + 1))
        var candidateLists = [[Int32]](repeating: [], count: wantDiagnostics ? b : 0)
        let listPositives = wantDiagnostics || keepTargets
        var positiveLists = [[Int32]](repeating: [], count: listPositives ? b : 0)
        var keptBackground = [Int32](repeating: 0, count: keepTargets ? b * m : 0)  // [B, M]

        // dv = dL/dv: [B, D]. Only M + 1 + P entries of each row of dL/dz are non-zero; by
        // default the row is scattered into the dense [B, N] workspace and multiplied by the
        // bank with one sgemm (streams the bank; see `denseBackward`).
        let dense = denseBackward
        let bf16 = dense && bank.productPrecision == .bf16
        if bf16 && gradientBF16.count != b * n { gradientBF16 = [BF16Bits](repeating: 0, count: b * n) }
        var dv = [Float](repeating: 0, count: b * d)
        gradientBF16.withUnsafeMutableBufferPointer { gbP in
        bank.storage.withUnsafeBufferPointer { bankP in
        dv.withUnsafeMutableBufferPointer { dvP in
        scores.withUnsafeMutableBufferPointer { sp in
        insLoss.withUnsafeMutableBufferPointer { insP in
        invLoss.withUnsafeMutableBufferPointer { invP in
        nearest.withUnsafeMutableBufferPointer { nearP in
        candidateLists.withUnsafeMutableBufferPointer { candOut in
        positiveLists.withUnsafeMutableBufferPointer { posOut in
        keptBackground.withUnsafeMutableBufferPointer { bgOut in
            let scoresBase = sp.baseAddress!
            parallelRanges(count: b) { rows in
                var background = [Int32](repeating: 0, count: m)  // [M] bank indices
                var backgroundS = [Double](repeating: 0, count: m)  // [M] their s
                var acc = [Double](repeating: 0, count: d)  // [D] dv row accumulator
                for r in rows {
                    let row = scoresBase + r * n  // z[r, :], later dL/dz[r, :]
                    let anchor = indices[r]
                    // Step 4: background = top M of the row, the first k+1 ordered (step 10).
                    background.withUnsafeMutableBufferPointer { bg in
                        if let given {
                            for j in 0..<m { bg[j] = given.background[r * m + j] }
                        } else {
                            Selection.topK(UnsafePointer(row), count: n, k: m, sortedPrefix: k + 1,
                                           indices: bg.baseAddress!)
                        }
                        if keepTargets { for j in 0..<m { bgOut[r * m + j] = bg[j] } }
                    }
                    for c in 0...k { nearP[r * (k + 1) + c] = background[c] }
                    // Step 5: L_ins and its local derivatives.
                    var term = instanceTerm(row: row, anchor: anchor, background: background, backgroundS: &backgroundS, invTau: invTau)
                    insP[r] = term.loss

                    // Steps 6–8: propagation, positives, L_inv (its derivatives add to the instance term's).
                    var positives = ChosenPositives()
                    if invariance {
                        positives = given.map { scorePositives($0.positives[r], row: row, invTau: invTau) }
                            ?? choosePositives(row: row, anchor: anchor, table: table, invTau: invTau)
                        let inv = invarianceTerm(positives: positives, instance: term, scale: scale)
                        invP[r] = inv.loss
                        term.coefBg += inv.coefBg
                        term.coefSelf += inv.coefSelf
                        positives.weights = inv.positiveWeights
                        if wantDiagnostics { candOut[r] = positives.candidates }
                        if listPositives { posOut[r] = positives.indices }
                    }

                    // Gradient row dL/dz = (dL/ds)·s/τ, with the 1/B of the batch mean; every
                    // index not selected gets 0 (selection indices are constants).
                    let g = invB * invTau
                    if bf16 {
                        // Only the M + 1 + P selected entries are non-zero: they are zeroed and
                        // summed in the fp32 row exactly as below (an index may be background,
                        // self and positive at once), then rounded into the zeroed bf16 row.
                        for j in 0..<m { row[Int(background[j])] = 0 }
                        row[anchor] = 0
                        for q in positives.indices { row[Int(q)] = 0 }
                        for j in 0..<m { row[Int(background[j])] += Float(g * term.coefBg * backgroundS[j]) }
                        row[anchor] += Float(g * term.coefSelf * term.selfS)
                        for (q, w) in zip(positives.indices, positives.weights) { row[Int(q)] += Float(g * w) }
                        let out = gbP.baseAddress! + r * n
                        out.update(repeating: 0, count: n)
                        for j in 0..<m { let i = Int(background[j]); out[i] = Gemm.bf16(row[i]) }
                        out[anchor] = Gemm.bf16(row[anchor])
                        for q in positives.indices { out[Int(q)] = Gemm.bf16(row[Int(q)]) }
                    } else if dense {
                        row.update(repeating: 0, count: n)
                        for j in 0..<m { row[Int(background[j])] += Float(g * term.coefBg * backgroundS[j]) }
                        row[anchor] += Float(g * term.coefSelf * term.selfS)
                        for (q, w) in zip(positives.indices, positives.weights) { row[Int(q)] += Float(g * w) }
                    } else {
                        // Accumulated in Double: the background and self terms nearly cancel
                        // (their weights sum to about 0), and Float sums lose ~1e-4 there.
                        let bankBase = bankP.baseAddress!
                        acc.withUnsafeMutableBufferPointer { ap in
                            let a = ap.baseAddress!
                            a.update(repeating: 0, count: d)
                            for j in 0..<m {
                                axpy(g * term.coefBg * backgroundS[j], bankBase + Int(background[j]) * d, a, d)
                            }
                            axpy(g * term.coefSelf * term.selfS, bankBase + anchor * d, a, d)
                            for (q, w) in zip(positives.indices, positives.weights) { axpy(g * w, bankBase + Int(q) * d, a, d) }
                            for c in 0..<d { dvP[r * d + c] = Float(a[c]) }
                        }
                    }
                }
            }
        }}}}}}}}}}

        // Dense path: dv = (dL/dz)·bank, one sgemm [B, N]·[N, D] (a bf16 matmul on the bf16 copies).
        if bf16 {
            gradientBF16.withUnsafeBufferPointer { gp in
                dv.withUnsafeMutableBufferPointer { dp in
                    bank.backProject(bf16: gp.baseAddress!, batch: b, into: dp.baseAddress!)
                }
            }
        } else if dense {
            scores.withUnsafeBufferPointer { sp in
                dv.withUnsafeMutableBufferPointer { dp in
                    bank.backProject(sp.baseAddress!, batch: b, into: dp.baseAddress!)
                }
            }
        }
        // Back through v = f/‖f‖.
        let gradient = l2NormalizeBackward(v: v, norms: norms, dv: dv, rows: b, dimension: d)
        let ins = insLoss.reduce(0, +) * invB
        let inv = invariance ? invLoss.reduce(0, +) * invB : 0
        return InvPLossOutput(
            loss: Float(ins + Double(scale) * inv), instanceLoss: Float(ins), invarianceLoss: Float(inv),
            invarianceScale: scale, gradient: gradient, nearest: nearest,
            diagnostics: wantDiagnostics ? InvPDiagnostics(candidates: candidateLists, positives: positiveLists) : nil,
            targets: keepTargets ? InvPTargets(background: keptBackground, positives: invariance ? positiveLists : []) : nil)
    }

    /// Checks that `targets` fit a batch of `b` anchors of this loss: [b, M] background and b
    /// positive lists (none in the instance-only ablation), every index a bank row.
    func validate(_ targets: InvPTargets, batch b: Int) throws {
        let m = config.backgroundCount, n = datasetSize
        guard targets.background.count == b * m else {
            throw MethodsError.invalidInput("targets hold \(targets.background.count) background indices, expected \(b) × \(m)")
        }
        guard targets.positives.count == (config.invarianceEnabled ? b : 0) else {
            throw MethodsError.invalidInput("targets hold \(targets.positives.count) positive lists for a batch of \(b)")
        }
        guard targets.background.allSatisfy({ $0 >= 0 && Int($0) < n }),
              targets.positives.allSatisfy({ $0.allSatisfy { $0 >= 0 && Int($0) < n } }) else {
            throw MethodsError.invalidInput("targets name a bank row outside 0..<\(n)")
        }
    }
}

/// L_ins of one anchor (SPEC step 5) with what its gradient and L_inv need.
struct InstanceTerm {
    /// −log(self_s / Σ background + 1e-7).
    var loss: Double
    /// Σ of the M background s values and the anchor's own s (self_s).
    var sumBg: Double, selfS: Double
    /// ∂L/∂self_s and ∂L/∂Σbackground (L_inv adds to both when it is on).
    var coefSelf: Double, coefBg: Double
}

/// The positives of one anchor (SPEC steps 6–7) and, once L_inv is known, their gradient weights.
struct ChosenPositives {
    /// The propagated candidates, in propagation order (kept for diagnostics).
    var candidates: [Int32] = []
    /// The chosen bank indices and their s values, in selection order.
    var indices: [Int32] = [], s: [Double] = []
    /// (dL/ds)·s of each chosen positive (empty while the invariance term's weight is 0).
    var weights: [Double] = []
}

extension InvPLoss {
    /// SPEC step 5 for one row z: [N] of the anchor, given its background indices: [M]; fills
    /// `backgroundS` with their s = exp(z/τ). s in Double, so Σ of 4096 terms up to e^{1/τ} stays exact enough.
    @inline(__always)
    func instanceTerm(row: UnsafeMutablePointer<Float>, anchor: Int, background: [Int32], backgroundS: inout [Double],
                      invTau: Double) -> InstanceTerm {
        var sumBg = 0.0
        for j in 0..<background.count {
            let s = exp(Double(row[Int(background[j])]) * invTau)
            backgroundS[j] = s
            sumBg += s
        }
        let selfS = exp(Double(row[anchor]) * invTau)
        let x = selfS / sumBg
        let gx = -1 / (x + logEpsilon)
        return InstanceTerm(loss: -log(x + logEpsilon), sumBg: sumBg, selfS: selfS,
                            coefSelf: gx / sumBg, coefBg: -gx * selfS / (sumBg * sumBg))
    }

    /// SPEC steps 6–7: the anchor's propagated candidates and the P with the smallest (hard) or
    /// largest (easy) s; ties by position, so the choice is deterministic. Exact mode may find
    /// fewer than P.
    @inline(__always)
    func choosePositives(row: UnsafeMutablePointer<Float>, anchor: Int, table: NeighbourTable, invTau: Double) -> ChosenPositives {
        let cfg = config
        let cand = Propagation.candidates(anchor: anchor, table: table, hops: cfg.hops, mode: cfg.propagation)
        let candS = cand.map { exp(Double(row[Int($0)]) * invTau) }
        let order = candS.indices.sorted { a, c in
            if candS[a] != candS[c] {
                return cfg.positives == .hard ? candS[a] < candS[c] : candS[a] > candS[c]
            }
            return a < c
        }
        let p = min(cfg.positiveCount, cand.count)
        return ChosenPositives(candidates: cand, indices: order.prefix(p).map { cand[$0] }, s: order.prefix(p).map { candS[$0] })
    }

    /// Positives given by index (chosen for another view of the anchor), with their s values
    /// in this view's `row`.
    @inline(__always)
    func scorePositives(_ indices: [Int32], row: UnsafeMutablePointer<Float>, invTau: Double) -> ChosenPositives {
        ChosenPositives(indices: indices, s: indices.map { exp(Double(row[Int($0)]) * invTau) })
    }

    /// SPEC step 8: L_inv = −log(Σ positives / den + 1e-7), den = Σ background − self_s
    /// (exclusive) or Σ background; with the weight `scale` = λ·w(epoch), its derivatives with
    /// respect to Σ background, self_s and each positive's s (weighted by s).
    @inline(__always)
    func invarianceTerm(positives: ChosenPositives, instance: InstanceTerm, scale: Float)
        -> (loss: Double, coefBg: Double, coefSelf: Double, positiveWeights: [Double]) {
        let sumPos = positives.s.reduce(0, +)
        let den = config.exclusive ? instance.sumBg - instance.selfS : instance.sumBg
        let y = sumPos / den
        let loss = -log(y + logEpsilon)
        guard scale != 0 else { return (loss, 0, 0, []) }
        let gy = -1 / (y + logEpsilon)
        let a = Double(scale)
        let dDen = -gy * sumPos / (den * den)  // ∂L_inv/∂den
        let coefPos = a * gy / den             // ∂L_inv/∂each positive s
        return (loss, a * dDen, config.exclusive ? -a * dDen : 0, positives.s.map { coefPos * $0 })
    }
}

/// y[0..<n] += a · x[0..<n] with a Double accumulator (the compiler vectorises this loop).
@inline(__always)
func axpy(_ a: Double, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Double>, _ n: Int) {
    for c in 0..<n { y[c] += a * Double(x[c]) }
}
