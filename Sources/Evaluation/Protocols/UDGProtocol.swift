import Data
import Foundation

/// One label fraction of the UDG protocol: the probe trained on `percent` % of the labelled
/// source images, scored on the target domain.
public struct UDGFractionResult: Codable, Equatable, Sendable {
    /// The label fraction, in percent.
    public var percent: Int
    /// Labelled source images the probe was trained on, and how many came from each domain.
    public var trainCount: Int, trainCountPerDomain: [String: Int]
    /// Accuracy on the target domain.
    public var accuracy: AccuracySummary
    /// Mean training loss of the last epoch (the probe's, or the fine-tuning's).
    public var finalLoss: Float?
}

/// The fine-tuning settings of a `udg-finetune` result.
public struct UDGFineTuning: Codable, Equatable, Sendable {
    /// Backbone learning rate and the classifier's multiplier.
    public var learningRate: Float, classifierScale: Float
    /// Weight decay, batch size and epochs.
    public var weightDecay: Float, batchSize: Int, epochs: Int

    /// The settings of `recipe`.
    public init(_ recipe: SemiSupervisedProtocol) {
        learningRate = recipe.learningRate; classifierScale = recipe.classifierScale
        weightDecay = recipe.weightDecay; batchSize = recipe.batchSize; epochs = recipe.epochs
    }
}

/// The result of `invprop eval udg`: unsupervised domain generalization's protocol (linear probe
/// or fine-tuning) on one fold (one target domain). `top1` is the target accuracy at the largest fraction (the
/// report's column); every fraction is in `fractions`.
public struct UDGResult: EvaluationRecord, Equatable {
    /// "udg-linear" or "udg-finetune", with "-source-validation" when scored on held-out source images.
    public var protocolName: String
    /// Provenance.
    public var context: EvaluationContext
    /// Domains the network was pre-trained on, the unseen target, and the published split (or draw seed).
    public var sourceDomains: [String], targetDomain: String, split: Int
    /// What the probes were scored on: absent or "target" (the protocol), or "source-validation"
    /// (the run's held-out source images, for choosing the probe's settings without the target).
    public var scoredOn: UDGScoring?
    /// The probe's optimisation settings (linear protocol), or the fine-tuning's.
    public var probe: LinearProbe?, fineTuning: UDGFineTuning?
    /// Backbone feature dimension and target-domain test images.
    public var dimension: Int, testCount: Int
    /// One entry per label fraction, in increasing order.
    public var fractions: [UDGFractionResult]
    /// Target-domain top-1 at the largest fraction; top-5 likewise.
    public var top1: Double, top5: Double
    /// Wall time in seconds.
    public var seconds: Double

    /// The table row: the target's top-1 at every fraction in the parameters.
    public var row: ResultRow {
        let scores = fractions.map { String(format: "%d%%=%.1f", $0.percent, 100 * $0.accuracy.top1) }.joined(separator: " ")
        let scored = scoredOn == .sourceValidation ? "fold=\(targetDomain) scored=source-validation" : "target=\(targetDomain)"
        return ResultRow(protocolName: protocolName, parameters: "\(scored) \(scores)", top1: top1, top5: top5, seconds: seconds)
    }
}

/// Unsupervised domain generalization's evaluation (Zhang et al., CVPR 2022): a linear probe on
/// the frozen, pooled backbone feature, trained with 1 %, 5 %, 10 % and 100 % of the labelled
/// source images (PACS's published lists; a seeded per-class draw for a generic folder), tested
/// on the target domain. Features are computed once with the evaluation transform (the
/// `linear-fast` protocol); every fraction's probe starts from the same seed.
public struct UDGProtocol: Sendable {
    /// Label fractions, percent.
    public var fractions: [Int]
    /// Optimisation settings of every probe.
    public var probe: LinearProbe
    /// When set, each fraction fine-tunes the whole network with this recipe (its `labels` are
    /// replaced by the fraction) instead of training a linear probe.
    public var fineTuning: SemiSupervisedProtocol?
    /// What the probes are scored on (the target domain unless choosing settings).
    public var scoring: UDGScoring = .target

    /// The labelled images of every fraction joined (each file once), each fraction's rows in it, and the target domain.
    typealias Parts = (labelled: MultiDomainDataset, rowsByFraction: [[Int]], target: MultiDomainDataset)

