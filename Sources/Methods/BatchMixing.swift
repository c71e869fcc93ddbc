import Data
import Randomness

/// A batch transform with a loss term of its own, on top of any method that accepts it (the
/// mixing hook of the method interface). Per step the trainer forwards the clean batch and the
/// transformed one, asks the hook for the combined loss, back-propagates through both forward
/// passes, and moves the method's state from the clean outputs only. Un-Mix is the one today.
public protocol BatchMixing: AnyObject {
    /// Name of the hook's loss term (logged as `loss_<name>` after the method's terms).
    var termName: String { get }
    /// The transformed batch of `images` [B, C, H, W] (`shape`) for global step `step`, drawn so
    /// that a resumed run draws the same.
    func mix(_ images: [Float], shape: [Int], step: Int) -> MixedBatch
    /// The method's clean loss on q: [B, D] (its records go to `finishStep`) and the hook's term on
    /// the outputs qm: [B, D] of `mixture`, with dL/dqm.
    func loss(method: any TrainingMethod, clean q: [Float], mixed qm: [Float], indices: [Int], epoch: Int,
              mixture: MixedBatch, dimension: Int) throws -> MixedStepLoss
}

/// A transformed batch and the share λ of each image that stays its own.
public struct MixedBatch: Sendable {
    /// The images [B, C, H, W].
    public var images: [Float]
    /// λ.
    public var lambda: Double
}

/// What a mixing hook returns for one step.
public struct MixedStepLoss {
    /// The clean term's result (its gradient is for q; its counts and records are the step's).
    public var clean: MethodLoss
    /// The hook's term.
    public var mixedLoss: Float
    /// dL/dqm, [B, D].
    public var mixedGradient: [Float]
}

/// Un-Mix (Shen et al., AAAI 2022) as a mixing hook: each step draws a global or region mixture
/// of the batch with its reversed order (`UnMixDraw`) from (seed, step), and the loss is
/// `UnMixLoss`'s three terms.
public final class UnMixing: BatchMixing {
    /// The options.
    public let options: UnMixOptions
    /// The run's seed (the draws' stream).
    public let seed: UInt64

    /// A hook with the given options for a run seeded `seed`.
    public init(options: UnMixOptions, seed: UInt64) {
        self.options = options; self.seed = seed
    }

    /// "unmix".
    public var termName: String { "unmix" }

    /// The mixture of step `step`.
    public func mix(_ images: [Float], shape: [Int], step: Int) -> MixedBatch {
        var generator = SeededGenerator(seed: seed, streams: [0x756E_6D69_78, UInt64(step)])   // "unmix"
        let draw = UnMixDraw.draw(&generator, globalProbability: options.globalProbability, beta: options.beta,
                                  height: shape[2], width: shape[3])
        return MixedBatch(images: draw.mix(images, batch: shape[0], channels: shape[1], height: shape[2], width: shape[3]),
                          lambda: draw.lambda)
    }

    /// `UnMixLoss.evaluate`, the mixed terms scored against the options' `targets`.
    public func loss(method: any TrainingMethod, clean q: [Float], mixed qm: [Float], indices: [Int], epoch: Int,
                     mixture: MixedBatch, dimension: Int) throws -> MixedStepLoss {
        try UnMixLoss.evaluate(method: method, clean: q, mixed: qm, indices: indices, epoch: epoch, lambda: mixture.lambda,
                               dimension: dimension, targets: options.targets)
    }
}

/// Un-Mix's options (Shen et al., AAAI 2022): image mixtures as an extra term of any memory-bank method.
public struct UnMixOptions: Codable, Sendable, Equatable {
    /// Probability of a global mixture (else a region mixture); the authors' `--prob`, 0.5.
    public var globalProbability: Double = 0.5
    /// λ ~ Beta(β, β); the authors use β = 1 (uniform).
    public var beta: Double = 1
    /// What the two mixed terms are scored against; the authors': the clean view's.
    public var targets: UnMixTargets = .clean

    /// The authors' defaults.
    public init() {}

    /// Decodes a configuration; one written before `targets` existed gets the default, `clean`.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        globalProbability = try c.decode(Double.self, forKey: .globalProbability)
        beta = try c.decode(Double.self, forKey: .beta)
        targets = try c.decodeIfPresent(UnMixTargets.self, forKey: .targets) ?? .clean
    }
}

/// What Un-Mix's two mixed terms score each anchor against. The choice matters only for a method
/// that chooses per view what an anchor is scored against (InvP: its background and positives);
/// NPID scores every view against the whole bank either way.
public enum UnMixTargets: String, Codable, Sendable, CaseIterable {
    /// The clean view's background and positives, as the authors score both mixtures against the
    /// clean key and the same negatives (the default).
    case clean
    /// Each mixed view's own, chosen from its similarities as a clean view's are (invprop before
    /// d3c594c; ahead on validation at 30 and 60 minutes, level at 10, in docs/results.md).
    case own
}
