import Foundation
import RunFormat

extension RunReport {
    /// The whole page: inline CSS and SVG, montages as base64 data URIs, no scripts, no network.
    public func html() -> String {
        var page = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        page += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        page += "<title>\(HTML.escape(name)) · invprop report</title>\n<style>\n\(HTML.styleSheet)\n</style>\n</head>\n"
        page += "<body>\n<main>\n"
        page += headerSection()
        page += summarySection()
        page += trainingSection()
        page += evaluationSection()
        page += mapSection()
        page += montageSection()
        page += configurationSection()
        page += "<footer>Written by <code>invprop report</code>; self-contained: it needs no network access.</footer>\n"
        page += "</main>\n</body>\n</html>\n"
        return page
    }

    // MARK: Header and summary

    /// Run name, the dataset / method / backbone the configuration names, and the directory.
    func headerSection() -> String {
        var facts: [String] = []
        let labels: [(title: String, keys: [String])] = [
            ("dataset", ["dataset"]), ("method", ["method"]), ("backbone", ["backbone", "architecture", "arch", "model"]),
        ]
        for label in labels {
            if let value = configurationLabel(forAnyOf: label.keys) {
                facts.append("\(label.title) <b>\(HTML.escape(value))</b>")
            }
        }
        facts.append("<b>\(epochs.count)</b> epoch\(epochs.count == 1 ? "" : "s") logged")
        var html = "<header id=\"header\">\n<h1>\(HTML.escape(name))</h1>\n"
        html += "<div class=\"subtitle\">\(facts.joined(separator: " · "))</div>\n"
        html += "<div class=\"path\">\(HTML.escape(runDirectory.path))</div>\n</header>\n"
        return html
    }

    /// The first string found under one of `keys` (breadth-first, so top-level keys win); for an
    /// object value, its `name` or `type` member.
    func configurationLabel(forAnyOf keys: [String]) -> String? {
        var queue: [JSONValue] = configuration.map { [$0] } ?? []
        while !queue.isEmpty {
            let value = queue.removeFirst()
            guard case .object(let members) = value else { continue }
            for key in keys {
                switch members[key] {
                case .string(let text)?: return text
                case .object(let nested)?:
                    if let text = (nested["name"] ?? nested["type"])?.stringValue { return text }
                default: break
                }
            }
            queue += members.keys.sorted().compactMap { members[$0] }
        }
        return nil
    }

    /// The split the kNN monitor scored ("validation" or "test"; lines without the field scored test).
    var monitorSplit: String { epochs.last { $0.monitorSplit != nil }?.monitorSplit ?? "test" }

    /// The last present value of a metric and the epoch it was logged at.
    func lastValue(_ key: String) -> (epoch: Int, value: Double)? {
        epochs.last { $0[key]?.isFinite == true }.flatMap { entry in entry[key].map { (entry.epoch, $0) } }
    }

    /// Stat tiles: epochs, final loss, kNN top-1 (and best), hard-positive purity, wall time, throughput.
    func summarySection() -> String {
        var tiles: [(value: String, name: String)] = []
        if let last = epochs.last { tiles.append(("\(last.epoch)", "epochs")) }
        if let loss = lastValue(MetricKey.loss) { tiles.append((NumberFormatting.table(loss.value), "final loss")) }
        let split = monitorSplit
        if let top1 = lastValue(MetricKey.knnTop1) {
            let best = epochs.compactMap { entry in entry[MetricKey.knnTop1].map { (entry.epoch, $0) } }
                .filter { $0.1.isFinite }.max { $0.1 < $1.1 }
            var name = "\(split) kNN top-1 (%), epoch \(top1.epoch)"
            if let best, best.1 > top1.value { name += "; best \(NumberFormatting.table(best.1)) at \(best.0)" }
            tiles.append((NumberFormatting.table(top1.value), name))
        }
        if let recomputed = lastValue(MetricKey.knnRecomputedTop1) {
            tiles.append((NumberFormatting.table(recomputed.value), "\(split) kNN top-1 (%), recomputed features, epoch \(recomputed.epoch)"))
        }
        for (key, features) in [(MetricKey.testKnnTop1, "bank"), (MetricKey.testKnnRecomputedTop1, "recomputed features")] {
            if let test = lastValue(key) {
                tiles.append((NumberFormatting.table(test.value), "test kNN top-1 (%), \(features), scored once after epoch \(test.epoch)"))
            }
        }
        if let purity = lastValue(MetricKey.purityHard) {
            tiles.append((NumberFormatting.table(purity.value), "hard-positive purity"))
        }
        if let wall = lastValue(MetricKey.wallSeconds) {
            tiles.append((NumberFormatting.duration(seconds: wall.value), "wall-clock time"))
        }
        let speeds = epochs.compactMap { $0[MetricKey.imagesPerSecond] }.filter(\.isFinite)
        if !speeds.isEmpty {
            tiles.append((NumberFormatting.table(speeds.reduce(0, +) / Double(speeds.count)), "mean images/s"))
        }
        guard !tiles.isEmpty else { return "" }
        var html = "<section id=\"summary\" class=\"summary\">\n"
        for tile in tiles {
            html += "<div class=\"stat\"><div class=\"value\">\(HTML.escape(tile.value))</div>"
            html += "<div class=\"name\">\(HTML.escape(tile.name))</div></div>\n"
        }
        return html + "</section>\n"
    }