    /// The protocol over `fractions` (default the paper's four): linear probes, or fine-tuning with `fineTuning`.
    public init(fractions: [Int] = [1, 5, 10, 100], probe: LinearProbe = LinearProbe(), fineTuning: SemiSupervisedProtocol? = nil) {
        self.fractions = fractions
        self.probe = probe
        self.fineTuning = fineTuning
    }

    /// The fractions, each once, increasing.
    var sortedFractions: [Int] { Array(Set(fractions)).sorted() }

    /// Runs the protocol on a checkpoint pre-trained on source domains.
    public func run(_ session: EvaluationSession, progress: (String) -> Void = { _ in }) throws -> UDGResult {
        let start = Date()
        guard let selection = session.checkpoint.domains else {
            throw EvaluationError(.invalidArgument, "\(session.checkpointPath) was not pre-trained on source domains "
                                  + "(train with --dataset pacs or domains and --target-domain); the UDG protocol needs them")
        }
        guard !fractions.isEmpty, fractions.allSatisfy({ (1...100).contains($0) }) else {
            throw EvaluationError(.invalidArgument, "--fractions must be percentages in 1…100, got \(fractions)")
        }
        let protocolParts = try openParts(session, selection: selection)
        let parts = scoring == .target ? protocolParts : try sourceValidationParts(session, protocolParts)
        let results = fineTuning == nil ? try probeFractions(session, parts: parts, progress: progress)
                                        : try fineTuneFractions(session, parts: parts, progress: progress)
        let last = results[results.count - 1].accuracy
        let name = (fineTuning != nil ? "udg-finetune" : "udg-linear") + (scoring == .target ? "" : "-source-validation")
        return UDGResult(protocolName: name, context: session.context(features: fineTuning == nil ? "backbone" : "fine-tuned"),
                         sourceDomains: selection.sourceDomains, targetDomain: selection.targetDomain, split: selection.split,
                         scoredOn: scoring,
                         probe: fineTuning == nil ? probe : nil, fineTuning: fineTuning.map(UDGFineTuning.init),
                         dimension: session.model.config.featureDimension, testCount: parts.target.count, fractions: results,
                         top1: last.top1, top5: last.top5, seconds: Date().timeIntervalSince(start))
    }

    /// Linear probes on backbone features computed once.
    func probeFractions(_ session: EvaluationSession, parts: Parts, progress: (String) -> Void) throws -> [UDGFractionResult] {
        let scored = scoring == .target ? "target images" : "held-out source images (scored instead of the target)"
        progress("backbone features of \(parts.labelled.count) labelled source images and \(parts.target.count) \(scored)")
        let source = try backboneFeatures(session, parts.labelled)
        let target = try backboneFeatures(session, parts.target)
        let targetLabels = (0..<parts.target.count).map { parts.target.label(at: $0) ?? 0 }
        return try zip(sortedFractions, parts.rowsByFraction).map { percent, rows in
            progress("\(percent) %: linear probe on \(rows.count) labelled source images")
            return try scoreFraction(percent, rows: rows, source: source, labelled: parts.labelled,
                                     target: target, targetLabels: targetLabels, classCount: parts.target.classCount ?? 1)
        }
    }

    /// Fine-tunes the whole network on each fraction's images (`SemiSupervisedProtocol`), scored on
    /// `parts.target` (the target domain, or the held-out source images when choosing settings).
    func fineTuneFractions(_ session: EvaluationSession, parts: Parts, progress: (String) -> Void) throws -> [UDGFractionResult] {
        guard var recipe = fineTuning else { return [] }
        return try zip(sortedFractions, parts.rowsByFraction).map { percent, rows in
            recipe.labels = .fraction(Double(percent) / 100)
            let result = try recipe.run(session, labelled: parts.labelled, chosen: { rows }, scored: parts.target, progress: progress)
            return UDGFractionResult(percent: percent, trainCount: rows.count, trainCountPerDomain: parts.labelled.countPerDomain(rows),
                                     accuracy: result.accuracy, finalLoss: result.finalLoss)
        }
    }

