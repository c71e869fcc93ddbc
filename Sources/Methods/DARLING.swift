import Foundation
import NN
import Randomness
import Tensors

/// DARLING's domain-similarity head: one linear layer from the normalised embedding to K domain
/// logits (`domain_head.weight` [K, D], `domain_head.bias` [K]), initialised N(0, 0.01) with
/// zero bias like ODC's head.
public final class DomainHead: Layer {
    /// Weight [K, D] and bias [K].
    public let weight: Tensor, bias: Tensor

    /// A head for `domains` domains over `dimension`-wide features, drawn from `seed`.
    public init(dimension: Int, domains: Int, seed: UInt64) {
        var generator = SeededGenerator(seed: seed, streams: [0x4441_524C_494E_47])   // "DARLING"
        let values = (0..<domains * dimension).map { _ in 0.01 * Float(generator.normal()) }
        weight = try! Tensor(shape: [domains, dimension], values: values, requiresGrad: true)
        bias = Tensor.zeros([domains], requiresGrad: true)
    }

    /// `domain_head.weight` and `domain_head.bias`.
    public var namedParameters: [(String, Tensor)] { [("domain_head.weight", weight), ("domain_head.bias", bias)] }
}

/// DARLING (Zhang et al., "Towards Unsupervised Domain Generalization", CVPR 2022) on NPID's
/// memory bank: the instance likelihood is a mixture over the training domains,
/// p(pos|q) = Σ_d p(d|q)·p(pos|q, d), where p(pos|q, d) contrasts the anchor's bank entry with
/// the bank entries of domain d only and p(d|q) comes from a domain head fitted to the images'
/// domain labels (`DARLINGLoss`). Per step: `computeLoss` (bank and
/// head read only; head gradients accumulated) → optimizer step → `finishStep` (NPID's bank
/// update from the global batch).
public final class DARLING: TrainingMethod {
    /// The options.
    public let config: DARLINGConfig
    /// τ and the bank's momentum (NPID's options).
    public let bankConfig: NPIDConfig
    /// The memory bank (N × D).
    public let bank: MemoryBank
    /// Dense domain of every training image, [N] in 0..<K.
    public let domains: [Int32]
    /// K, the number of training domains.
    public let domainCount: Int
    /// The domain head.
    public let head: DomainHead

    /// A method for `datasetSize` images with raw domain indices `trainingDomains` (any
    /// non-negative values; remapped to 0..<K in ascending order). Needs two domains or more.
    public init(config: DARLINGConfig, bankConfig: NPIDConfig, trainingDomains: [Int32]?, datasetSize: Int, dimension: Int, seed: UInt64) throws {
        try config.validate()
        try bankConfig.validate(datasetSize: datasetSize)
        guard let trainingDomains else {
            throw MethodsError.invalidConfiguration("--method darling needs domain labels: train on a multi-domain dataset "
                                                    + "(--dataset pacs or domain-folder with --target-domain); this dataset has none")
        }
        guard trainingDomains.count == datasetSize, trainingDomains.allSatisfy({ $0 >= 0 }) else {
            throw MethodsError.invalidConfiguration("darling: \(trainingDomains.count) domain labels for \(datasetSize) training images")
        }
        let present = Array(Set(trainingDomains)).sorted()
        guard present.count >= 2 else {
            throw MethodsError.invalidConfiguration("--method darling needs training images of 2 domains or more, got \(present.count); "
                                                    + "give more --source-domains")
        }
        let dense = Dictionary(uniqueKeysWithValues: present.enumerated().map { ($1, Int32($0)) })
        self.config = config
        self.bankConfig = bankConfig
        domains = trainingDomains.map { dense[$0]! }
        domainCount = present.count
        bank = try MemoryBank(count: datasetSize, dimension: dimension, momentum: bankConfig.momentum, seed: seed)
        head = DomainHead(dimension: dimension, domains: present.count, seed: seed)
    }

