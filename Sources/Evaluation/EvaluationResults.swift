import Methods
import Foundation

/// Where an evaluation's features came from, so result files can be compared by scripts.
public struct EvaluationContext: Codable, Equatable, Sendable {
    /// Checkpoint path or run name.
    public var checkpoint: String?
    /// Pre-training method ("invp", "npid", ...).
    public var method: String?
    /// Dataset name ("fashion-mnist", "cifar10", ...).
    public var dataset: String?
    /// Which features: "memory-bank", "backbone", "head", ...
    public var features: String?
    /// When the evaluation finished (ISO 8601).
    public var date: String?

    /// A context; every field is optional.
    public init(checkpoint: String? = nil, method: String? = nil, dataset: String? = nil,
                features: String? = nil, date: String? = ISO8601DateFormatter().string(from: Date())) {
        self.checkpoint = checkpoint
        self.method = method
        self.dataset = dataset
        self.features = features
        self.date = date
    }
}

/// The accuracy numbers of a classification protocol as stored in result files (fractions in [0, 1]).
public struct AccuracySummary: Codable, Equatable, Sendable {
    /// Test samples N.
    public var testCount: Int
    /// Top-1 and top-5 accuracy.
    public var top1: Double, top5: Double
    /// Per-class top-1 accuracy, [C] (0 for classes without test samples).
    public var perClassAccuracy: [Double]
    /// Test samples per class, [C].
    public var perClassCount: [Int]

    /// The summary of a classification report (predictions are left out of result files).
    public init(_ report: ClassificationReport) {
        testCount = report.predictions.count
        top1 = report.top1
        top5 = report.top5
        perClassAccuracy = report.perClassAccuracy
        perClassCount = report.perClassTotal
    }
}

/// One line of the summary table; absent metrics print as "-".
public struct ResultRow: Equatable, Sendable {
    /// Protocol name ("knn", "linear", ...).
    public var protocolName: String
    /// Short parameter summary ("K=200 σ=0.07").
    public var parameters: String
    /// Top-1 accuracy in [0, 1].
    public var top1: Double?
    /// Top-5 accuracy in [0, 1].
    public var top5: Double?
    /// Normalised mutual information.
    public var nmi: Double?
    /// Adjusted Rand index.
    public var ari: Double?
    /// Cluster accuracy in [0, 1].
    public var clusterAccuracy: Double?
    /// Wall time in seconds.
    public var seconds: Double?
}

/// A result record: Codable (written as JSON in the run directory) and summarised as a table row.
public protocol EvaluationRecord: Codable, Sendable {
    /// Protocol identifier, also stored in the JSON as `protocolName`.
    var protocolName: String { get }
    /// The record's line in the summary table.
    var row: ResultRow { get }
}

/// Weighted kNN result (accuracies in [0, 1]).
public struct KNNResult: EvaluationRecord, Equatable {
    /// Always "knn".
    public var protocolName = "knn"
    /// Provenance.
    public var context: EvaluationContext
    /// Neighbours K.
    public var k: Int
    /// Temperature σ.
    public var temperature: Float
    /// Training (memory bank) sample count and the feature dimension.
    public var trainCount: Int, dimension: Int
    /// Test accuracy.
    public var accuracy: AccuracySummary
    /// Wall time in seconds.
    public var seconds: Double

    /// A record from a kNN configuration and its report.
    public init(context: EvaluationContext, knn: WeightedKNN, report: ClassificationReport,
                trainCount: Int, dimension: Int, seconds: Double) {
        self.context = context
        k = knn.k
        temperature = knn.temperature
        self.trainCount = trainCount
        self.dimension = dimension
        accuracy = AccuracySummary(report)
        self.seconds = seconds
    }

    /// The table row.
    public var row: ResultRow {
        ResultRow(protocolName: protocolName, parameters: "K=\(k) σ=\(temperature)",
                  top1: accuracy.top1, top5: accuracy.top5,
                  seconds: seconds)
    }
}

