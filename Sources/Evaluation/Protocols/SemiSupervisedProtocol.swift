import Data
import Foundation
import Models
import NN
import Randomness
import Tensors

/// How many labels a semi-supervised run keeps: a share of every class, or a count per class.
public enum LabelRequest: Equatable, Sendable, CustomStringConvertible {
    /// round(fraction × class size) images of every class, fraction in (0, 1].
    case fraction(Double)
    /// Exactly this many images of every class.
    case perClass(Int)

    /// Parses "1%", "10%", a fraction such as "0.05", or "40/class"; the message names `--labels`.
    public init(parsing text: String) throws {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t.hasSuffix("%"), let percent = Double(t.dropLast()), percent > 0, percent <= 100 {
            self = .fraction(percent / 100)
        } else if t.hasSuffix("/class"), let count = Int(t.dropLast(6)), count >= 1 {
            self = .perClass(count)
        } else if let fraction = Double(t), fraction > 0, fraction <= 1 {
            self = .fraction(fraction)
        } else {
            throw EvaluationError(.invalidArgument, "--labels must be a percentage in (0, 100] such as 1% or 10%, "
                                  + "a fraction in (0, 1] or a count such as 40/class; got '\(text)'")
        }
    }

    /// The request as given on the command line ("1%", "40/class").
    public var description: String {
        switch self {
        case .fraction(let f):
            let percent = f * 100
            return percent == percent.rounded() ? "\(Int(percent))%" : "\(percent)%"
        case .perClass(let n): return "\(n)/class"
        }
    }

    /// Positions in `labels` of a class-balanced subset chosen from `seed` (see `LabelledSubset`).
    public func select(labels: [Int], seed: UInt64) throws -> [Int] {
        switch self {
        case .fraction(let f): return try LabelledSubset.select(labels: labels, fraction: f, seed: seed)
        case .perClass(let n): return try LabelledSubset.select(labels: labels, perClass: n, seed: seed)
        }
    }
}

/// `invprop eval semisup`: fine-tunes the whole network with a new linear classifier on the
/// pooled feature, on a class-balanced labelled subset (SPEC "Evaluation protocols": backbone
/// lr 0.0012, classifier ×50, weight decay 1e-5, batch 128, 30 epochs, ×0.1 at 15/20/25).
public struct SemiSupervisedProtocol: Sendable {
    /// Which labels are kept.
    public var labels: LabelRequest
    /// Seed of the subset choice (the fine-tuning's shuffles and classifier use `seed` too).
    public var seed: UInt64
    /// Backbone learning rate and the classifier's multiplier.
    public var learningRate: Float, classifierScale: Float
    /// Weight decay (both groups), SGD momentum, batch size and epochs.
    public var weightDecay: Float, momentum: Float, batchSize: Int, epochs: Int
    /// Epochs at which the rate is multiplied by `gamma`.
    public var milestones: [Int], gamma: Float
    /// Training augmentation (default: the `*-linear` preset that goes with the evaluation transform).
    public var trainTransform: String?

    /// The paper's fine-tuning recipe unless given.
    public init(labels: LabelRequest, seed: UInt64 = 0, learningRate: Float = 0.0012, classifierScale: Float = 50,
                weightDecay: Float = 1e-5, momentum: Float = 0.9, batchSize: Int = 128, epochs: Int = 30,
                milestones: [Int] = [15, 20, 25], gamma: Float = 0.1, trainTransform: String? = nil) {
        self.labels = labels; self.seed = seed; self.learningRate = learningRate; self.classifierScale = classifierScale
        self.weightDecay = weightDecay; self.momentum = momentum; self.batchSize = batchSize; self.epochs = epochs
        self.milestones = milestones; self.gamma = gamma; self.trainTransform = trainTransform
    }

    /// The result file name, e.g. `eval-semisup-1%.json`.
    public var resultFileName: String { "eval-semisup-\(labels.description.replacingOccurrences(of: "/", with: "-per-")).json" }

    /// Dataset indices of the labelled subset of the session's training images.
    public func subset(_ session: EvaluationSession) throws -> [Int] {
        let positions = try labels.select(labels: session.labels(.train), seed: seed)
        return positions.map { session.trainIndices[$0] }
    }

    /// Fine-tunes a copy of the checkpoint's network (the session's stays as loaded) and scores the test split.
    public func run(_ session: EvaluationSession, progress: (String) -> Void = { _ in }) throws -> SemiSupervisedResult {
        try run(session, labelled: session.train, chosen: { try subset(session) }, progress: progress)
    }