    // MARK: Training charts

    /// A chart of metrics `keys` against the epoch, one line per key.
    func epochChart(id: String, yLabel: String, keys: [(key: String, legend: String)]) -> LineChart {
        let series = keys.enumerated().map { index, entry in
            ChartSeries(name: entry.legend,
                        points: epochs.compactMap { e in e[entry.key].map { (Double(e.epoch), $0) } },
                        color: LineChart.palette[index % LineChart.palette.count])
        }
        return LineChart(id: id, xLabel: "epoch", yLabel: yLabel, series: series, integerX: true)
    }

    /// The charts of the training section, in page order, with their card titles.
    func trainingCharts() -> [(title: String, chart: LineChart, optional: Bool)] {
        var charts: [(title: String, chart: LineChart, optional: Bool)] = [
            ("Loss", epochChart(id: "chart-loss", yLabel: "loss", keys: [(MetricKey.loss, "total")]
                + keysInEpochs { $0.hasPrefix(MetricKey.lossTermPrefix) }.map { ($0, String($0.dropFirst(MetricKey.lossTermPrefix.count))) }), false),
            ("Learning rate", epochChart(id: "chart-learning-rate", yLabel: "learning rate", keys: [
                (MetricKey.learningRate, "learning rate"),
            ]), false),
            ("kNN accuracy (\(monitorSplit) split)", epochChart(id: "chart-knn", yLabel: "accuracy (%)", keys: [
                (MetricKey.knnTop1, "top-1 (bank)"), (MetricKey.knnTop5, "top-5 (bank)"),
                (MetricKey.knnRecomputedTop1, "top-1 (recomputed)"),
            ]), false),
            // Only InvP with labelled data records purity: other runs leave the card out.
            ("Purity of propagated positives", epochChart(id: "chart-purity", yLabel: "fraction with anchor's label", keys: [
                (MetricKey.purityCandidates, "candidates"), (MetricKey.purityHard, "hard positives"),
            ]), true),
            ("Throughput", epochChart(id: "chart-throughput", yLabel: "images / s", keys: [
                (MetricKey.imagesPerSecond, "images/s"),
            ]), false),
        ]
        func byTime(_ key: String) -> [(x: Double, y: Double)] {
            epochs.compactMap { e -> (x: Double, y: Double)? in
                guard let seconds = e[MetricKey.wallSeconds], let top1 = e[key] else { return nil }
                return (seconds / 60, top1)
            }
        }
        charts.append(("\(monitorSplit.prefix(1).uppercased() + monitorSplit.dropFirst()) kNN top-1 against wall-clock time", LineChart(
            id: "chart-knn-time", xLabel: "wall-clock minutes", yLabel: "kNN top-1 (%)",
            series: [ChartSeries(name: "top-1 (bank)", points: byTime(MetricKey.knnTop1), color: LineChart.palette[0]),
                     ChartSeries(name: "top-1 (recomputed)", points: byTime(MetricKey.knnRecomputedTop1), color: LineChart.palette[1])]), false))
        charts.append(("Invariance weight", epochChart(id: "chart-invariance-weight", yLabel: "weight", keys: [
            (MetricKey.invarianceWeight, "invariance weight"),
        ]), true))
        // The method's own diagnostics (ODC's and CoKe's cluster sizes, …), one chart each.
        for key in keysInEpochs({ !Self.chartedKeys.contains($0) && !$0.hasPrefix(MetricKey.lossTermPrefix) }) {
            let title = key.replacingOccurrences(of: "_", with: " ")
            let axis = metricUnits[key].map { "\(title) (\($0))" } ?? title
            charts.append((title.prefix(1).uppercased() + title.dropFirst(), epochChart(id: "chart-\(key)", yLabel: axis, keys: [(key, title)]), true))
        }
        return charts
    }

    /// The sorted keys of any epoch's numbers that satisfy `include`.
    func keysInEpochs(_ include: (String) -> Bool) -> [String] {
        Set(epochs.flatMap(\.values.keys)).filter(include).sorted()
    }

    /// Keys of the metrics record that the page shows elsewhere or that are not per-epoch curves.
    static let chartedKeys: Set<String> = [
        MetricKey.epoch, MetricKey.wallSeconds, MetricKey.loss, MetricKey.learningRate, MetricKey.imagesPerSecond,
        MetricKey.knnTop1, MetricKey.knnTop5, MetricKey.knnRecomputedTop1, MetricKey.knnRecomputedTop5,
        MetricKey.testKnnTop1, MetricKey.testKnnTop5, MetricKey.testKnnRecomputedTop1, MetricKey.testKnnRecomputedTop5,
        MetricKey.monitorSeconds, MetricKey.purityCandidates, MetricKey.purityHard, MetricKey.invarianceWeight,
    ]