/// Linear probe result: "linear" (paper protocol, augmentation, frozen network) or
/// "linear-fast" (precomputed features).
public struct LinearProbeResult: EvaluationRecord, Equatable {
    /// "linear" or "linear-fast".
    public var protocolName: String
    /// Provenance.
    public var context: EvaluationContext
    /// The training configuration.
    public var probe: LinearProbe
    /// Training sample count and the feature dimension.
    public var trainCount: Int, dimension: Int
    /// Test accuracy.
    public var accuracy: AccuracySummary
    /// Mean training loss per epoch.
    public var epochLosses: [Float]
    /// Wall time in seconds.
    public var seconds: Double

    /// A record from a probe configuration and its test report.
    public init(protocolName: String = "linear-fast", context: EvaluationContext, probe: LinearProbe,
                report: ClassificationReport, epochLosses: [Float], trainCount: Int, dimension: Int,
                seconds: Double) {
        self.protocolName = protocolName
        self.context = context
        self.probe = probe
        self.trainCount = trainCount
        self.dimension = dimension
        accuracy = AccuracySummary(report)
        self.epochLosses = epochLosses
        self.seconds = seconds
    }

    /// The table row.
    public var row: ResultRow {
        ResultRow(protocolName: protocolName,
                  parameters: "lr=\(probe.learningRate) ep=\(probe.epochs) bs=\(probe.batchSize)"
                      + (probe.standardize ? " std" : ""),
                  top1: accuracy.top1, top5: accuracy.top5, seconds: seconds)
    }
}

/// Semi-supervised fine-tuning result (the whole network on a labelled subset).
public struct SemiSupervisedResult: EvaluationRecord, Equatable {
    /// Always "semisup".
    public var protocolName = "semisup"
    /// Provenance.
    public var context: EvaluationContext
    /// The subset request ("1%", "10%", "40/class") and the seed that chose it.
    public var labels: String, subsetSeed: UInt64
    /// Labelled training samples used.
    public var labelledCount: Int
    /// Backbone learning rate and the classifier's learning-rate multiplier.
    public var backboneLearningRate: Float, classifierLearningRateMultiplier: Float
    /// Weight decay, batch size and epochs.
    public var weightDecay: Float, batchSize: Int, epochs: Int
    /// Test accuracy.
    public var accuracy: AccuracySummary
    /// Mean training loss of the last epoch (absent in results written before it was kept).
    public var finalLoss: Float?
    /// Wall time in seconds.
    public var seconds: Double

    /// A record with the paper's fine-tuning defaults unless given.
    public init(context: EvaluationContext, labels: String, subsetSeed: UInt64, labelledCount: Int,
                backboneLearningRate: Float = 0.0012, classifierLearningRateMultiplier: Float = 50,
                weightDecay: Float = 1e-5, batchSize: Int = 128, epochs: Int = 30, finalLoss: Float? = nil,
                report: ClassificationReport, seconds: Double) {
        self.context = context
        self.labels = labels
        self.subsetSeed = subsetSeed
        self.labelledCount = labelledCount
        self.backboneLearningRate = backboneLearningRate
        self.classifierLearningRateMultiplier = classifierLearningRateMultiplier
        self.weightDecay = weightDecay
        self.batchSize = batchSize
        self.epochs = epochs
        self.finalLoss = finalLoss
        accuracy = AccuracySummary(report)
        self.seconds = seconds
    }

    /// The table row.
    public var row: ResultRow {
        ResultRow(protocolName: protocolName, parameters: "labels=\(labels) n=\(labelledCount) ep=\(epochs)",
                  top1: accuracy.top1, top5: accuracy.top5, seconds: seconds)
    }
}

/// k-means clustering result with NMI, ARI and cluster accuracy.
public struct ClusteringResult: EvaluationRecord, Equatable {
    /// Always "cluster".
    public var protocolName = "cluster"
    /// Provenance.
    public var context: EvaluationContext
    /// The k-means configuration.
    public var kmeans: KMeans
    /// Samples clustered and the feature dimension.
    public var sampleCount: Int, dimension: Int
    /// Agreement with the classes.
    public var nmi: Double, ari: Double, accuracy: Double
    /// Inertia of the best restart.
    public var inertia: Double
    /// Wall time in seconds.
    public var seconds: Double

