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
    /// dataset indices `indices`: [B], in `epoch` (counted from 1, as the authors' loop does),
    /// against `bank` and the neighbour `table` as they were before this step. Neither is
    /// modified. With `targets`, each anchor's background and positives are those given (chosen
    /// by an earlier evaluation of the same anchors with `keepTargets`) instead of being chosen
    /// from f's similarities.
    public func evaluate(
        features: [Float], indices: [Int], epoch: Int, bank: MemoryBank, table: NeighbourTable,
        diagnostics wantDiagnostics: Bool = false, keepTargets: Bool = false, targets given: InvPTargets? = nil
    ) throws -> InvPLossOutput {
        let b = try checkInputs(features: features, indices: indices, epoch: epoch, bank: bank, table: table, targets: given)
        // Steps 1–2: v = f/‖f‖ ([B, D]) and z = v·bankᵀ ([B, N]) into `scores`; s = exp(z/τ) is
        // formed only where it is used (background, self, candidates): exp is monotone, so
        // selecting on z selects the same entries.
        let (v, norms) = normalizedSimilarities(features, batch: b, bank: bank, into: &scores)
        let scale = config.invarianceEnabled ? config.invarianceWeight * config.rampWeight(epoch: epoch) : 0
        // Steps 3–8 anchor by anchor, each leaving its row of dL/dz (step 9) where `path` wants it.
        let path = prepareGradientPath(bank: bank, batch: b)
        var dv = [Float](repeating: 0, count: b * bank.dimension)  // [B, D] dL/dv
        let anchors = scoreAnchors(indices: indices, table: table, scale: scale, given: given, keepBackground: keepTargets,
                                   path: path, bank: bank, dv: &dv)
        backProject(path, batch: b, bank: bank, into: &dv)
        // Back through v = f/‖f‖.
        let gradient = l2NormalizeBackward(v: v, norms: norms, dv: dv, rows: b, dimension: bank.dimension)
        return output(anchors, scale: scale, gradient: gradient, diagnostics: wantDiagnostics, keepTargets: keepTargets)
    }

    /// Checks the bank, the table, the epoch, the batch and the given targets against this loss;
    /// returns the batch size B.
    func checkInputs(features: [Float], indices: [Int], epoch: Int, bank: MemoryBank, table: NeighbourTable,
                     targets given: InvPTargets?) throws -> Int {
        let n = datasetSize
        guard bank.count == n, table.count == n else {
            throw MethodsError.invalidInput("bank (\(bank.count)) and table (\(table.count)) must both have \(n) entries")
        }
        guard table.neighbours == config.neighbourCount else {
            throw MethodsError.invalidInput("table has k = \(table.neighbours), configuration k = \(config.neighbourCount)")
        }
        guard epoch >= 0 else { throw MethodsError.invalidInput("epoch must be ≥ 0, got \(epoch)") }
        let b = try validateBatch(features: features, indices: indices, dimension: bank.dimension, datasetSize: n)
        if let given { try validate(given, batch: b) }
        return b
    }

    /// Chooses how step 9 forms dv, sizing the bf16 workspace when it is used.
    func prepareGradientPath(bank: MemoryBank, batch b: Int) -> GradientPath {
        guard denseBackward else { return .gathered }
        guard bank.productPrecision == .bf16 else { return .fp32Product }
        if gradientBF16.count != b * datasetSize { gradientBF16 = [BF16Bits](repeating: 0, count: b * datasetSize) }
        return .bf16Product
    }

    /// SPEC steps 3–9 for every anchor of the batch, on all threads (rows are independent): each
    /// row of `scores` holds the anchor's z: [N] on entry, and its dL/dz row is left where `path`
    /// wants it (on the gathered path, dL/dv's row is written into `dv` directly).
    func scoreAnchors(indices: [Int], table: NeighbourTable, scale: Float, given: InvPTargets?, keepBackground: Bool,
                      path: GradientPath, bank: MemoryBank, dv: inout [Float]) -> [AnchorScore] {
        let b = indices.count, n = datasetSize, d = bank.dimension, m = config.backgroundCount
        let invTau = 1 / Double(config.temperature)
        let factor = invTau / Double(b)  // dL/dz = (dL/ds)·s/τ, with the 1/B of the batch mean
        return scores.withUnsafeMutableBufferPointer { zP in
        gradientBF16.withUnsafeMutableBufferPointer { gP in
        bank.storage.withUnsafeBufferPointer { bankP in
        dv.withUnsafeMutableBufferPointer { dvP in
            Array(unsafeUninitializedCapacity: b) { results, count in
                parallelRanges(count: b) { rows in
                    var scratch = AnchorScratch(background: m, dimension: d)
                    for r in rows {
                        let row = zP.baseAddress! + r * n  // z[r, :], then dL/dz[r, :] on the fp32 path
                        let score = scoreAnchor(r, row: row, anchor: indices[r], table: table, scale: scale, invTau: invTau,
                                                given: given, keepBackground: keepBackground, scratch: &scratch)
                        let sink: GradientRowSink = switch path {
                        case .bf16Product: .bf16(gP.baseAddress! + r * n)
                        case .fp32Product: .fp32
                        case .gathered: .gathered(bank: bankP.baseAddress!, dv: dvP.baseAddress! + r * d)
                        }
                        writeGradientRow(score, anchor: indices[r], factor: factor, row: row, sink: sink, scratch: &scratch)
                        (results.baseAddress! + r).initialize(to: score)
                    }
                }
                count = b
            }
        }}}}
    }

    /// SPEC steps 4–8 for the anchor of batch row `r`, whose similarities z: [N] are `row`: its
    /// background (given, or the top M with the first k + 1 ordered), L_ins, and with the
    /// invariance term its positives (given, or chosen among the propagated candidates) and
    /// L_inv, whose derivatives add to L_ins's. Leaves the background and its s in `scratch`.
    func scoreAnchor(_ r: Int, row: UnsafeMutablePointer<Float>, anchor: Int, table: NeighbourTable, scale: Float,
                     invTau: Double, given: InvPTargets?, keepBackground: Bool, scratch: inout AnchorScratch) -> AnchorScore {
        let m = config.backgroundCount, k = config.neighbourCount
        scratch.background.withUnsafeMutableBufferPointer { bg in
            if let given {
                for j in 0..<m { bg[j] = given.background[r * m + j] }
            } else {
                Selection.topK(UnsafePointer(row), count: datasetSize, k: m, sortedPrefix: k + 1, indices: bg.baseAddress!)
            }
        }
        let instance = instanceTerm(row: row, anchor: anchor, background: scratch.background,
                                    backgroundS: &scratch.backgroundS, invTau: invTau)
        var score = AnchorScore(instance: instance, nearest: Array(scratch.background[0...k]),
                                background: keepBackground ? scratch.background : nil)
        guard config.invarianceEnabled else { return score }
        var positives = given.map { scorePositives($0.positives[r], row: row, invTau: invTau) }
            ?? choosePositives(row: row, anchor: anchor, table: table, invTau: invTau)
        let invariance = invarianceTerm(positives: positives, instance: instance, scale: scale)
        score.invarianceLoss = invariance.loss
        score.instance.coefBg += invariance.coefBg
        score.instance.coefSelf += invariance.coefSelf
        positives.weights = invariance.positiveWeights
        score.positives = positives
        return score
    }

    /// SPEC step 9 for one anchor: dL/dz = (dL/ds)·s·`factor` on its M + 1 + P selected entries
    /// and 0 elsewhere (selections are constants), written where `sink` says; `row` holds the
    /// anchor's z: [N] on entry. An index may be background, self and positive at once, so the
    /// shares are summed.
    func writeGradientRow(_ score: AnchorScore, anchor: Int, factor: Double, row: UnsafeMutablePointer<Float>,
                          sink: GradientRowSink, scratch: inout AnchorScratch) {
        let n = datasetSize
        let background = scratch.background, backgroundS = scratch.backgroundS
        /// Calls `body` with each selected index and its share of dL/dz, background first.
        func forEachShare(_ body: (Int, Double) -> Void) {
            for j in 0..<background.count { body(Int(background[j]), factor * score.instance.coefBg * backgroundS[j]) }
            body(anchor, factor * score.instance.coefSelf * score.instance.selfS)
            for (q, w) in zip(score.positives.indices, score.positives.weights) { body(Int(q), factor * w) }
        }
        switch sink {
        case .bf16(let out):
            // Summed in the fp32 row, whose selected entries are zeroed first, then rounded into
            // the zeroed bf16 row.
            forEachShare { i, _ in row[i] = 0 }
            forEachShare { i, share in row[i] += Float(share) }
            out.update(repeating: 0, count: n)
            forEachShare { i, _ in out[i] = Gemm.bf16(row[i]) }
        case .fp32:
            row.update(repeating: 0, count: n)
            forEachShare { i, share in row[i] += Float(share) }
        case .gathered(let bank, let dv):
            // Accumulated in Double: the background and self terms nearly cancel (their weights
            // sum to about 0), and Float sums lose ~1e-4 there.
            let d = scratch.accumulator.count
            scratch.accumulator.withUnsafeMutableBufferPointer { ap in
                let a = ap.baseAddress!
                a.update(repeating: 0, count: d)
                forEachShare { i, share in axpy(share, bank + i * d, a, d) }
                for c in 0..<d { dv[c] = Float(a[c]) }
            }
        }
    }

    /// SPEC step 9's product on the dense paths: dv = (dL/dz)·bank, one [B, N]·[N, D] product
    /// (in bf16 on the rounded rows); the gathered path summed dv row by row already.
    func backProject(_ path: GradientPath, batch b: Int, bank: MemoryBank, into dv: inout [Float]) {
        switch path {
        case .bf16Product:
            gradientBF16.withUnsafeBufferPointer { gp in
                dv.withUnsafeMutableBufferPointer { dp in bank.backProject(bf16: gp.baseAddress!, batch: b, into: dp.baseAddress!) }
            }
        case .fp32Product:
            scores.withUnsafeBufferPointer { sp in
                dv.withUnsafeMutableBufferPointer { dp in bank.backProject(sp.baseAddress!, batch: b, into: dp.baseAddress!) }
            }
        case .gathered:
            break
        }
    }

    /// The batch means of the anchors' terms (SPEC step 9's L) and what the caller asked to keep.
    func output(_ anchors: [AnchorScore], scale: Float, gradient: [Float], diagnostics: Bool, keepTargets: Bool)
        -> InvPLossOutput {
        let invB = 1 / Double(anchors.count)
        let invariance = config.invarianceEnabled
        let ins = anchors.reduce(0) { $0 + $1.instance.loss } * invB
        let inv = invariance ? anchors.reduce(0) { $0 + $1.invarianceLoss } * invB : 0
        let positives = anchors.map(\.positives.indices)
        return InvPLossOutput(
            loss: Float(ins + Double(scale) * inv), instanceLoss: Float(ins), invarianceLoss: Float(inv),
            invarianceScale: scale, gradient: gradient, nearest: anchors.flatMap(\.nearest),
            diagnostics: diagnostics ? InvPDiagnostics(candidates: anchors.map(\.positives.candidates), positives: positives) : nil,
            targets: keepTargets ? InvPTargets(background: anchors.flatMap { $0.background ?? [] },
                                               positives: invariance ? positives : []) : nil)
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

/// What one anchor contributes (SPEC steps 4–8): its terms, its choices, and the coefficients of
/// its row of dL/dz.
struct AnchorScore {
    /// L_ins with ∂L/∂self_s and ∂L/∂Σbackground, L_inv's share added when it is on.
    var instance: InstanceTerm
    /// L_inv (0 in the instance-only ablation).
    var invarianceLoss = 0.0
    /// The candidates and chosen positives, with their gradient weights once L_inv's factor is
    /// non-zero (empty in the instance-only ablation).
    var positives = ChosenPositives()
    /// [k + 1]: the most similar bank indices, most similar first (SPEC step 10).
    var nearest: [Int32]
    /// [M]: the whole background, only when the targets are kept.
    var background: [Int32]?
}

/// One row task's scratch, reused across its anchors.
struct AnchorScratch {
    /// [M]: the anchor's background, bank indices.
    var background: [Int32]
    /// [M]: their s = exp(z/τ).
    var backgroundS: [Double]
    /// [D]: dL/dv's row on the gathered path.
    var accumulator: [Double]

    init(background m: Int, dimension d: Int) {
        background = [Int32](repeating: 0, count: m)
        backgroundS = [Double](repeating: 0, count: m)
        accumulator = [Double](repeating: 0, count: d)
    }
}

/// How step 9 forms dv = (dL/dz)·bank.
enum GradientPath {
    /// dL/dz rounded to bf16 in `gradientBF16`, then one bf16 product (the bank's products are bf16).
    case bf16Product
    /// dL/dz in place of z in `scores`, then one fp32 product.
    case fp32Product
    /// dv summed row by row from the selected bank rows (`denseBackward` off).
    case gathered
}

/// Where one anchor's row of dL/dz goes.
enum GradientRowSink {
    /// Rounded into this [N] row of `gradientBF16`.
    case bf16(UnsafeMutablePointer<BF16Bits>)
    /// Into the anchor's own row of `scores`.
    case fp32
    /// Multiplied into dL/dv's [D] row `dv` straight from `bank`: [N, D].
    case gathered(bank: UnsafePointer<Float>, dv: UnsafeMutablePointer<Float>)
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
