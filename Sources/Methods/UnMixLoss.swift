/// Un-Mix's loss on a memory-bank method (Shen et al., AAAI 2022, adapted to a memory bank as
/// `shared/RELATED.md` states): L(q) + λ·L(q_m) + (1 − λ)·L(reverse(q_m)), where q are the
/// clean outputs, q_m the outputs of the mixed batch, and reverse(q_m) the same rows in reversed
/// batch order (row b of it is (1 − λ) image b). With `UnMixTargets.clean` all three terms score
/// anchor b against the same positives and background: those the clean term chose
/// (`computeLossKeepingTargets`; for NPID, the whole bank); with `.own` each mixed view chooses its
/// own as the clean one does. Only the clean outputs ever reach the bank.
public enum UnMixLoss {
    /// The rows of m: [B, D] in reversed order.
    public static func reversedRows(_ m: [Float], dimension d: Int) -> [Float] {
        let b = m.count / d
        var out = [Float](repeating: 0, count: m.count)
        for r in 0..<b { out[(b - 1 - r) * d..<(b - r) * d] = m[r * d..<(r + 1) * d] }
        return out
    }

    /// Evaluates the three terms for q, q_m: [B, D] of the images `indices` in `epoch`, the mixed
    /// ones scored against `targets`; the clean term's records are the ones `finishStep` receives
    /// with q.
    public static func evaluate(method: any TrainingMethod, clean q: [Float], mixed qm: [Float], indices: [Int], epoch: Int,
                                lambda: Double, dimension d: Int, targets: UnMixTargets = .clean) throws -> MixedStepLoss {
        let clean: MethodLoss
        let mixedLoss: ([Float]) throws -> MethodLoss
        switch targets {
        case .clean:
            clean = try method.computeLossKeepingTargets(features: q, indices: indices, epoch: epoch)
            mixedLoss = { try method.computeLoss(features: $0, indices: indices, epoch: epoch, against: clean.targets) }
        case .own:
            clean = try method.computeLoss(features: q, indices: indices, epoch: epoch)
            mixedLoss = { try method.computeLoss(features: $0, indices: indices, epoch: epoch) }
        }
        let forward = try mixedLoss(qm)  // row b: λ of image b
        let other = try mixedLoss(reversedRows(qm, dimension: d))  // row b: 1 − λ of image b
        let l = Float(lambda), m = Float(1 - lambda)
        let back = reversedRows(other.gradient, dimension: d)
        let gradient = (0..<qm.count).map { l * forward.gradient[$0] + m * back[$0] }
        return MixedStepLoss(clean: clean, mixedLoss: l * forward.loss + m * other.loss, mixedGradient: gradient)
    }
}