    /// A record from a k-means configuration, its result and the scores.
    public init(context: EvaluationContext, kmeans: KMeans, result: KMeans.Result, scores: ClusteringScores,
                dimension: Int, seconds: Double) {
        self.context = context
        self.kmeans = kmeans
        sampleCount = result.assignments.count
        self.dimension = dimension
        nmi = scores.nmi
        ari = scores.ari
        accuracy = scores.accuracy
        inertia = result.inertia
        self.seconds = seconds
    }

    /// The table row.
    public var row: ResultRow {
        ResultRow(protocolName: protocolName, parameters: "k=\(kmeans.clusterCount) restarts=\(kmeans.restarts)",
                  nmi: nmi, ari: ari, clusterAccuracy: accuracy, seconds: seconds)
    }
}

/// JSON files for result records, and the aligned text table printed after evaluations.
public enum EvaluationReport {
    /// Pretty, key-sorted JSON (stable diffs); NaN / ±inf become the strings "nan" / "inf" / "-inf".
    public static func json<R: EvaluationRecord>(_ record: R) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf",
                                                                       negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(record)
    }

    /// Writes `record` as JSON to `path` (atomically).
    public static func write<R: EvaluationRecord>(_ record: R, to path: String) throws {
        do {
            try json(record).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            // Foundation's reason can mislead ("doesn't exist" when a parent is a file): prefer ours.
            throw EvaluationError(.file, "cannot write result \(path): \(OutputLocation.fileProblem(path) ?? error.localizedDescription)")
        }
    }

    /// Reads a record of type `R` from a JSON file written by `write`.
    public static func read<R: EvaluationRecord>(_ type: R.Type, from path: String) throws -> R {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EvaluationError(.file, "cannot read result \(path)")
        }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf",
                                                                         negativeInfinity: "-inf", nan: "nan")
        do {
            return try decoder.decode(type, from: data)
        } catch {
            throw EvaluationError(.file, "\(path) is not a \(R.self) record: \(error)")
        }
    }

    /// The summary table of `records`: protocol, parameters, top-1/top-5 (%), NMI, ARI, ACC (%), time.
    public static func table(_ records: [any EvaluationRecord]) -> String {
        let header = ["protocol", "parameters", "top-1", "top-5", "NMI", "ARI", "ACC", "time"]
        let rows = records.map { record -> [String] in
            let r = record.row
            return [r.protocolName, r.parameters, percent(r.top1), percent(r.top5), fraction(r.nmi),
                    fraction(r.ari), percent(r.clusterAccuracy), r.seconds.map { String(format: "%.1fs", $0) } ?? "-"]
        }
        return alignedTable(header: header, rows: rows, leftAlignedColumns: 2)
    }

    /// Columns padded to their widest cell; the first `leftAlignedColumns` left-aligned, the rest
    /// right-aligned (numbers); a dashed rule under the header.
    public static func alignedTable(header: [String], rows: [[String]], leftAlignedColumns: Int = 1) -> String {
        let columns = ([header] + rows).map(\.count).max() ?? 0
        var widths = [Int](repeating: 0, count: columns)
        for line in [header] + rows { for (i, cell) in line.enumerated() { widths[i] = max(widths[i], cell.count) } }
        func format(_ line: [String]) -> String {
            (0..<columns).map { i in
                let cell = i < line.count ? line[i] : ""
                let padding = String(repeating: " ", count: widths[i] - cell.count)
                return i < leftAlignedColumns ? cell + padding : padding + cell
            }.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
        let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
        return ([format(header), rule] + rows.map(format)).joined(separator: "\n") + "\n"
    }

    private static func percent(_ value: Double?) -> String {
        value.map { String(format: "%.2f", $0 * 100) } ?? "-"
    }

    private static func fraction(_ value: Double?) -> String {
        value.map { String(format: "%.4f", $0) } ?? "-"
    }
}

/// Runs `body` and returns its value with the wall time in seconds (for the records' `seconds`).
public func timed<T>(_ body: () throws -> T) rethrows -> (value: T, seconds: Double) {
    let start = DispatchTime.now().uptimeNanoseconds
    let value = try body()
    return (value, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
}
