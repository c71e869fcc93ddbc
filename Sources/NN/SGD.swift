import Tensors

/// Parameters that share a learning-rate multiplier and a weight decay.
public struct ParameterGroup {
    /// Named parameters of the group.
    public var parameters: [(String, Tensor)]
    /// Multiplier on the optimizer's learning rate (e.g. 50 for a fine-tuned classifier).
    public var learningRateScale: Float
    /// L2 penalty added to the gradient (PyTorch's `weight_decay`).
    public var weightDecay: Float
    /// The group's own momentum (e.g. 0 for ODC's classification head); nil: the optimizer's.
    public var momentum: Float?

    /// A group of parameters.
    public init(_ parameters: [(String, Tensor)], learningRateScale: Float = 1, weightDecay: Float, momentum: Float? = nil) {
        self.parameters = parameters
        self.learningRateScale = learningRateScale
        self.weightDecay = weightDecay
        self.momentum = momentum
    }

    /// Splits parameters into weights (decayed) and batch-norm/bias vectors (not decayed),
    /// the usual option of excluding one-dimensional parameters from weight decay.
    public static func excludingVectorsFromDecay(_ parameters: [(String, Tensor)], weightDecay: Float,
                                                 learningRateScale: Float = 1) -> [ParameterGroup] {
        [ParameterGroup(parameters.filter { $0.1.shape.count > 1 }, learningRateScale: learningRateScale, weightDecay: weightDecay),
         ParameterGroup(parameters.filter { $0.1.shape.count <= 1 }, learningRateScale: learningRateScale, weightDecay: 0)]
    }
}

/// Errors of the optimisation layer.
public enum OptimizerError: Error, CustomStringConvertible {
    /// An option is out of range; the message names it.
    case invalidOption(String)
    /// Saved optimizer state does not fit the parameters.
    case stateMismatch(String)

    public var description: String {
        switch self {
        case .invalidOption(let m): return "invalid optimizer option: \(m)"
        case .stateMismatch(let m): return "optimizer state mismatch: \(m)"
        }
    }
}

/// Stochastic gradient descent with momentum, Nesterov momentum and weight decay, exactly as
/// `torch.optim.SGD` (dampening 0): d = g + wd·p; buf = μ·buf + d (buf = d on the first step);
/// d = d + μ·buf (Nesterov) or buf; p −= lr·d.
public final class SGD {
    /// Parameter groups.
    public let groups: [ParameterGroup]
    /// Base learning rate (set by the schedule every step).
    public var learningRate: Float
    /// Momentum μ and whether it is Nesterov's.
    public let momentum: Float, nesterov: Bool
    /// Momentum buffers by parameter name (absent until the parameter's first step).
    public private(set) var momentumBuffers: [String: [Float]] = [:]

    /// Creates the optimizer; throws for negative rates or momentum outside [0, 1).
    public init(groups: [ParameterGroup], learningRate: Float, momentum: Float = 0.9, nesterov: Bool = false) throws {
        guard learningRate >= 0, learningRate.isFinite else { throw OptimizerError.invalidOption("learning rate \(learningRate) must be ≥ 0") }
        guard (0..<1).contains(momentum) else { throw OptimizerError.invalidOption("momentum \(momentum) must be in [0, 1)") }
        if nesterov && momentum == 0 { throw OptimizerError.invalidOption("Nesterov momentum needs momentum > 0") }
        for g in groups where g.weightDecay < 0 || g.learningRateScale < 0 {
            throw OptimizerError.invalidOption("weight decay \(g.weightDecay) and learning-rate scale \(g.learningRateScale) must be ≥ 0")
        }
        for g in groups {
            if let m = g.momentum, !(0..<1).contains(m) { throw OptimizerError.invalidOption("a group's momentum \(m) must be in [0, 1)") }
            if nesterov && g.momentum == 0 { throw OptimizerError.invalidOption("Nesterov momentum needs momentum > 0 in every group") }
        }
        var seen = Set<String>()
        for (name, _) in groups.flatMap({ $0.parameters }) where !seen.insert(name).inserted {
            throw OptimizerError.invalidOption("parameter \(name) appears in more than one group")
        }
        self.groups = groups
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
    }

    /// Applies one update to every parameter that has a gradient.
    public func step() {
        for group in groups {
            let lr = learningRate * group.learningRateScale, wd = group.weightDecay, momentum = group.momentum ?? self.momentum
            for (name, p) in group.parameters {
                guard let grad = p.grad else { continue }
                let n = p.count
                let hadBuffer = momentumBuffers[name] != nil
                var buffer = momentumBuffers[name] ?? (momentum > 0 ? [Float](repeating: 0, count: n) : [])
                p.withFloats { w in
                    grad.withFloats { g in
                        buffer.withUnsafeMutableBufferPointer { b in
                            for i in 0..<n {
                                var d = g[i] + wd * w[i]
                                if momentum > 0 {
                                    b[i] = hadBuffer ? momentum * b[i] + d : d
                                    d = nesterov ? d + momentum * b[i] : b[i]
                                }
                                w[i] -= lr * d
                            }
                        }
                    }
                }
                if momentum > 0 { momentumBuffers[name] = buffer }
            }
        }
    }

    /// Clears every parameter's gradient.
    public func zeroGradients() {
        for group in groups { for (_, p) in group.parameters { p.grad = nil } }
    }

    /// Restores momentum buffers (from a checkpoint); each must match its parameter's size and be finite.
    public func restore(momentumBuffers saved: [String: [Float]]) throws {
        let sizes = Dictionary(uniqueKeysWithValues: groups.flatMap { $0.parameters }.map { ($0.0, $0.1.count) })
        for (name, values) in saved {
            guard let n = sizes[name] else { throw OptimizerError.stateMismatch("momentum buffer for unknown parameter \(name)") }
            guard n == values.count else { throw OptimizerError.stateMismatch("momentum buffer \(name) has \(values.count) values, parameter has \(n)") }
            // A NaN or infinite buffer would pass into every later step of its parameter unnoticed.
            guard values.allSatisfy(\.isFinite) else { throw OptimizerError.stateMismatch("momentum buffer \(name) contains non-finite values") }
        }
        momentumBuffers = saved
    }
}