    /// The registry's constructor: τ and m from the bank options, λ from DARLING's.
    convenience init(setup: MethodSetup) throws {
        var bankConfig = NPIDConfig()
        bankConfig.temperature = setup.invp.temperature
        bankConfig.momentum = setup.invp.momentum
        try self.init(config: setup.options.darling ?? DARLINGConfig(), bankConfig: bankConfig, trainingDomains: setup.trainingDomains,
                      datasetSize: setup.datasetSize, dimension: setup.dimension, seed: setup.seed)
    }

    // MARK: TrainingMethod

    /// The domain-aware instance term and the domain head's cross-entropy.
    public var lossTermNames: [String] { ["darling", "domain"] }

    /// The memory bank.
    public var memoryBank: MemoryBank? { bank }

    /// The domain head.
    public var module: MethodModule? { MethodModule(layer: head) }

    /// The loss; the head's gradients go into its tensors, dL/df to the trainer.
    public func computeLoss(features: [Float], indices: [Int], epoch: Int) throws -> MethodLoss {
        let out = try DARLINGLoss.evaluate(features: features, indices: indices, bank: bank, domains: domains, domainCount: domainCount,
                                           headWeight: head.weight.toArray(), headBias: head.bias.toArray(),
                                           temperature: bankConfig.temperature, domainWeight: config.domainWeight)
        accumulateGradient(head.weight, out.headWeightGradient)
        accumulateGradient(head.bias, out.headBiasGradient)
        return MethodLoss(loss: out.loss, terms: [out.darling, out.domain], gradient: out.gradient,
                          counts: headCounts(out.domainProbabilities, indices: indices))
    }

    /// Sums over the batch: correct head predictions, entropy of p(d|q) (nats), p(own domain|q).
    func headCounts(_ probabilities: [Float], indices: [Int]) -> [String: Double] {
        let k = domainCount
        var correct = 0.0, entropy = 0.0, own = 0.0
        for (r, i) in indices.enumerated() {
            let row = probabilities[r * k..<(r + 1) * k].map(Double.init)
            let label = Int(domains[i])
            if row.indices.max(by: { row[$0] < row[$1] }) == label { correct += 1 }
            entropy -= row.reduce(0) { $0 + ($1 > 0 ? $1 * log($1) : 0) }
            own += row[label]
        }
        return ["domain_correct": correct, "domain_entropy": entropy, "domain_own": own, "domain_seen": Double(indices.count)]
    }

    /// NPID's bank update from the global batch (no records needed).
    public func finishStep(features: [Float], indices: [Int], records: [Int32]) throws -> [String: Double] {
        try bank.update(indices: indices, features: features)
        return [:]
    }

    /// The bank from the initial network's features.
    public func start(fromFeatures features: [Float]) throws { try bank.fill(features: features) }

    /// The domain head's accuracy against the domain labels, the mean entropy of p(d|q) in nats
    /// (log K: no domain told apart) and the mean p(own domain|q), over the epoch's steps.
    public func epochDiagnostics(epoch: Int, counts: [String: Double]) -> [String: Double] {
        guard let seen = counts["domain_seen"], seen > 0 else { return [:] }
        return ["domain_accuracy": (counts["domain_correct"] ?? 0) / seen, "domain_entropy": (counts["domain_entropy"] ?? 0) / seen,
                "domain_own_probability": (counts["domain_own"] ?? 0) / seen]
    }

    /// The domain head's accuracy and mean probability of the image's own domain as fractions, its entropy in nats.
    public var diagnosticUnits: [String: String] {
        ["domain_accuracy": DiagnosticUnit.fraction, "domain_own_probability": DiagnosticUnit.fraction,
         "domain_entropy": DiagnosticUnit.nats]
    }

    /// `bank` [N, D] (the head is saved with the network's parameters).
    public func stateTensors() -> [String: MethodStateTensor] { ["bank": bank.stateTensor] }

    /// Checks and restores the bank.
    public func restoreState(_ tensors: [String: MethodStateTensor]) throws {
        try bank.restore(try bank.values(from: tensors["bank"], name: "bank"))
    }
}
