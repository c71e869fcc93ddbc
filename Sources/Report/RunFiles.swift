import Codecs
import Foundation
import RunFormat

/// Why a run directory could not be turned into a report; every case names the file.
public enum ReportError: Error, CustomStringConvertible, Equatable {
    /// The run directory does not exist or is not a directory.
    case notADirectory(path: String)
    /// A file the report needs is absent.
    case missingFile(path: String)
    /// A file exists but could not be read.
    case unreadable(path: String, reason: String)
    /// The report could not be written.
    case unwritable(path: String, reason: String)
    /// A whole-file JSON document (config, evaluation, caption) is malformed.
    case malformedFile(path: String, reason: String)
    /// One line of a JSON-lines file is malformed; `line` is 1-based.
    case malformedLine(path: String, line: Int, reason: String)

    /// The file, the line where there is one, and what is wrong.
    public var description: String {
        switch self {
        case .notADirectory(let path): return "\(path): not a run directory"
        case .missingFile(let path): return "\(path): no such file"
        case .unreadable(let path, let reason): return "\(path): cannot be read (\(reason))"
        case .unwritable(let path, let reason): return "\(path): cannot be written (\(reason))"
        case .malformedFile(let path, let reason): return "\(path): \(reason)"
        case .malformedLine(let path, let line, let reason): return "\(path):\(line): \(reason)"
        }
    }
}

/// One line of `metrics.jsonl`: the training state after one epoch; absent or null keys are nil.
public struct EpochMetrics: Equatable, Sendable {
    /// 1-based epoch; when the line has none, its position among the lines.
    public var epoch: Int
    /// Numeric fields by key (`loss`, `knn_top1`, `wall_seconds`, ...), nulls left out.
    public var values: [String: Double]
    /// The split the kNN fields scored (`monitor_split`: "validation" or "test"); nil in lines
    /// written before runs could hold a validation split out, which scored test.
    public var monitorSplit: String? = nil

    /// The numeric field `key`, nil when absent or null.
    public subscript(key: String) -> Double? { values[key] }
}

/// The contents of one `eval-*.json` file.
public struct EvaluationResult: Equatable, Sendable {
    /// The file name, e.g. `eval-knn.json`.
    public var fileName: String
    /// `protocol` (`knn`, `linear`, `semisup-1%`, `cluster`, ...); the file name's stem when absent.
    public var protocolName: String
    /// Numeric top-level fields in display order: top1, top5, accuracy, nmi, ari, then the rest sorted.
    public var metrics: [(name: String, value: Double)]
    /// Other top-level fields (strings, booleans, arrays, objects), sorted by key.
    public var details: [(name: String, value: JSONValue)]

    /// Compares field by field (tuples are not `Equatable`).
    public static func == (lhs: EvaluationResult, rhs: EvaluationResult) -> Bool {
        lhs.fileName == rhs.fileName && lhs.protocolName == rhs.protocolName
            && lhs.metrics.map(\.name) == rhs.metrics.map(\.name) && lhs.metrics.map(\.value) == rhs.metrics.map(\.value)
            && lhs.details.map(\.name) == rhs.details.map(\.name) && lhs.details.map(\.value) == rhs.details.map(\.value)
    }

    /// The metrics most readers look for first, in this order.
    static let preferredOrder = ["top1", "top5", "accuracy", "nmi", "ari"]
    /// Numeric fields shown as table columns; everything else is listed as details.
    static let tableColumns = Set(preferredOrder + ["seconds"])

    /// Splits a decoded evaluation object into protocol, ordered metrics and other details.
    init(fileName: String, object: [String: JSONValue]) {
        self.fileName = fileName
        let stem = (fileName as NSString).deletingPathExtension
        let fallback = stem.hasPrefix("eval-") ? String(stem.dropFirst(5)) : stem
        protocolName = object["protocol"]?.stringValue ?? fallback
        var numbers: [(name: String, value: Double)] = []
        var others: [(name: String, value: JSONValue)] = []
        for key in object.keys.sorted() where key != "protocol" {
            guard let value = object[key] else { continue }
            if let number = value.numberValue, Self.tableColumns.contains(key) {
                numbers.append((key, number))
            } else {
                others.append((key, value))
                // Result records nest their scores (e.g. "accuracy": {"top1": …}); lift the
                // headline ones into the table.
                if case .object(let inner) = value {
                    for name in Self.preferredOrder where !numbers.contains(where: { $0.name == name }) {
                        if let number = inner[name]?.numberValue { numbers.append((name, number)) }
                    }
                }
            }
        }
        let order = Self.displayOrder(numbers.map(\.name))
        metrics = order.compactMap { name in numbers.first { $0.name == name } }
        details = others
    }

    /// `names` with the preferred metrics first (in their order), the others after in their given order.
    static func displayOrder(_ names: [String]) -> [String] {
        let rank = { (name: String) in preferredOrder.firstIndex(of: name) ?? preferredOrder.count }
        return names.enumerated().sorted { (rank($0.element), $0.offset) < (rank($1.element), $1.offset) }.map(\.element)
    }
}

/// One montage PNG of the run with its caption.
public struct MontageFigure: Equatable, Sendable {
    /// The file name under `montages/`.
    public var fileName: String
    /// The sidecar's caption, or the file name when there is no sidecar.
    public var caption: String
    /// The PNG file's bytes, embedded as they are.
    public var pngBytes: [UInt8]

    /// Width and height from the PNG header (no decoding); nil when the header is cut short.
    public var pixelSize: (width: Int, height: Int)? {
        // Signature (8), IHDR length (4) and type (4), then big-endian width and height.
        guard pngBytes.count >= 24, pngBytes[12..<16].elementsEqual("IHDR".utf8) else { return nil }
        let readUInt32 = { (offset: Int) in pngBytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) } }
        return (readUInt32(16), readUInt32(20))
    }
}

