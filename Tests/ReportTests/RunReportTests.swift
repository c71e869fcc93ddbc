import Codecs
import Foundation
import RunFormat
import Testing
@testable import Report

@Suite struct RunReportTests {
    /// The SVG element with `id`, from `<svg` to its `</svg>`.
    func svgElement(_ html: String, id: String) -> String? {
        guard let start = html.range(of: "<svg class=\"chart\" id=\"\(id)\""),
              let end = html.range(of: "</svg>", range: start.upperBound..<html.endIndex) else { return nil }
        return String(html[start.lowerBound..<end.upperBound])
    }

    /// The number of `x,y` pairs in the polyline of series `name` inside `svg`; nil when absent.
    func pointCount(_ svg: String, series name: String) -> Int? {
        guard let tag = svg.range(of: "data-series=\"\(name)\" points=\"") else { return nil }
        guard let close = svg.range(of: "\"", range: tag.upperBound..<svg.endIndex) else { return nil }
        let points = svg[tag.upperBound..<close.lowerBound].split(separator: " ")
        #expect(points.allSatisfy { $0.split(separator: ",").count == 2 && $0.split(separator: ",").allSatisfy { Double($0) != nil } })
        return points.count
    }

    /// The text between the first `start` and the next `end`.
    func section(_ html: String, from start: String, to end: String) -> String {
        guard let a = html.range(of: start), let b = html.range(of: end, range: a.upperBound..<html.endIndex) else { return "" }
        return String(html[a.lowerBound..<b.lowerBound])
    }

    @Test func pageHasEverySection() throws {
        let (root, run) = try SyntheticRun.make()
        defer { try? FileManager.default.removeItem(at: root) }
        let html = try RunReport.load(runDirectory: run).html()
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        for id in ["header", "summary", "training", "evaluations", "montages", "configuration"] {
            #expect(html.contains("id=\"\(id)\""), "missing section \(id)")
        }
        for chart in ["chart-loss", "chart-learning-rate", "chart-knn", "chart-purity", "chart-throughput",
                      "chart-knn-time", "chart-invariance-weight"] {
            #expect(svgElement(html, id: chart) != nil, "missing chart \(chart)")
        }
        #expect(html.contains("<h1>fmnist-invp-demo</h1>"))
        #expect(html.contains("dataset <b>fashion-mnist</b>") && html.contains("method <b>invp</b>"))
        #expect(html.contains("backbone <b>resnet18-cifar</b>"))
        #expect(html.contains("<style>") && !html.contains("<script"))
    }

    @Test func polylinesHaveOnePointPerLoggedValue() throws {
        let (root, run) = try SyntheticRun.make()
        defer { try? FileManager.default.removeItem(at: root) }
        let html = try RunReport.load(runDirectory: run).html()
        let loss = try #require(svgElement(html, id: "chart-loss"))
        #expect(pointCount(loss, series: "total") == SyntheticRun.epochCount)
        #expect(pointCount(loss, series: "instance") == SyntheticRun.epochCount)
        #expect(pointCount(loss, series: "invariance") == SyntheticRun.propagationEpochs.count)
        let knn = try #require(svgElement(html, id: "chart-knn"))
        #expect(pointCount(knn, series: "top-1 (bank)") == SyntheticRun.knnEpochs.count)
        #expect(pointCount(knn, series: "top-5 (bank)") == SyntheticRun.knnEpochs.count)
        #expect(pointCount(knn, series: "top-1 (recomputed)") == SyntheticRun.knnEpochs.count)
        let purity = try #require(svgElement(html, id: "chart-purity"))
        #expect(pointCount(purity, series: "candidates") == SyntheticRun.propagationEpochs.count)
        #expect(pointCount(purity, series: "hard positives") == SyntheticRun.propagationEpochs.count)
        let rate = try #require(svgElement(html, id: "chart-learning-rate"))
        #expect(pointCount(rate, series: "learning rate") == SyntheticRun.epochCount)
        let speed = try #require(svgElement(html, id: "chart-throughput"))
        #expect(pointCount(speed, series: "images/s") == SyntheticRun.epochCount)
        let byTime = try #require(svgElement(html, id: "chart-knn-time"))
        #expect(pointCount(byTime, series: "top-1 (bank)") == SyntheticRun.knnEpochs.count)
        #expect(pointCount(byTime, series: "top-1 (recomputed)") == SyntheticRun.knnEpochs.count)
        #expect(byTime.contains(">wall-clock minutes</text>"))
        // Axes carry ticks and labels, charts a legend entry per series.
        #expect(loss.contains("class=\"tick\"") && loss.contains(">epoch</text>") && loss.contains(">loss</text>"))
        #expect(loss.components(separatedBy: "class=\"legend\"").count - 1 == 3)
    }

