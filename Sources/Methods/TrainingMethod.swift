import NN

/// Layers a method trains together with the network (ODC's classification head, CoKe's
/// predictor): the same optimizer steps them, with these group settings. Their state-dict names
/// are PyTorch-style (e.g. `head.fc_cls.weight`); checkpoints keep them under `method_module.`.
public struct MethodModule {
    /// The layers, with parameter, buffer and counter names relative to the method.
    public var layer: any Layer
    /// The group's momentum (nil: the optimizer's), e.g. 0 for ODC's head as in its config.
    public var momentum: Float?

    /// A module with its optimizer settings.
    public init(layer: any Layer, momentum: Float? = nil) {
        self.layer = layer; self.momentum = momentum
    }
}

/// A tensor of a method's state, saved in checkpoints as `method.<name>`.
public enum MethodStateTensor: Equatable, Sendable {
    /// 32-bit floats with their shape (e.g. the memory bank, [N, D]).
    case floats([Float], shape: [Int])
    /// 32-bit integers with their shape (e.g. the neighbour table, [N, k]).
    case int32s([Int32], shape: [Int])
}

/// What a method returns for one batch.
public struct MethodLoss: Sendable {
    /// The total loss L, averaged over the batch.
    public var loss: Float
    /// One value per `TrainingMethod.lossTermNames` entry, in that order.
    public var terms: [Float]
    /// dL/df: [B, D], the gradient with respect to the network's outputs.
    public var gradient: [Float]
    /// Per-batch counts that add up over an epoch (e.g. purity numerators and denominators);
    /// `TrainingMethod.epochDiagnostics` turns their sums into the epoch's diagnostics.
    public var counts: [String: Double]
    /// What `finishStep` needs from this step besides f, per sample: [B, recordWidth] (InvP: the
    /// k + 1 nearest bank entries of each anchor; CoKe: each head's assignment). In data-parallel
    /// training every rank's records are gathered, so each rank updates the state from the whole
    /// global batch.
    public var records: [Int32]
    /// What the method chose to score each anchor against (InvP: its background and positives),
    /// kept by `computeLossKeepingTargets` for a mixing hook; opaque to everyone but the method.
    public var targets: (any Sendable)?

    /// A step's result.
    public init(loss: Float, terms: [Float], gradient: [Float], counts: [String: Double] = [:], records: [Int32] = [],
                targets: (any Sendable)? = nil) {
        self.loss = loss; self.terms = terms; self.gradient = gradient; self.counts = counts; self.records = records
        self.targets = targets
    }
}

/// Everything a method needs to start: its options, the size of the data, the embedding width.
public struct MethodSetup: Sendable {
    /// Memory-bank method options (τ, m, M, k, L, P, λ, warm-up, …); NPID reads τ and m.
    public var invp: InvPConfig
    /// The options of the methods that have their own (ODC's, CoKe's).
    public var options = MethodOptions()
    /// Width of the backbone's pooled features (CoKe's predictor's hidden width by default).
    public var backboneWidth = 0
    /// N, the number of training images (memory-bank rows), and D, the embedding width.
    public var datasetSize: Int, dimension: Int
    /// Seed of the method's own randomness (the bank's start).
    public var seed: UInt64
    /// Labels of the training images, for diagnostics only (purity); never used to train.
    public var diagnosticLabels: [Int32]?
    /// Class of each training image and the number of classes, given only to methods whose
    /// registry entry `usesLabels` (the supervised reference); nil for every other method.
    public var trainingLabels: [Int32]?, classCount: Int?
    /// Domain of each training image (an index into the dataset's domain names; nil for
    /// single-domain data): DARLING's only side information.
    public var trainingDomains: [Int32]?

    /// A setup.
    public init(invp: InvPConfig, datasetSize: Int, dimension: Int, seed: UInt64, diagnosticLabels: [Int32]? = nil) {
        self.invp = invp; self.datasetSize = datasetSize; self.dimension = dimension; self.seed = seed
        self.diagnosticLabels = diagnosticLabels
    }
}

