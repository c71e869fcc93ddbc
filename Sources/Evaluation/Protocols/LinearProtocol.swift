import Data
import Foundation
import Tensors

/// Which linear evaluation to run.
public enum LinearProtocolKind: String, Sendable, CaseIterable, Codable {
    /// `LinearProbe` on backbone features computed once with the evaluation transform (no augmentation).
    case fast
    /// The paper's protocol: frozen backbone in evaluation mode, features recomputed every epoch
    /// from flip-augmented images (the `*-linear` preset), classifier trained by SGD.
    case paper
}

/// `invprop eval linear`: a linear classifier on the frozen, pooled backbone feature
/// (SPEC "Evaluation protocols": SGD lr 30, momentum 0.9, no weight decay, batch 256, 100 epochs,
/// ×0.2 at 40/60/80 %, flip-only augmentation).
public struct LinearProtocol: Sendable {
    /// Fast or paper.
    public var kind: LinearProtocolKind
    /// Optimisation settings (learning rate, momentum, decay, batch, epochs, milestones, seed).
    public var probe: LinearProbe
    /// Training augmentation of the paper protocol (default: the evaluation transform's name
    /// with `-eval` replaced by `-linear`, e.g. fashion-mnist-linear, cifar-linear).
    public var trainTransform: String?

    /// The protocol with the paper's numbers unless given.
    public init(kind: LinearProtocolKind = .paper, probe: LinearProbe = LinearProbe(), trainTransform: String? = nil) {
        self.kind = kind
        self.probe = probe
        self.trainTransform = trainTransform
    }

    /// The flip-only training preset that goes with an evaluation preset.
    public static func trainingTransform(forEvaluation name: String) -> String {
        name.hasSuffix("-eval") ? String(name.dropLast(5)) + "-linear" : name
    }

    /// Trains on the session's training images and scores the test split (top-1/5, per class).
    public func run(_ session: EvaluationSession, progress: (String) -> Void = { _ in }) throws -> LinearProbeResult {
        let ((model, report, dimension, count), seconds) = try timed { () throws -> (LinearProbe.Model, ClassificationReport, Int, Int) in
            let trainLabels = try session.labels(.train)
            let classes = try session.classCount()
            let model: LinearProbe.Model
            let dimension: Int
            switch kind {
            case .fast:
                progress("backbone features of \(trainLabels.count) training images")
                let f = try session.features(.train, backbone: true, head: false)
                dimension = f.backboneDimension
                model = try probe.train(features: f.backbone ?? [], labels: trainLabels, dimension: dimension, classCount: classes)
            case .paper:
                dimension = session.model.config.featureDimension
                model = try trainPaper(session, classCount: classes, dimension: dimension, progress: progress)
            }
            progress("backbone features of the test images")
            let test = try session.features(.test, backbone: true, head: false)
            guard let testLabels = test.labels else {
                throw EvaluationError(.emptyInput, "the test split of \(session.datasetName) has no labels")
            }
            return (model, try model.evaluate(features: test.backbone ?? [], labels: testLabels), dimension, trainLabels.count)
        }
        return LinearProbeResult(protocolName: kind == .fast ? "linear-fast" : "linear", context: session.context(features: "backbone"),
                                 probe: probe, report: report, epochLosses: model.epochLosses, trainCount: count,
                                 dimension: dimension, seconds: seconds)
    }

    /// The paper protocol: every epoch a shuffled pass over augmented training images; the
    /// backbone runs without gradients in evaluation mode (running statistics stay frozen), so
    /// only the classifier learns, one SGD step per batch.
    func trainPaper(_ session: EvaluationSession, classCount: Int, dimension: Int,
                    progress: (String) -> Void) throws -> LinearProbe.Model {
        guard probe.batchSize >= 1, probe.epochs >= 1 else {
            throw EvaluationError(.invalidArgument, "--batch-size and --epochs must be ≥ 1, got \(probe.batchSize) and \(probe.epochs)")
        }
        guard probe.learningRate > 0, probe.learningRate.isFinite else {
            throw EvaluationError(.invalidArgument, "--lr must be > 0, got \(probe.learningRate)")
        }
        let transformName = trainTransform ?? Self.trainingTransform(forEvaluation: session.evalTransformName)
        let loader = try DataLoader(dataset: session.train, transform: session.transform(transformName), batchSize: probe.batchSize,
                                    shuffle: true, dropLast: false, seed: probe.seed, workers: session.options.workers, prefetch: 2,
                                    subset: session.trainIndices.count == session.train.count ? nil : session.trainIndices)
        var classifier = try LinearClassifier(inputDimension: dimension, classCount: classCount, momentum: probe.momentum,
                                              weightDecay: probe.weightDecay, seed: probe.seed)
        var losses: [Float] = []
        for epoch in 0..<probe.epochs {
            let lr = probe.learningRate(atEpoch: epoch)
            var sum = 0.0, seen = 0
            let iterator = loader.epoch(epoch)
            while let batch = try iterator.next() {
                guard let batchLabels = batch.labels else {
                    throw EvaluationError(.emptyInput, "dataset \(session.train.name) has no labels")
                }
                // f: [B, F] pooled backbone features of the augmented batch.
                let f = try GradMode.withoutGradients {
                    try session.model.features(Tensor(shape: batch.shape, values: batch.images), training: false,
                                               precision: session.precision).toArray()
                }
                sum += Double(try classifier.step(features: f, labels: batchLabels, lr: lr)) * Double(batch.count)
                seen += batch.count
            }
            losses.append(Float(sum / Double(max(seen, 1))))
            progress(String(format: "epoch %d/%d: loss %.4f, lr %.4g", epoch + 1, probe.epochs, losses[epoch], lr))
        }
        return LinearProbe.Model(classifier: classifier, standardizer: nil, epochLosses: losses)
    }
}