/// Reading the files of a run directory, each error naming its file.
enum RunFiles {
    /// The file's bytes; `nil` when it does not exist.
    static func readIfPresent(_ url: URL) throws -> Data? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        do {
            return try Data(contentsOf: url)
        } catch {
            throw ReportError.unreadable(path: url.path, reason: error.localizedDescription)
        }
    }

    /// A whole-file JSON object; throws naming the file when it is not one.
    static func readObject(_ url: URL) throws -> [String: JSONValue]? {
        guard let data = try readIfPresent(url) else { return nil }
        let value: JSONValue
        do {
            value = try JSONValue.parse(data)
        } catch {
            throw ReportError.malformedFile(path: url.path, reason: "not valid JSON: \(error)")
        }
        guard case .object(let members) = value else {
            throw ReportError.malformedFile(path: url.path, reason: "expected a JSON object, found \(value.kindName)")
        }
        return members
    }

    /// `metric-units.json` of `runDirectory`: an object of strings (empty when the file is absent).
    static func loadMetricUnits(in runDirectory: URL) throws -> [String: String] {
        let url = runDirectory.appendingPathComponent(RunFileName.metricUnits)
        guard let members = try readObject(url) else { return [:] }
        return try members.mapValues { value in
            guard case .string(let unit) = value else {
                throw ReportError.malformedFile(path: url.path, reason: "every unit must be a string, found \(value.kindName)")
            }
            return unit
        }
    }

    /// Parses `metrics.jsonl`: one object per non-blank line; numeric keys must hold numbers or null.
    static func parseMetrics(_ data: Data, path: String) throws -> [EpochMetrics] {
        guard let text = String(data: data, encoding: .utf8) else {
            throw ReportError.unreadable(path: path, reason: "not UTF-8 text")
        }
        var epochs: [EpochMetrics] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            let lineNumber = index + 1
            let value: JSONValue
            do {
                value = try JSONValue.parse(Data(line.utf8))
            } catch {
                throw ReportError.malformedLine(path: path, line: lineNumber, reason: "not valid JSON: \(error)")
            }
            guard case .object(let members) = value else {
                throw ReportError.malformedLine(path: path, line: lineNumber,
                                                reason: "expected a JSON object, found \(value.kindName)")
            }
            var values: [String: Double] = [:]
            var split: String?
            for (key, member) in members {
                switch member {
                case .number(let number): values[key] = number
                case .string(let text) where key == MetricKey.monitorSplit: split = text
                case .null: continue
                default:
                    // Unknown keys may hold anything; a known numeric key must be a number.
                    if knownNumericKeys.contains(key) {
                        throw ReportError.malformedLine(path: path, line: lineNumber,
                                                        reason: "\"\(key)\" should be a number, found \(member.kindName)")
                    }
                }
            }
            let epoch: Int
            if let number = values[MetricKey.epoch] {
                guard number == number.rounded(), number >= 0, number < 1e9 else {
                    throw ReportError.malformedLine(path: path, line: lineNumber,
                                                    reason: "\"epoch\" should be a whole number, found \(number)")
                }
                epoch = Int(number)
            } else {
                epoch = epochs.count + 1
            }
            epochs.append(EpochMetrics(epoch: epoch, values: values, monitorSplit: split))
        }
        return epochs
    }

    /// The keys of the metrics contract that must be numeric when present.
    static let knownNumericKeys: Set<String> = [
        MetricKey.epoch, MetricKey.wallSeconds, MetricKey.loss, MetricKey.lossInstance, MetricKey.lossInvariance,
        MetricKey.learningRate, MetricKey.imagesPerSecond, MetricKey.knnTop1, MetricKey.knnTop5,
        MetricKey.purityCandidates, MetricKey.purityHard, MetricKey.invarianceWeight,
    ]

    /// Every `eval-*.json` in the directory, sorted by file name.
    static func loadEvaluations(in directory: URL) throws -> [EvaluationResult] {
        try fileNames(in: directory) { $0.hasPrefix("eval-") && $0.hasSuffix(".json") }.compactMap { name in
            try readObject(directory.appendingPathComponent(name)).map { EvaluationResult(fileName: name, object: $0) }
        }
    }

    /// Every `montages/*.png` with its caption from `montages/<name>.json` (`{"caption": ...}`).
    static func loadMontages(in directory: URL) throws -> [MontageFigure] {
        let folder = directory.appendingPathComponent("montages")
        return try fileNames(in: folder) { $0.lowercased().hasSuffix(".png") }.compactMap { name in
            let url = folder.appendingPathComponent(name)
            guard let data = try readIfPresent(url) else { return nil }
            let bytes = [UInt8](data)
            guard PNGCodec.isPNG(bytes) else {
                throw ReportError.malformedFile(path: url.path, reason: "not a PNG file")
            }
            let stem = (name as NSString).deletingPathExtension
            let sidecar = folder.appendingPathComponent(stem + ".json")
            let caption = try readObject(sidecar)?["caption"]?.stringValue ?? stem
            return MontageFigure(fileName: name, caption: caption, pngBytes: bytes)
        }
    }

    /// The sorted names of the regular files in `directory` that pass `filter`; none when it is absent.
    static func fileNames(in directory: URL, where filter: (String) -> Bool) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory),
              isDirectory.boolValue else { return [] }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw ReportError.unreadable(path: directory.path, reason: error.localizedDescription)
        }
        return names.filter(filter).sorted()
    }
}