    /// The labelled images of every fraction joined (each file once), each fraction's rows in
    /// it, and the target domain.
    func openParts(_ session: EvaluationSession, selection: DomainSelection) throws -> Parts {
        let channels = session.model.config.inputChannels
        let open = { (part: DomainPart) throws -> MultiDomainDataset in
            do {
                return try MultiDomainCatalog.open(name: session.checkpoint.dataset, root: session.options.dataDir ?? session.checkpoint.dataDir,
                                                   selection: selection, part: part, channels: channels)
            } catch let error as DataError { throw EvaluationError(.file, error.description) }
        }
        let sets = try sortedFractions.map { try open(.labelledSources(percent: $0)) }
        let joined = try MultiDomainDataset.union(sets, name: "\(session.checkpoint.dataset)-labelled-sources")
        let row = Dictionary(joined.files.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        return (joined, sets.map { set in set.files.compactMap { row[$0] } }, try open(.target))
    }

    /// `parts` scored on the run's held-out source-validation images instead of the target: the
    /// images `train` held out (the same draw), each fraction's rows without them. Nothing of the
    /// target is read, so probe settings can be chosen on what this returns.
    func sourceValidationParts(_ session: EvaluationSession, _ parts: Parts) throws -> Parts {
        guard let sources = session.train as? MultiDomainDataset, !session.validationIndices.isEmpty else {
            throw EvaluationError(.invalidArgument, "\(session.checkpointPath) was trained without a validation split of its source "
                                  + "images (--validation 0); --score-on source-validation needs one")
        }
        let heldOut = try sources.subset(session.validationIndices, name: sources.name + "-validation")
        let excluded = Set(heldOut.files)
        let rows = parts.rowsByFraction.map { $0.filter { !excluded.contains(parts.labelled.files[$0]) } }
        return (parts.labelled, rows, heldOut)
    }

    /// Pooled backbone features [N, D] of every image of `dataset`, evaluation transform.
    func backboneFeatures(_ session: EvaluationSession, _ dataset: MultiDomainDataset) throws -> (values: [Float], dimension: Int) {
        let f = try FeatureExtractor.extract(model: session.model, dataset: dataset, transform: session.transform(),
                                             batchSize: session.options.batchSize, precision: session.precision,
                                             backbone: true, head: false, workers: session.options.workers)
        return (f.backbone ?? [], f.backboneDimension)
    }

    /// One fraction's probe, trained on `rows` of the labelled features and scored on the target.
    func scoreFraction(_ percent: Int, rows: [Int], source: (values: [Float], dimension: Int), labelled: MultiDomainDataset,
                       target: (values: [Float], dimension: Int), targetLabels: [Int], classCount: Int) throws -> UDGFractionResult {
        let d = source.dimension
        let features = rows.flatMap { source.values[($0 * d)..<(($0 + 1) * d)] }
        let labels = rows.map { labelled.label(at: $0) ?? 0 }
        let model = try probe.train(features: features, labels: labels, dimension: d, classCount: classCount)
        let report = try model.evaluate(features: target.values, labels: targetLabels)
        return UDGFractionResult(percent: percent, trainCount: rows.count, trainCountPerDomain: labelled.countPerDomain(rows),
                                 accuracy: AccuracySummary(report), finalLoss: model.epochLosses.last)
    }
}

/// What `UDGProtocol`'s probes are scored on.
public enum UDGScoring: String, Codable, Sendable, CaseIterable {
    /// The unseen target domain: the protocol's number.
    case target
    /// The source images the pre-training held out for validation (left out of every fraction):
    /// the number to choose the probe's settings on.
    case sourceValidation = "source-validation"
}

extension EvaluationSession {
    /// A domain-generalization run's datasets: the source domains' training images and the target domain.
    static func openDomains(name: String, dataDir: String?, selection: DomainSelection,
                            channels: Int?) throws -> (any ImageDataset, (any ImageDataset)?) {
        do {
            let train = try MultiDomainCatalog.open(name: name, root: dataDir, selection: selection, part: .sources, channels: channels ?? 3)
            let target = try MultiDomainCatalog.open(name: name, root: dataDir, selection: selection, part: .target, channels: channels ?? 3)
            return (train, target)
        } catch let error as DataError { throw EvaluationError(.file, error.description) }
    }
}