    /// Fine-tunes on the images `chosen` picks from `labelled` (e.g. a domain-generalization run's
    /// published label lists) and scores `scored` (default: the session's test split).
    public func run(_ session: EvaluationSession, labelled: any ImageDataset, chosen pick: () throws -> [Int],
                    scored: (any ImageDataset)? = nil, progress: (String) -> Void = { _ in }) throws -> SemiSupervisedResult {
        guard batchSize >= 1, epochs >= 1 else {
            throw EvaluationError(.invalidArgument, "--batch-size and --epochs must be ≥ 1, got \(batchSize) and \(epochs)")
        }
        var lastLoss: Float?
        let ((report, count), seconds) = try timed { () throws -> (ClassificationReport, Int) in
            let chosen = try pick()
            let classes = try session.classCount()
            progress("fine-tuning on \(chosen.count) labelled images (\(labels))")
            let network = try EvaluationSession.loadModel(archive: session.archive, description: session.checkpoint,
                                                          path: session.checkpointPath)
            var generator = SeededGenerator(seed: seed, streams: [0x5345_4D49])  // "SEMI"
            let classifier = Linear(network.config.featureDimension, classes, generator: &generator)
            // The projection head is not used: only the backbone and the new classifier learn.
            let optimizer = try SGD(groups: [ParameterGroup(network.backboneParameters, weightDecay: weightDecay),
                                             ParameterGroup(prefixed("classifier", classifier.namedParameters),
                                                            learningRateScale: classifierScale, weightDecay: weightDecay)],
                                    learningRate: learningRate, momentum: momentum)
            let schedule = try LearningRateSchedule(base: learningRate, decay: .multiStep(milestones: milestones, gamma: gamma),
                                                    totalEpochs: Double(epochs))
            let transformName = trainTransform ?? LinearProtocol.trainingTransform(forEvaluation: session.evalTransformName)
            let loader = try DataLoader(dataset: labelled, transform: session.transform(transformName), batchSize: batchSize,
                                        shuffle: true, dropLast: false, seed: seed, workers: session.options.workers, prefetch: 2,
                                        subset: chosen)
            for epoch in 0..<epochs {
                optimizer.learningRate = schedule.rate(atEpoch: Double(epoch))
                var sum = 0.0, seen = 0
                let iterator = loader.epoch(epoch)
                while let batch = try iterator.next() {
                    guard let batchLabels = batch.labels else {
                        throw EvaluationError(.emptyInput, "dataset \(labelled.name) has no labels")
                    }
                    optimizer.zeroGradients()
                    let x = try Tensor(shape: batch.shape, values: batch.images)
                    // logits: [B, C] from the pooled feature [B, F] (batch norm in training mode).
                    let logits = try classifier(network.features(x, training: true, precision: session.precision))
                    let loss = try Tensor.crossEntropy(logits, labels: batchLabels)
                    try loss.backward()
                    optimizer.step()
                    let value = Double(loss.toArray()[0])
                    guard value.isFinite else {
                        throw EvaluationError(.nonFinite, "fine-tuning diverged (loss \(value)) at epoch \(epoch + 1); try a lower --lr")
                    }
                    sum += value * Double(batch.count)
                    seen += batch.count
                }
                lastLoss = Float(sum / Double(max(seen, 1)))
                progress(String(format: "epoch %d/%d: loss %.4f, lr %.4g", epoch + 1, epochs, sum / Double(max(seen, 1)),
                                optimizer.learningRate))
            }
            let test = try scored ?? session.dataset(.test)
            progress("scoring \(test.count) images of \(test.name)")
            return (try score(network: network, classifier: classifier, dataset: test, session: session, classCount: classes), chosen.count)
        }
        return SemiSupervisedResult(context: session.context(features: "fine-tuned"), labels: labels.description, subsetSeed: seed,
                                    labelledCount: count, backboneLearningRate: learningRate,
                                    classifierLearningRateMultiplier: classifierScale, weightDecay: weightDecay,
                                    batchSize: batchSize, epochs: epochs, finalLoss: lastLoss, report: report, seconds: seconds)
    }

    /// Class scores of `dataset` (the test split or a held-out part) through the fine-tuned network in evaluation mode.
    func score(network: ResNet, classifier: Linear, dataset: any ImageDataset, session: EvaluationSession,
               classCount: Int) throws -> ClassificationReport {
        let loader = try DataLoader(dataset: dataset, transform: session.transform(), batchSize: session.options.batchSize,
                                    shuffle: false, dropLast: false, seed: 0, workers: session.options.workers, prefetch: 2)
        var scores: [Float] = [], labels: [Int] = []
        let iterator = loader.epoch(0)
        try GradMode.withoutGradients {
            while let batch = try iterator.next() {
                guard let batchLabels = batch.labels else {
                    throw EvaluationError(.emptyInput, "\(dataset.name), the images scored, has no labels")
                }
                let x = try Tensor(shape: batch.shape, values: batch.images)
                scores += try classifier(network.features(x, training: false, precision: session.precision)).toArray()
                labels += batchLabels
            }
        }
        return try ClassificationReport(scores: scores, labels: labels, classCount: classCount)
    }
}
