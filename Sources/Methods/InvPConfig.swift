import Foundation

/// How the invariance term is switched on over the epochs (SPEC step 9).
public enum WarmUp: String, Sendable, Codable, CaseIterable {
    /// w = 1 if epoch > T else 0 (the reference default, `BinaryRampUp`).
    case binary
    /// w = exp(−5·max(1 − epoch/T, 0)²) (`GaussianRampUp`).
    case gaussian
    /// w = 1 from the first epoch (the reference's `zero` option).
    case none
}

/// Which of the propagated candidates become positives (SPEC step 7).
public enum PositiveSelection: String, Sendable, Codable, CaseIterable {
    /// The P least similar candidates (the paper's hard positives).
    case hard
    /// The P most similar candidates (ablation).
    case easy
}

/// Every knob of the InvP loss (SPEC steps 2–11); defaults are the reference code's CIFAR-10
/// settings except τ, whose code default 0.07 is kept (presets choose 0.1 / 0.2).
public struct InvPConfig: Sendable, Codable, Equatable {
    /// τ, the softmax temperature in s = exp(v·bankᵀ/τ).
    public var temperature: Float = 0.07
    /// m, the bank momentum (SPEC step 11).
    public var momentum: Float = 0.5
    /// M, the background size: the M most similar bank entries per anchor (SPEC step 4).
    public var backgroundCount: Int = 4096
    /// k, the neighbour-table width (SPEC steps 6 and 10).
    public var neighbourCount: Int = 4
    /// L, the propagation depth in hops (SPEC step 6).
    public var hops: Int = 3
    /// P, the number of positives kept per anchor (SPEC step 7).
    public var positiveCount: Int = 20
    /// λ, the weight of the invariance term (SPEC step 9).
    public var invarianceWeight: Float = 0.6
    /// T, the number of instance-only epochs before the invariance term starts (SPEC step 9).
    public var warmUpEpochs: Int = 30
    /// The warm-up kind (binary, Gaussian, none).
    public var warmUp: WarmUp = .binary
    /// Hard (P smallest) or easy (P largest) positives.
    public var positives: PositiveSelection = .hard
    /// Exclusive denominator Σ background − self_s (the default) or Σ background (SPEC step 8).
    public var exclusive: Bool = true
    /// Reference (concatenation) or exact (BFS) propagation.
    public var propagation: PropagationMode = .reference
    /// False gives the instance-only ablation: L = L_ins, no propagation.
    public var invarianceEnabled: Bool = true
    /// Precision of the two bank products (nil: fp32; `BankPrecision`); NPID reads it too.
    /// Optional so that configurations written before it decode, and encode unchanged.
    public var bankPrecision: BankPrecision?

    /// The defaults listed above.
    public init() {}

    /// The number of candidates reference propagation produces, Σ_{l=1..L} kˡ (the most exact
    /// propagation can produce); nil when it overflows a sane size.
    public var candidateCount: Int? { Propagation.referenceCount(neighbours: neighbourCount, hops: hops) }

    /// Throws `MethodsError.invalidConfiguration` naming the first option out of range for a
    /// dataset (and bank) of `datasetSize` entries.
    public func validate(datasetSize n: Int) throws {
        func bad(_ m: String) -> MethodsError { .invalidConfiguration(m) }
        guard n >= 2 else { throw bad("dataset size must be ≥ 2, got \(n)") }
        // Each message names the `invprop train` option (every method saves these options, so
        // TrainingConfig.validate checks them too, before any data is read).
        guard temperature.isFinite && temperature > 0 else { throw bad("--temperature τ must be a finite number > 0, got \(temperature)") }
        guard momentum >= 0 && momentum < 1 else { throw bad("--bank-momentum m must be in [0, 1), got \(momentum)") }
        guard neighbourCount >= 1 && neighbourCount < n else {
            throw bad("--neighbours k must be in 1..<\(n) (dataset size), got \(neighbourCount)")
        }
        guard backgroundCount <= n else {
            throw bad("--background M = \(backgroundCount) exceeds the dataset size \(n)")
        }
        guard backgroundCount >= neighbourCount + 1 else {
            throw bad("--background M must be ≥ k+1 = \(neighbourCount + 1) (the table update reads k+1 entries), got \(backgroundCount)")
        }
        guard invarianceWeight.isFinite && invarianceWeight >= 0 else {
            throw bad("--lambda λ must be a finite number ≥ 0, got \(invarianceWeight)")
        }
        guard warmUpEpochs >= 0 else { throw bad("--invariance-warmup T must be ≥ 0, got \(warmUpEpochs)") }
        if warmUp == .gaussian && warmUpEpochs == 0 { throw bad("Gaussian warm-up (--ramp gaussian) needs --invariance-warmup T ≥ 1") }
        guard hops >= 1 else { throw bad("--hops L must be ≥ 1, got \(hops)") }
        guard let candidates = candidateCount else {
            throw bad("k = \(neighbourCount), L = \(hops) gives too many candidates (Σ kˡ overflows; lower --neighbours or --hops)")
        }
        guard positiveCount >= 1 && positiveCount <= candidates else {
            throw bad("--positives P must be in 1...\(candidates) (Σ kˡ candidates for k = \(neighbourCount), L = \(hops)), got \(positiveCount)")
        }
    }

    /// w(epoch) of SPEC step 9; `epoch` counts from 1 as the authors' loop does, so a binary
    /// warm-up of T gives exactly T instance-only epochs (1…T).
    public func rampWeight(epoch: Int) -> Float {
        switch warmUp {
        case .binary: return epoch > warmUpEpochs ? 1 : 0
        case .gaussian:
            let t = max(1 - Double(epoch) / Double(max(warmUpEpochs, 1)), 0)
            return Float(exp(-5 * t * t))
        case .none: return 1
        }
    }
}