/// A self-supervised objective as the trainer drives it. Per step:
/// 1. `computeLoss(features: f, indices:, epoch:)` for the network's outputs f: [B, D];
/// 2. the trainer backpropagates `gradient` and takes the optimizer step;
/// 3. `finishStep(features: f, indices:, records:)` updates the method's state from the same f
///    and the loss's `records`.
/// Data-parallel rule (docs/distributed.md): `computeLoss` sees only this process's share of the
/// global batch and must leave the state alone; `finishStep` receives the whole global batch (every
/// rank's f, indices and records, in rank order) and must be deterministic, so that every rank's
/// state stays identical. In one process both see the same batch.
/// The state (`stateTensors`) goes into every checkpoint as `method.<name>`; loss terms and
/// diagnostics reach the progress line, `metrics.jsonl` and the report by their names.
public protocol TrainingMethod: AnyObject {
    /// Names of the loss terms, in display order (logged as `loss_<name>`).
    var lossTermNames: [String] { get }
    /// The memory bank, when the method keeps one (the kNN monitor scores it; `--bank-init
    /// features` fills it).
    var memoryBank: MemoryBank? { get }
    /// Loss, named terms and dL/df for f: [B, D] of the training images `indices` in `epoch`
    /// (counted from 1, as the authors' loops count).
    func computeLoss(features: [Float], indices: [Int], epoch: Int) throws -> MethodLoss
    /// `computeLoss` that also keeps in `MethodLoss.targets` what each anchor was scored against,
    /// so that a mixing hook can score transformed views of the same anchors against it.
    func computeLossKeepingTargets(features: [Float], indices: [Int], epoch: Int) throws -> MethodLoss
    /// The loss of f: [B, D], outputs of a transformed view of the images `indices`, scored
    /// against `targets` (from `computeLossKeepingTargets` on the clean view) instead of targets
    /// chosen from f. Its records and counts are not the step's.
    func computeLoss(features: [Float], indices: [Int], epoch: Int, against targets: (any Sendable)?) throws -> MethodLoss
    /// Width of `MethodLoss.records` per sample (0: the method needs none).
    var recordWidth: Int { get }
    /// Updates the state after the optimizer step from the global batch's f: [B, D], indices [B]
    /// and records [B, recordWidth]; returns counts over that batch that add up over the epoch
    /// (like `MethodLoss.counts`, but already global).
    func finishStep(features: [Float], indices: [Int], records: [Int32]) throws -> [String: Double]
    /// Starts the state from the initial network's normalised-or-not outputs on every training
    /// image, [N, D] in bank order (`--bank-init features`).
    func start(fromFeatures features: [Float]) throws
    /// The epoch's diagnostics by name (e.g. `purity_hard`, `invariance_weight`) from the summed
    /// `MethodLoss.counts` of its steps.
    func epochDiagnostics(epoch: Int, counts: [String: Double]) -> [String: Double]
    /// The unit of each of `epochDiagnostics`' values, by name (`DiagnosticUnit`); a name left
    /// out is a plain number. The epoch line prints them and the report labels its axes with them.
    var diagnosticUnits: [String: String] { get }
    /// The state to checkpoint, by name.
    func stateTensors() -> [String: MethodStateTensor]
    /// Restores `stateTensors()` output; checks every tensor before changing anything.
    func restoreState(_ tensors: [String: MethodStateTensor]) throws
    /// Trainable layers of the method's own (nil for InvP and NPID). `computeLoss` accumulates
    /// their gradients into `Tensor.grad`; the trainer's optimizer steps them.
    var module: MethodModule? { get }
    /// Whether `start(fromFeatures:)` must run before the first step whatever `--bank-init` says
    /// (ODC clusters the initial network's features).
    var requiresFeatureStart: Bool { get }
    /// Multiplier on the scheduled learning rate in `epoch` (1-based); CoKe trains nothing in
    /// its first epoch, where the clusters form.
    func learningRateScale(epoch: Int) -> Float
    /// Called once after the last step of `epoch` (1-based), before the monitor and the
    /// checkpoint (CoKe: this epoch's centres become the previous ones).
    func finishEpoch(_ epoch: Int) throws
}

extension TrainingMethod {
    /// `computeLoss`: for a method whose targets do not depend on f (NPID scores every anchor
    /// against the whole bank), there is nothing to keep.
    public func computeLossKeepingTargets(features: [Float], indices: [Int], epoch: Int) throws -> MethodLoss {
        try computeLoss(features: features, indices: indices, epoch: epoch)
    }
    /// `computeLoss`, for the same reason.
    public func computeLoss(features: [Float], indices: [Int], epoch: Int, against targets: (any Sendable)?) throws -> MethodLoss {
        try computeLoss(features: features, indices: indices, epoch: epoch)
    }
    /// No units: plain numbers.
    public var diagnosticUnits: [String: String] { [:] }
    /// No layers of its own.
    public var module: MethodModule? { nil }
    /// No records.
    public var recordWidth: Int { 0 }
    /// Starts as `--bank-init` says.
    public var requiresFeatureStart: Bool { false }
    /// The schedule's rate.
    public func learningRateScale(epoch: Int) -> Float { 1 }
    /// Nothing to do at an epoch's end.
    public func finishEpoch(_ epoch: Int) throws {}
}

/// The units diagnostics are given in (`TrainingMethod.diagnosticUnits`).
public enum DiagnosticUnit {
    /// A share in [0, 1] (printed as a percentage on the epoch line).
    public static let fraction = "fraction"
    /// A number of training images.
    public static let images = "images"
    /// A number of clusters.
    public static let clusters = "clusters"
    /// Natural-log units of information (an entropy).
    public static let nats = "nats"
    /// Wall-clock seconds.
    public static let seconds = "s"
}

