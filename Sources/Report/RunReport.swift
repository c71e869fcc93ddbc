import Foundation
import RunFormat

/// The contents of a training run directory, ready to render as one self-contained HTML page.
///
/// Files read (see docs/report.md): `metrics.jsonl` (required), `config.json`, `eval-*.json`,
/// `montages/*.png` with optional `montages/<name>.json` captions, `embedding-map.json`,
/// `metric-units.json` (all optional).
public struct RunReport: Sendable {
    /// The run directory the report was loaded from.
    public var runDirectory: URL
    /// The run's name: the directory's last path component.
    public var name: String
    /// `config.json` as decoded, nil when the run has none.
    public var configuration: JSONValue?
    /// One entry per non-blank line of `metrics.jsonl`, in file order.
    public var epochs: [EpochMetrics]
    /// The `eval-*.json` files, sorted by file name.
    public var evaluations: [EvaluationResult]
    /// The montage PNGs, sorted by file name.
    public var montages: [MontageFigure]
    /// `embedding-map.json`, nil when the run has none.
    public var map: EmbeddingMapFile?
    /// `metric-units.json`: the unit of each diagnostic that has one, by key (empty for older runs).
    public var metricUnits: [String: String] = [:]

    /// The name of the page `write()` creates in the run directory.
    public static let fileName = "report.html"

    /// Reads a run directory; throws `ReportError` naming the file (and line) that is missing or malformed.
    public static func load(runDirectory: URL) throws -> RunReport {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: runDirectory.path, isDirectory: &isDirectory),
              isDirectory.boolValue else {
            throw ReportError.notADirectory(path: runDirectory.path)
        }
        let metricsURL = runDirectory.appendingPathComponent(RunFileName.metrics)
        guard let metricsData = try RunFiles.readIfPresent(metricsURL) else {
            throw ReportError.missingFile(path: metricsURL.path)
        }
        let epochs = try RunFiles.parseMetrics(metricsData, path: metricsURL.path)
        let configuration = try RunFiles.readObject(runDirectory.appendingPathComponent(RunFileName.config)).map(JSONValue.object)
        return RunReport(
            runDirectory: runDirectory,
            name: runDirectory.standardizedFileURL.lastPathComponent,
            configuration: configuration,
            epochs: epochs,
            evaluations: try RunFiles.loadEvaluations(in: runDirectory),
            montages: try RunFiles.loadMontages(in: runDirectory),
            map: try EmbeddingMapFile.load(in: runDirectory),
            metricUnits: try RunFiles.loadMetricUnits(in: runDirectory))
    }

    /// Writes the page to `file` atomically (a temporary file renamed into place).
    public func write(to file: URL) throws {
        do {
            try Data(html().utf8).write(to: file, options: .atomic)
        } catch {
            throw ReportError.unwritable(path: file.path, reason: error.localizedDescription)
        }
    }

    /// Writes `report.html` into the run directory atomically and returns its URL.
    @discardableResult
    public func write() throws -> URL {
        let file = runDirectory.appendingPathComponent(Self.fileName)
        try write(to: file)
        return file
    }

    /// Loads `runDirectory` and writes its `report.html`; what `invprop report RUN_DIR` does.
    @discardableResult
    public static func generate(runDirectory: URL) throws -> URL {
        try load(runDirectory: runDirectory).write()
    }
}