    @Test func evaluationTableShowsTheNumbers() throws {
        let (root, run) = try SyntheticRun.make()
        defer { try? FileManager.default.removeItem(at: root) }
        let report = try RunReport.load(runDirectory: run)
        #expect(report.evaluations.map(\.protocolName) == ["cluster", "knn"])
        let table = section(report.html(), from: "<table class=\"evaluations\">", to: "</table>")
        for number in ["84.37", "99.12", "0.6512", "0.4821", "61.25"] {
            #expect(table.contains(">\(number)</td>"), "missing \(number)")
        }
        // Parameters (K, σ) are listed among the details, not as score columns.
        for number in ["200", "0.07"] { #expect(table.contains(number), "missing \(number)") }
        #expect(table.contains("<th class=\"number\">top1</th><th class=\"number\">top5</th><th class=\"number\">accuracy</th>"))
        #expect(table.contains("features: memory bank"))
    }

    /// Result records that nest their scores ("accuracy": {"top1": …}) still show them as columns.
    @Test func nestedScoresAreLifted() throws {
        let object = try JSONValue.parse(Data(#"{"protocol": "knn", "accuracy": {"top1": 0.726, "top5": 0.99}, "k": 200}"#.utf8))
        guard case .object(let fields) = object else { Issue.record("not an object"); return }
        let result = EvaluationResult(fileName: "eval-knn.json", object: fields)
        #expect(result.metrics.map(\.name) == ["top1", "top5"])
        #expect(result.metrics.map(\.value) == [0.726, 0.99])
    }

    @Test func montagesAreEmbeddedAsValidPNG() throws {
        let (root, run) = try SyntheticRun.make()
        defer { try? FileManager.default.removeItem(at: root) }
        let html = try RunReport.load(runDirectory: run).html()
        let prefix = "src=\"data:image/png;base64,"
        let pieces = html.components(separatedBy: prefix).dropFirst()
        #expect(pieces.count == 1)
        for piece in pieces {
            let encoded = try #require(piece.split(separator: "\"", maxSplits: 1).first)
            let bytes = try #require(Data(base64Encoded: String(encoded)))
            let image = try PNGCodec.decode(bytes, channels: 3)
            #expect(image == (try SyntheticRun.montage()))
        }
        // 6 cells of 56 px + 2 × 3 px frame + 4 px padding, and 4 rows: shown at natural size.
        #expect(html.contains("width=\"400\" height=\"268\" alt=\"Epoch 10"))
        #expect(html.contains("<figcaption>Epoch 10: four test anchors (blue) and their propagated positives</figcaption>"))
    }

    @Test func pageNeedsNoNetwork() throws {
        let (root, run) = try SyntheticRun.make()
        defer { try? FileManager.default.removeItem(at: root) }
        let html = try RunReport.load(runDirectory: run).html()
        #expect(!html.contains("http://") && !html.contains("https://"))
        #expect(!html.contains("<link") && !html.contains("@import") && !html.contains("url("))
    }

    @Test func missingPiecesStillMakeAPage() throws {
        let (root, run) = try SyntheticRun.make()
        defer { try? FileManager.default.removeItem(at: root) }
        for name in ["config.json", "eval-knn.json", "eval-cluster.json", "montages"] {
            try FileManager.default.removeItem(at: run.appendingPathComponent(name))
        }
        try SyntheticRun.write(#"{"epoch": 1, "loss": 7.1}"#, to: run.appendingPathComponent("metrics.jsonl"))
        let html = try RunReport.load(runDirectory: run).html()
        #expect(html.contains("No evaluations yet") && html.contains("No montages yet") && html.contains("No config.json"))
        #expect(html.contains("no data recorded"))
        #expect(pointCount(try #require(svgElement(html, id: "chart-loss")), series: "total") == 1)
        #expect(svgElement(html, id: "chart-invariance-weight") == nil)
    }

    /// The page says which split the monitor scored, and shows the one test score apart.
    @Test func monitorSplitAndTheOneTestScoreAreLabelled() throws {
        let (root, run) = try SyntheticRun.make()
        defer { try? FileManager.default.removeItem(at: root) }
        let metrics = run.appendingPathComponent("metrics.jsonl")
        try SyntheticRun.write(#"{"epoch": 1, "loss": 7.1, "knn_top1": 60, "monitor_split": "validation"}"# + "\n"
            + #"{"epoch": 2, "loss": 6.9, "knn_top1": 70, "monitor_split": "validation", "test_knn_top1": 69.5}"#, to: metrics)
        let html = try RunReport.load(runDirectory: run).html()
        #expect(html.contains("validation kNN top-1 (%), epoch 2") && html.contains("kNN accuracy (validation split)"))
        #expect(html.contains("69.5") && html.contains("test kNN top-1 (%), bank, scored once after epoch 2"))
        // Lines written before the field existed scored the test split.
        try SyntheticRun.write(#"{"epoch": 1, "loss": 7.1, "knn_top1": 60}"#, to: metrics)
        let old = try RunReport.load(runDirectory: run).html()
        #expect(old.contains("test kNN top-1 (%), epoch 1") && !old.contains("validation"))
    }

    /// A method's loss terms and diagnostics reach the page by their names, with no list of
    /// methods in the report (ODC's `loss_cluster` and cluster sizes here).
    @Test func methodTermsAndDiagnosticsAreChartedByName() throws {
        let (root, run) = try SyntheticRun.make()
        defer { try? FileManager.default.removeItem(at: root) }
        try SyntheticRun.write(#"{"epoch": 1, "loss": 4.1, "loss_cluster": 4.1, "cluster_size_min": 20, "labels_changed": 0.8}"# + "\n"
            + #"{"epoch": 2, "loss": 3.9, "loss_cluster": 3.9, "cluster_size_min": 31, "labels_changed": 0.5}"#,
            to: run.appendingPathComponent("metrics.jsonl"))
        try Data(#"{"cluster_size_min": "images"}"#.utf8).write(to: run.appendingPathComponent(RunFileName.metricUnits))
        let html = try RunReport.load(runDirectory: run).html()
        #expect(pointCount(try #require(svgElement(html, id: "chart-loss")), series: "cluster") == 2)
        let sizes = try #require(svgElement(html, id: "chart-cluster_size_min"))
        #expect(pointCount(sizes, series: "cluster size min") == 2)
        #expect(sizes.contains(">cluster size min (images)</text>"), "the axis carries the unit")
        #expect(pointCount(try #require(svgElement(html, id: "chart-labels_changed")), series: "labels changed") == 2)
        #expect(!html.contains("Purity of propagated positives"), "no empty InvP card in another method's report")
    }

    /// A units file that is not an object of strings is refused by name.
    @Test func malformedMetricUnitsAreNamed() throws {
        let (root, run) = try SyntheticRun.make()
        defer { try? FileManager.default.removeItem(at: root) }
        let units = run.appendingPathComponent(RunFileName.metricUnits)
        for text in [#"{"cluster_size_min": 3}"#, "[1, 2]", "{"] {
            try Data(text.utf8).write(to: units)
            #expect(throws: ReportError.self) { try RunReport.load(runDirectory: run) }
            do { _ = try RunReport.load(runDirectory: run) } catch { #expect("\(error)".contains(units.path), "\(error)") }
        }
    }

    @Test func smallMontageIsEnlargedAndCaptionedByItsName() throws {
        let (root, run) = try SyntheticRun.make()
        defer { try? FileManager.default.removeItem(at: root) }
        let small = try DecodedImage(height: 50, width: 100, channels: 1, pixels: [UInt8](repeating: 99, count: 5000))
        try Data(PNGCodec.encode(small)).write(to: run.appendingPathComponent("montages/small.png"))
        let report = try RunReport.load(runDirectory: run)
        #expect(report.montages.map(\.fileName) == ["positives-epoch-10.png", "small.png"])
        #expect(report.montages.last?.caption == "small")
        #expect(report.html().contains("width=\"300\" height=\"150\" alt=\"small\""))
    }

    @Test func malformedMetricsLineNamesFileAndLine() throws {
        let (root, run) = try SyntheticRun.make()
        defer { try? FileManager.default.removeItem(at: root) }
        let metrics = run.appendingPathComponent("metrics.jsonl")
        var lines = SyntheticRun.metricsLines()
        lines[2] = #"{"epoch": 3, "loss": 4.1"#
        try SyntheticRun.write(lines.joined(separator: "\n"), to: metrics)
        let error = try #require(throws: ReportError.self) { try RunReport.load(runDirectory: run) }
        guard case .malformedLine(let path, let line, _) = error else {
            Issue.record("expected malformedLine, got \(error)")
            return
        }
        #expect(path == metrics.path && line == 3)
        // The parser's own words follow (Foundation's wording, so only their presence is checked).
        #expect(error.description.hasPrefix("\(metrics.path):3: not valid JSON: "))
        #expect(error.description.count > "\(metrics.path):3: not valid JSON: ".count)

        // A known numeric key holding text is an error too, on its own line.
        lines[2] = SyntheticRun.metricsLines()[2]
        lines[6] = #"{"epoch": 7, "loss": "nan?"}"#
        try SyntheticRun.write(lines.joined(separator: "\n"), to: metrics)
        #expect(throws: ReportError.malformedLine(path: metrics.path, line: 7, reason: "\"loss\" should be a number, found a string")) {
            try RunReport.load(runDirectory: run)
        }
    }

    @Test func missingMetricsOrBadFilesAreNamed() throws {
        let (root, run) = try SyntheticRun.make()
        defer { try? FileManager.default.removeItem(at: root) }
        try SyntheticRun.write("[1, 2]", to: run.appendingPathComponent("eval-linear.json"))
        #expect(throws: ReportError.malformedFile(path: run.appendingPathComponent("eval-linear.json").path,
                                                   reason: "expected a JSON object, found an array")) {
            try RunReport.load(runDirectory: run)
        }
        try FileManager.default.removeItem(at: run.appendingPathComponent("metrics.jsonl"))
        #expect(throws: ReportError.missingFile(path: run.appendingPathComponent("metrics.jsonl").path)) {
            try RunReport.load(runDirectory: run)
        }
        let nowhere = root.appendingPathComponent("no-such-run")
        #expect(throws: ReportError.notADirectory(path: nowhere.path)) { try RunReport.load(runDirectory: nowhere) }
    }

    @Test func evaluationWithoutProtocolIsNamedAfterItsFile() throws {
        let result = EvaluationResult(fileName: "eval-semisup-10%.json",
                                      object: ["ari": .number(0.5), "top5": .number(90), "top1": .number(70), "note": .string("x")])
        #expect(result.protocolName == "semisup-10%")
        #expect(result.metrics.map(\.name) == ["top1", "top5", "ari"])
        #expect(result.details.map(\.name) == ["note"])
    }

    @Test func writeCreatesReportHTMLInTheRunDirectory() throws {
        let (root, run) = try SyntheticRun.make()
        defer { try? FileManager.default.removeItem(at: root) }
        let report = try RunReport.load(runDirectory: run)
        let url = try report.write()
        #expect(url.lastPathComponent == "report.html")
        #expect(try String(contentsOf: url, encoding: .utf8) == report.html())
        // Regenerating over an existing page replaces it without leaving temporaries behind.
        try RunReport.generate(runDirectory: run)
        let names = try FileManager.default.contentsOfDirectory(atPath: run.path).sorted()
        #expect(names == ["config.json", "eval-cluster.json", "eval-knn.json", "metrics.jsonl", "montages", "report.html"])
    }

    /// Where `keepsTheExampleRunWhenAsked` leaves the example run; nil (the test is reported as
    /// skipped) unless `REPORT_EXAMPLE_DIR` is set.
    static let exampleDirectory: String? = {
        guard let keep = ProcessInfo.processInfo.environment["REPORT_EXAMPLE_DIR"], !keep.isEmpty else { return nil }
        return keep
    }()

    /// With `REPORT_EXAMPLE_DIR` set, leaves the synthetic run and its report there for the docs
    /// screenshot (docs/report.md: `REPORT_EXAMPLE_DIR=/tmp/fmnist-invp-demo swift test
    /// --skip-build --filter keepsTheExampleRunWhenAsked`), and checks the page it left is whole.
    @Test(.enabled(if: RunReportTests.exampleDirectory != nil, "set REPORT_EXAMPLE_DIR to write the example run for the docs screenshot"))
    func keepsTheExampleRunWhenAsked() throws {
        let keep = try #require(Self.exampleDirectory)
        let (root, run) = try SyntheticRun.make()
        defer { try? FileManager.default.removeItem(at: root) }
        let target = URL(fileURLWithPath: keep)
        try? FileManager.default.removeItem(at: target)
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: run, to: target)
        try RunReport.generate(runDirectory: target)
        // The screenshot is taken of this file: it must be there, with every section and chart.
        let page = target.appendingPathComponent("report.html")
        #expect(FileManager.default.fileExists(atPath: page.path))
        let html = try String(contentsOf: page, encoding: .utf8)
        for id in ["header", "summary", "training", "evaluations", "montages", "configuration"] {
            #expect(html.contains("id=\"\(id)\""), "missing section \(id)")
        }
        #expect(svgElement(html, id: "chart-loss") != nil && svgElement(html, id: "chart-knn") != nil)
        #expect(FileManager.default.fileExists(atPath: target.appendingPathComponent("montages").path))
    }
}
