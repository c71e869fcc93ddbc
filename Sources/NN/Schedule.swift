import Foundation

/// A learning-rate schedule over (fractional) epochs: an optional linear warm-up, then
/// constant, multi-step or cosine decay.
public struct LearningRateSchedule: Codable, Equatable, Sendable {
    /// The decay after warm-up.
    public enum Decay: Codable, Equatable, Sendable {
        /// The base rate throughout.
        case constant
        /// Multiply by `gamma` at each milestone epoch (PyTorch's MultiStepLR).
        case multiStep(milestones: [Int], gamma: Float)
        /// Cosine from the base rate to `minimum` over the run (PyTorch's CosineAnnealingLR, per step).
        case cosine(minimum: Float)
    }
    /// Rate after warm-up.
    public var base: Float
    /// Decay rule.
    public var decay: Decay
    /// Epochs of linear warm-up from base/… to base (0 = none).
    public var warmupEpochs: Double
    /// Total epochs (for cosine).
    public var totalEpochs: Double

    /// Creates a schedule; throws for negative rates, epochs or unsorted milestones.
    public init(base: Float, decay: Decay, warmupEpochs: Double = 0, totalEpochs: Double) throws {
        guard base >= 0, base.isFinite else { throw OptimizerError.invalidOption("learning rate \(base) must be ≥ 0") }
        guard warmupEpochs >= 0, totalEpochs > 0 else {
            throw OptimizerError.invalidOption("warm-up \(warmupEpochs) must be ≥ 0 and total epochs \(totalEpochs) > 0")
        }
        // Worded with the option names of `train` and `eval semisup`, the two commands that build
        // multi-step schedules, so the user learns which option to change.
        if case .multiStep(let m, let g) = decay {
            guard m == m.sorted() else {
                throw OptimizerError.invalidOption("--milestones must be increasing epochs, got \(m.map(String.init).joined(separator: ","))")
            }
            guard g >= 0, g.isFinite else {
                throw OptimizerError.invalidOption("--gamma (the multistep factor) must be a finite number ≥ 0, got \(g)")
            }
        }
        self.base = base
        self.decay = decay
        self.warmupEpochs = warmupEpochs
        self.totalEpochs = totalEpochs
    }

    /// The rate at a point of training, `epoch` counted from 0 (0.5 = half-way through the first epoch).
    public func rate(atEpoch epoch: Double) -> Float {
        if epoch < warmupEpochs { return base * Float((epoch + 1e-9) / warmupEpochs) }
        switch decay {
        case .constant:
            return base
        case .multiStep(let milestones, let gamma):
            let passed = milestones.filter { Double($0) <= epoch }.count
            return base * Float(pow(Double(gamma), Double(passed)))
        case .cosine(let minimum):
            let span = max(totalEpochs - warmupEpochs, 1e-9)
            let t = min(max((epoch - warmupEpochs) / span, 0), 1)
            return minimum + (base - minimum) * Float(0.5 * (1 + cos(Double.pi * t)))
        }
    }
}