    /// The grid of chart cards; a chart without data says so, an optional one is left out.
    func trainingSection() -> String {
        var html = "<h2 id=\"training\">Training</h2>\n<section class=\"charts\">\n"
        for entry in trainingCharts() {
            let svg = entry.chart.svg()
            if svg == nil && entry.optional { continue }
            html += "<div class=\"card\">\n<h3>\(HTML.escape(entry.title))</h3>\n"
            html += svg ?? "<div class=\"empty\">no data recorded</div>"
            html += "\n</div>\n"
        }
        return html + "</section>\n"
    }

    // MARK: Evaluations

    /// One row per `eval-*.json`: protocol, the union of numeric fields as columns, other fields as details.
    func evaluationSection() -> String {
        var html = "<h2 id=\"evaluations\">Evaluations</h2>\n"
        guard !evaluations.isEmpty else {
            return html + "<p class=\"empty\">No evaluations yet (run <code>invprop eval …</code>).</p>\n"
        }
        var columns: [String] = []
        for evaluation in evaluations {
            for metric in evaluation.metrics where !columns.contains(metric.name) { columns.append(metric.name) }
        }
        columns = EvaluationResult.displayOrder(columns)
        let hasDetails = evaluations.contains { !$0.details.isEmpty }

        // The wrapper scrolls sideways on narrow screens instead of squeezing many metric columns.
        html += "<div class=\"scroll\"><table class=\"evaluations\">\n<thead><tr><th>protocol</th>"
        for column in columns { html += "<th class=\"number\">\(HTML.escape(column))</th>" }
        if hasDetails { html += "<th>details</th>" }
        html += "</tr></thead>\n<tbody>\n"
        for evaluation in evaluations {
            html += "<tr><td>\(HTML.escape(evaluation.protocolName))<span class=\"file\">\(HTML.escape(evaluation.fileName))</span></td>"
            for column in columns {
                let value = evaluation.metrics.first { $0.name == column }?.value
                html += "<td class=\"number\">\(value.map(NumberFormatting.table) ?? "–")</td>"
            }
            if hasDetails {
                let text = evaluation.details.map { "\($0.name): \($0.value.displayText)" }.joined(separator: "; ")
                let shortened = text.count > 240 ? String(text.prefix(240)) + "…" : text
                html += "<td class=\"details\">\(HTML.escape(shortened))</td>"
            }
            html += "</tr>\n"
        }
        return html + "</tbody>\n</table></div>\n"
    }

    // MARK: Montages

    /// The width a montage is enlarged towards, in CSS pixels (by a whole factor, at most 3).
    static let montageDisplayWidth = 720

    /// Each montage as an embedded PNG with its caption.
    func montageSection() -> String {
        var html = "<h2 id=\"montages\">Propagated positives</h2>\n"
        guard !montages.isEmpty else {
            return html + "<p class=\"empty\">No montages yet (run <code>invprop neighbors</code>).</p>\n"
        }
        html += "<p class=\"subtitle\">Each row: an anchor, then its positives; border green when the label "
        html += "matches the anchor's, red when it does not, grey when unknown.</p>\n<div class=\"montages\">\n"
        for montage in montages {
            let encoded = Data(montage.pngBytes).base64EncodedString()
            // Small montages (dataset images are often 28–96 px) are shown 2–3× larger, pixel-sharp.
            var size = ""
            if let pixels = montage.pixelSize, pixels.width > 0 {
                let scale = min(3, max(1, Self.montageDisplayWidth / pixels.width))
                size = " width=\"\(pixels.width * scale)\" height=\"\(pixels.height * scale)\""
            }
            html += "<figure><img src=\"data:image/png;base64,\(encoded)\"\(size) alt=\"\(HTML.escape(montage.caption))\">"
            html += "<figcaption>\(HTML.escape(montage.caption))</figcaption></figure>\n"
        }
        return html + "</div>\n"
    }

    // MARK: Configuration

    /// `config.json` as an indented key/value tree (objects open a group, arrays of scalars stay inline).
    func configurationSection() -> String {
        var html = "<h2 id=\"configuration\">Configuration</h2>\n"
        guard case .object(let members)? = configuration else {
            return html + "<p class=\"empty\">No config.json in the run directory.</p>\n"
        }
        html += "<table class=\"config\">\n<tbody>\n"
        appendConfigurationRows(members, depth: 0, to: &html)
        return html + "</tbody>\n</table>\n"
    }

    /// Rows for one object level, keys sorted, indented by `depth`.
    private func appendConfigurationRows(_ members: [String: JSONValue], depth: Int, to html: inout String) {
        let indent = "padding-left: \(12 + depth * 18)px"
        for key in members.keys.sorted() {
            guard let value = members[key] else { continue }
            if case .object(let nested) = value, !nested.isEmpty {
                html += "<tr class=\"group\"><td class=\"key\" style=\"\(indent)\" colspan=\"2\">\(HTML.escape(key))</td></tr>\n"
                appendConfigurationRows(nested, depth: depth + 1, to: &html)
            } else {
                html += "<tr><td class=\"key\" style=\"\(indent)\">\(HTML.escape(key))</td>"
                html += "<td class=\"value\">\(HTML.escape(value.displayText))</td></tr>\n"
            }
        }
    }
}