/// The methods `invprop train --method` knows, by name: the only place that lists them.
public enum MethodRegistry {
    /// One method: its name, a line for help texts, and how to build it.
    public struct Entry: Sendable {
        /// `--method` value.
        public var name: String
        /// One line for `--help`.
        public var summary: String
        /// The `invprop train` options the method reads beyond the shared ones; giving another
        /// method's option is refused.
        public var options: Set<String>
        /// Whether `--unmix` may be added (methods whose loss is a function of f alone, without
        /// layers of their own, whose gradients Un-Mix could not weight).
        public var acceptsUnMix = true
        /// Whether the method trains with the images' class labels (the supervised reference):
        /// only such a method receives them, and only on labelled data.
        public var usesLabels = false
        /// Builds the method for a run.
        public var make: @Sendable (MethodSetup) throws -> any TrainingMethod
    }

    /// Every method, in help order.
    public static let entries: [Entry] = [
        Entry(name: "invp", summary: "Invariance Propagation (instance term + propagated hard positives)", options: bankOptions.union(propagationOptions)) {
            try InvariancePropagation(setup: $0, invarianceEnabled: true)
        },
        Entry(name: "npid", summary: "instance discrimination over the whole bank (Wu et al. 2018)", options: bankOptions) { try NPID(setup: $0) },
        Entry(name: "instance", summary: "InvP with the invariance term off (the ablation)", options: bankOptions.union(propagationOptions)) {
            try InvariancePropagation(setup: $0, invarianceEnabled: false)
        },
        Entry(name: "odc", summary: "Online Deep Clustering (Zhan et al. 2020): a head trained on online k-means labels",
              options: odcOptions, acceptsUnMix: false) { try OnlineDeepClustering(setup: $0) },
        Entry(name: "coke", summary: "CoKe (Qian et al. 2022): online constrained k-means with a predictor, single view",
              options: cokeOptions, acceptsUnMix: false) { try CoKe(setup: $0) },
        Entry(name: "darling", summary: "DARLING (Zhang et al. 2022): domain-aware instance discrimination, needs multi-domain data",
              options: darlingOptions, acceptsUnMix: false) { try DARLING(setup: $0) },
        Entry(name: "supervised", summary: "the supervised reference: cross-entropy on the training images' class labels (not self-supervised)",
              options: [], acceptsUnMix: false, usesLabels: true) { try SupervisedReference(setup: $0) },
    ]

    /// Options of every memory-bank method: τ, the bank's momentum and its start.
    public static let bankOptions: Set<String> = ["temperature", "bank-momentum", "bank-init", "bank-precision"]
    /// Options of ODC.
    public static let odcOptions: Set<String> = ["clusters", "min-cluster-size", "centroid-interval", "odc-memory-momentum",
                                                 "reweight-power", "head-momentum"]
    /// Options of CoKe.
    public static let cokeOptions: Set<String> = ["coke-clusters", "coke-temperature", "coke-dual-lr", "coke-ratio", "coke-beta",
                                                  "predictor-width", "coke-encoder-norm"]
    /// Options of DARLING: the bank's and the domain head's weight.
    public static let darlingOptions: Set<String> = bankOptions.union(["domain-weight"])
    /// Options of InvP's loss and neighbour propagation.
    public static let propagationOptions: Set<String> = ["background", "neighbours", "hops", "positives", "lambda", "invariance-warmup",
                                                         "ramp", "selection", "propagation", "non-exclusive"]

    /// The registry entry called `name`, if any.
    public static func entry(_ name: String) -> Entry? { entries.first { $0.name == name } }

    /// The method a run uses unless told otherwise (the first entry).
    public static var defaultName: String { entries[0].name }

    /// The `--method` values.
    public static var names: [String] { entries.map(\.name) }

    /// The mixing hook a run asks for (`--unmix`: Un-Mix), nil for none.
    public static func makeMixing(unmix: UnMixOptions?, seed: UInt64) -> (any BatchMixing)? {
        unmix.map { UnMixing(options: $0, seed: seed) }
    }

    /// Builds method `name`; throws naming the known ones for an unknown name.
    public static func make(_ name: String, setup: MethodSetup) throws -> any TrainingMethod {
        guard let entry = entry(name) else {
            throw MethodsError.invalidConfiguration("unknown method '\(name)'; known: \(names.joined(separator: ", "))")
        }
        return try entry.make(setup)
    }
}

extension MemoryBank {
    /// The bank as a state tensor, [N, D].
    var stateTensor: MethodStateTensor { .floats(storage, shape: [count, dimension]) }

    /// The bank's values from a state tensor, checked against its shape (not yet applied).
    func values(from tensor: MethodStateTensor?, name: String) throws -> [Float] {
        guard case .floats(let values, let shape)? = tensor else {
            throw MethodsError.invalidInput("the checkpoint lacks method.\(name) (float32 [\(count), \(dimension)])")
        }
        guard shape == [count, dimension] else {
            throw MethodsError.invalidInput("method.\(name) has shape \(shape), expected [\(count), \(dimension)]")
        }
        return values
    }
}
