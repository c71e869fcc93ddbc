import Foundation
import Randomness

/// One clustering head of CoKe (Qian et al., CVPR 2022, as idstcv/CoKe's single-view builder
/// runs it, first stage): K centres that move as running means of the features assigned to
/// them, dual variables that keep every cluster above a minimum share of the data, and each
/// image's assignment from the epoch before.
public struct ConstrainedClusters: Sendable, Equatable {
    /// K, the number of clusters, and D, the feature width.
    public let clusterCount: Int, dimension: Int
    /// Centres of the previous epoch (the logits' classes) and of the current one, [D, K]
    /// row-major as the authors store them, columns of unit length.
    public var previousCentres: [Float], currentCentres: [Float]
    /// Dual variables ρ, [K] (≥ 0), and the images assigned to each centre this epoch, [K].
    public var duals: [Float], counters: [Float]
    /// Every image's assignment, [N] (the authors start them all at 1).
    public var assignments: [Int32]

    /// Random unit centres drawn from `generator` (previous = current), zero duals and counters.
    public init(clusterCount: Int, dimension: Int, datasetSize: Int, generator: inout SeededGenerator) {
        self.clusterCount = clusterCount
        self.dimension = dimension
        var centres = (0..<dimension * clusterCount).map { _ in Float(generator.normal()) }
        ConstrainedClusters.normalizeColumns(&centres, rows: dimension, columns: clusterCount, only: nil)
        previousCentres = centres
        currentCentres = centres
        duals = [Float](repeating: 0, count: clusterCount)
        counters = [Float](repeating: 0, count: clusterCount)
        assignments = [Int32](repeating: 1, count: datasetSize)
    }

    /// The online assignment of normalised features xp: [B, D]: argmax_k xp·c_k + ρ_k over the
    /// current centres (the first on ties).
    public func assign(_ xp: [Float]) -> [Int32] {
        let b = xp.count / dimension, k = clusterCount
        return (0..<b).map { r in
            var best = 0, bestScore = -Float.infinity
            for j in 0..<k {
                var score = duals[j]
                for c in 0..<dimension { score += xp[r * dimension + c] * currentCentres[c * k + j] }
                if score > bestScore { best = j; bestScore = score }
            }
            return Int32(best)
        }
    }

    /// After assigning the batch xp [B, D] to `labels` [B]: ρ_k −= η·n_k/B, then ρ += η·r/K and
    /// ρ = max(ρ, 0); each centre that received images becomes the running mean of everything
    /// assigned to it this epoch, normalised.
    public mutating func update(_ xp: [Float], labels: [Int32], dualRate: Float, ratio: Float) {
        let b = labels.count, k = clusterCount, d = dimension
        var batchCounts = [Float](repeating: 0, count: k)
        for label in labels { batchCounts[Int(label)] += 1 }
        for j in 0..<k where batchCounts[j] > 0 { duals[j] -= dualRate / Float(b) * batchCounts[j] }
        for j in 0..<k { duals[j] = max(duals[j] + dualRate * ratio / Float(k), 0) }
        let present = (0..<k).filter { batchCounts[$0] > 0 }
        for j in present {
            let before = counters[j]
            counters[j] += batchCounts[j]
            let keep = before / counters[j]
            for c in 0..<d { currentCentres[c * k + j] *= keep }
        }
        for (r, label) in labels.enumerated() {
            let j = Int(label)
            for c in 0..<d { currentCentres[c * k + j] += xp[r * d + c] / counters[j] }
        }
        ConstrainedClusters.normalizeColumns(&currentCentres, rows: d, columns: k, only: present)
    }

    /// The epoch's end: its centres become the previous ones; the counters start again.
    public mutating func finishEpoch() {
        previousCentres = currentCentres
        counters = [Float](repeating: 0, count: clusterCount)
    }

    /// Divides columns (all, or `only`) of m: [rows, columns] by max(‖column‖, 1e-12).
    static func normalizeColumns(_ m: inout [Float], rows: Int, columns: Int, only: [Int]?) {
        for j in only ?? Array(0..<columns) {
            var sq: Float = 0
            for r in 0..<rows { sq += m[r * columns + j] * m[r * columns + j] }
            let inverse = 1 / max(sq.squareRoot(), 1e-12)
            for r in 0..<rows { m[r * columns + j] *= inverse }
        }
    }
}

/// CoKe's single-view loss, β·(1/H)·Σ_j CE(pp·C_j/T, y_j) + (1 − β)·(1/H)·Σ_j CE(xp·C_j/T, y_j),
/// with xp = normalise(x) for the encoder's outputs x and pp = normalise(p) for the predictor's
/// outputs p ([B, D] each), C_j the previous-epoch centres of head j and y_j the targets.
public enum CoKeLoss {
    /// The loss and its gradients with respect to x and p (unnormalised), [B, D] each.
    public static func evaluate(encoder x: [Float], predictor p: [Float], heads: [ConstrainedClusters], targets: [[Int32]],
                                temperature: Float, beta: Float) -> (loss: Float, gradEncoder: [Float], gradPredictor: [Float]) {
        let d = heads[0].dimension, b = x.count / d
        let (xp, xNorms) = l2NormalizeRows(x, rows: b, dimension: d)
        let (pp, pNorms) = l2NormalizeRows(p, rows: b, dimension: d)
        var dxp = [Float](repeating: 0, count: b * d), dpp = [Float](repeating: 0, count: b * d)
        var loss: Float = 0
        let share = 1 / Float(heads.count)
        for (head, y) in zip(heads, targets) {
            for (v, weight, isPredictor) in [(pp, beta * share, true), (xp, (1 - beta) * share, false)] where weight > 0 {
                let (term, dv) = crossEntropy(v, centres: head.previousCentres, clusters: head.clusterCount, targets: y, temperature: temperature)
                loss += weight * term
                for i in 0..<b * d {
                    if isPredictor { dpp[i] += weight * dv[i] } else { dxp[i] += weight * dv[i] }
                }
            }
        }
        return (loss, l2NormalizeBackward(v: xp, norms: xNorms, dv: dxp, rows: b, dimension: d),
                l2NormalizeBackward(v: pp, norms: pNorms, dv: dpp, rows: b, dimension: d))
    }

    /// Mean cross-entropy of the logits v·C/T ([B, K]; C: [D, K]) and its gradient for v.
    static func crossEntropy(_ v: [Float], centres: [Float], clusters k: Int, targets: [Int32], temperature: Float) -> (Float, [Float]) {
        let b = targets.count, d = v.count / b
        var loss: Float = 0
        var dv = [Float](repeating: 0, count: b * d)
        var logits = [Float](repeating: 0, count: k)
        for r in 0..<b {
            for j in 0..<k {
                var s: Float = 0
                for c in 0..<d { s += v[r * d + c] * centres[c * k + j] }
                logits[j] = s / temperature
            }
            let top = logits.max()!
            let sum = logits.reduce(Float(0)) { $0 + exp($1 - top) }
            let y = Int(targets[r])
            loss += (top + log(sum) - logits[y]) / Float(b)
            for j in 0..<k {
                let g = (exp(logits[j] - top) / sum - (j == y ? 1 : 0)) / (Float(b) * temperature)
                for c in 0..<d { dv[r * d + c] += g * centres[c * k + j] }
            }
        }
        return (loss, dv)
    }
}
