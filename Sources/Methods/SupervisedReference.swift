/// The supervised reference: the network trained with the training images' class labels, by the
/// plain cross-entropy of a linear classifier on its outputs. Not a self-supervised method: it
/// is the comparison a label-free method is measured against (issue 16's "supervised reference
/// trained on the source domains' labels"), run through the same trainer, clock, augmentation and
/// evaluations as the others, so that the only difference is where the training signal comes from.
/// The classifier is `head.fc_cls` [C, D] as in ODC (N(0, 0.01), zero bias), stepped by the same
/// optimizer at the same rate; it keeps no other state, so its checkpoint holds nothing under
/// `method.` and the monitor recomputes features (there is no bank).
public final class SupervisedReference: TrainingMethod {
    /// The classifier over the network's outputs.
    public let head: ClusterHead
    /// Class of every training image, [N], each in 0..<C.
    public let labels: [Int32]
    /// Weight 1 for every class: the plain mean cross-entropy.
    private let unitWeights: [Float]

    /// A reference for `labels` (one per training image) of `classCount` classes over
    /// `dimension`-wide outputs; throws when a label is missing or out of range.
    public init(labels: [Int32]?, classCount: Int?, datasetSize: Int, dimension: Int, seed: UInt64) throws {
        guard let labels, let classCount else {
            throw MethodsError.invalidConfiguration("supervised: the dataset has no class labels to train with")
        }
        guard classCount >= 2 else { throw MethodsError.invalidConfiguration("supervised: needs at least 2 classes, the dataset has \(classCount)") }
        guard labels.count == datasetSize else {
            throw MethodsError.invalidConfiguration("supervised: \(labels.count) labels for \(datasetSize) training images")
        }
        if let bad = labels.first(where: { $0 < 0 || Int($0) >= classCount }) {
            throw MethodsError.invalidConfiguration("supervised: label \(bad) outside 0..<\(classCount)")
        }
        self.labels = labels
        head = ClusterHead(dimension: dimension, clusters: classCount, seed: seed)
        unitWeights = [Float](repeating: 1, count: classCount)
    }

    /// The registry's constructor: the labels the trainer hands to methods that ask for them.
    convenience init(setup: MethodSetup) throws {
        try self.init(labels: setup.trainingLabels, classCount: setup.classCount, datasetSize: setup.datasetSize,
                      dimension: setup.dimension, seed: setup.seed)
    }

    // MARK: TrainingMethod

    /// The one term.
    public var lossTermNames: [String] { ["cross_entropy"] }

    /// No bank: the monitor recomputes features.
    public var memoryBank: MemoryBank? { nil }

    /// The classifier, at the optimizer's settings.
    public var module: MethodModule? { MethodModule(layer: head) }

    /// Mean cross-entropy of f: [B, D] against the batch's labels, dL/df, and how many of the
    /// batch the classifier names correctly (`correct` / `seen`, the epoch's training accuracy).
    public func computeLoss(features: [Float], indices: [Int], epoch: Int) throws -> MethodLoss {
        _ = try validateBatch(features: features, indices: indices, dimension: head.weight.shape[1], datasetSize: labels.count)
        let targets = indices.map { labels[$0] }
        let predicted = head.predictions(features, batch: indices.count)
        let (loss, gradient) = head.weightedCrossEntropy(features: features, targets: targets, classWeights: unitWeights)
        let correct = zip(predicted, targets).filter { $0 == $1 }.count
        return MethodLoss(loss: loss, terms: [loss], gradient: gradient,
                          counts: ["correct": Double(correct), "seen": Double(indices.count)])
    }

    /// Nothing to update: the optimizer has stepped the classifier.
    public func finishStep(features: [Float], indices: [Int], records: [Int32]) throws -> [String: Double] { [:] }

    /// Nothing starts from features.
    public func start(fromFeatures features: [Float]) throws {}

    /// `train_accuracy`: the share of the epoch's (augmented) training images the classifier
    /// named correctly as it trained.
    public func epochDiagnostics(epoch: Int, counts: [String: Double]) -> [String: Double] {
        guard let seen = counts["seen"], seen > 0 else { return [:] }
        return ["train_accuracy": (counts["correct"] ?? 0) / seen]
    }

    /// Training accuracy as a fraction.
    public var diagnosticUnits: [String: String] { ["train_accuracy": DiagnosticUnit.fraction] }

    /// No state beyond the classifier's parameters (saved as the method's module).
    public func stateTensors() -> [String: MethodStateTensor] { [:] }

    /// Nothing to restore.
    public func restoreState(_ tensors: [String: MethodStateTensor]) throws {}
}
