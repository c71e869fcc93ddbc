import Foundation

/// One named line of a chart: its points in data coordinates, in drawing order.
struct ChartSeries {
    /// Legend text, also written as the polyline's `data-series` attribute.
    var name: String
    /// (x, y) in data units; non-finite values are dropped before drawing.
    var points: [(x: Double, y: Double)]
    /// CSS colour of the line, markers and legend swatch.
    var color: String
}

/// A line chart rendered as an inline SVG string (no scripts, no external references).
struct LineChart {
    /// `id` of the `<svg>` element, so tests and readers can find the chart.
    var id: String
    /// Text under the x axis.
    var xLabel: String
    /// Text beside the y axis.
    var yLabel: String
    /// The lines; series without points are left out of the plot and the legend.
    var series: [ChartSeries]
    /// When true the x ticks are whole numbers (epochs).
    var integerX = false

    // Geometry in SVG user units; the SVG scales to its container's width.
    static let width = 600.0
    static let height = 300.0
    static let margin = (left: 66.0, right: 18.0, top: 34.0, bottom: 46.0)
    /// Markers are drawn on each point only when the lines are short enough to stay readable.
    static let maxPointsWithMarkers = 60

    /// The palette: Okabe–Ito colours, distinguishable with the common colour-vision deficiencies.
    static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"]

    /// The series that have at least one finite point, with non-finite points removed.
    var drawableSeries: [ChartSeries] {
        series.map { line in
            var copy = line
            copy.points = line.points.filter { $0.x.isFinite && $0.y.isFinite }
            return copy
        }.filter { !$0.points.isEmpty }
    }

    /// The SVG markup, or nil when no series has a point (the page then says "no data").
    func svg() -> String? {
        let lines = drawableSeries
        guard !lines.isEmpty else { return nil }
        let xs = lines.flatMap { $0.points.map(\.x) }, ys = lines.flatMap { $0.points.map(\.y) }
        let xAxis = Axis.fitted(min: xs.min() ?? 0, max: xs.max() ?? 1, integer: integerX, extendToTicks: false)
        let yAxis = Axis.fitted(min: ys.min() ?? 0, max: ys.max() ?? 1, integer: false, extendToTicks: true)

        let m = Self.margin
        let plotLeft = m.left, plotRight = Self.width - m.right
        let plotTop = m.top, plotBottom = Self.height - m.bottom
        let px = { (x: Double) in plotLeft + (x - xAxis.lower) / (xAxis.upper - xAxis.lower) * (plotRight - plotLeft) }
        let py = { (y: Double) in plotBottom - (y - yAxis.lower) / (yAxis.upper - yAxis.lower) * (plotBottom - plotTop) }

        var svg = "<svg class=\"chart\" id=\"\(HTML.escape(id))\" viewBox=\"0 0 \(Int(Self.width)) \(Int(Self.height))\" "
        svg += "role=\"img\" aria-label=\"\(HTML.escape(yLabel)) against \(HTML.escape(xLabel))\">\n"

        // Grid and y ticks.
        for tick in yAxis.ticks {
            let y = format(py(tick))
            svg += "<line class=\"grid\" x1=\"\(format(plotLeft))\" y1=\"\(y)\" x2=\"\(format(plotRight))\" y2=\"\(y)\"/>"
            svg += "<text class=\"tick\" x=\"\(format(plotLeft - 6))\" y=\"\(y)\" text-anchor=\"end\" dominant-baseline=\"middle\">"
            svg += "\(NumberFormatting.tick(tick, step: yAxis.step))</text>\n"
        }
        // X ticks.
        for tick in xAxis.ticks {
            let x = format(px(tick))
            svg += "<line class=\"axis\" x1=\"\(x)\" y1=\"\(format(plotBottom))\" x2=\"\(x)\" y2=\"\(format(plotBottom + 5))\"/>"
            svg += "<text class=\"tick\" x=\"\(x)\" y=\"\(format(plotBottom + 18))\" text-anchor=\"middle\">"
            svg += "\(NumberFormatting.tick(tick, step: xAxis.step))</text>\n"
        }
        // Axes and their labels.
        svg += "<line class=\"axis\" x1=\"\(format(plotLeft))\" y1=\"\(format(plotTop))\" x2=\"\(format(plotLeft))\" y2=\"\(format(plotBottom))\"/>"
        svg += "<line class=\"axis\" x1=\"\(format(plotLeft))\" y1=\"\(format(plotBottom))\" x2=\"\(format(plotRight))\" y2=\"\(format(plotBottom))\"/>\n"
        svg += "<text class=\"label\" x=\"\(format((plotLeft + plotRight) / 2))\" y=\"\(format(Self.height - 8))\" text-anchor=\"middle\">\(HTML.escape(xLabel))</text>\n"
        let yLabelY = format((plotTop + plotBottom) / 2)
        svg += "<text class=\"label\" x=\"14\" y=\"\(yLabelY)\" text-anchor=\"middle\" transform=\"rotate(-90 14 \(yLabelY))\">\(HTML.escape(yLabel))</text>\n"

        // The lines, then their markers (each with a hover title giving the exact value).
        for line in lines {
            let points = line.points.map { "\(format(px($0.x))),\(format(py($0.y)))" }.joined(separator: " ")
            svg += "<polyline class=\"series\" data-series=\"\(HTML.escape(line.name))\" points=\"\(points)\" "
            svg += "fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"2\" stroke-linejoin=\"round\"/>\n"
            if line.points.count <= Self.maxPointsWithMarkers {
                for point in line.points {
                    svg += "<circle cx=\"\(format(px(point.x)))\" cy=\"\(format(py(point.y)))\" r=\"2.6\" fill=\"\(line.color)\">"
                    svg += "<title>\(HTML.escape(line.name)) at \(HTML.escape(xLabel)) \(NumberFormatting.plain(point.x)): "
                    svg += "\(NumberFormatting.table(point.y))</title></circle>"
                }
                svg += "\n"
            }
        }

        // Legend along the top edge; text width estimated at 6.6 units per character of 12-unit text.
        var legendX = plotLeft
        for line in lines {
            svg += "<line x1=\"\(format(legendX))\" y1=\"14\" x2=\"\(format(legendX + 18))\" y2=\"14\" stroke=\"\(line.color)\" stroke-width=\"3\"/>"
            svg += "<text class=\"legend\" x=\"\(format(legendX + 23))\" y=\"14\" dominant-baseline=\"middle\">\(HTML.escape(line.name))</text>\n"
            legendX += 23 + Double(line.name.count) * 6.6 + 18
        }
        svg += "</svg>"
        return svg
    }

    /// Coordinates with one decimal: enough for a 600-unit canvas, and short markup.
    private func format(_ value: Double) -> String { String(format: "%.1f", value) }
}

/// An axis range with "nice" ticks (1, 2, 2.5 or 5 times a power of ten).
struct Axis: Equatable {
    /// Data value at the start of the axis.
    var lower: Double
    /// Data value at the end of the axis.
    var upper: Double
    /// Distance between ticks.
    var step: Double
    /// Tick positions, all within `lower...upper`.
    var ticks: [Double]

    /// An axis covering `min...max` with about `targetTicks` ticks; `extendToTicks` widens the
    /// range to the enclosing ticks (for y), otherwise the range is the data's own (for x).
    static func fitted(min: Double, max: Double, integer: Bool, extendToTicks: Bool, targetTicks: Int = 6) -> Axis {
        var low = min, high = max
        if high - low <= abs(high) * 1e-12 {
            // A constant series: give it some room so it draws mid-plot.
            let pad = integer ? 1 : (abs(low) > 0 ? abs(low) * 0.1 : 1)
            low -= pad
            high += pad
        }
        var step = niceStep((high - low) / Double(Swift.max(1, targetTicks - 1)))
        if integer { step = Swift.max(1, step.rounded(.up)) }
        if extendToTicks {
            low = (low / step).rounded(.down) * step
            high = (high / step).rounded(.up) * step
        }
        var ticks: [Double] = []
        var tick = (low / step).rounded(.up) * step
        while tick <= high + step * 1e-9 {
            // Snap to the step grid so 0.1 + 0.2 prints as 0.3.
            ticks.append((tick / step).rounded() * step)
            tick += step
        }
        return Axis(lower: low, upper: high, step: step, ticks: ticks)
    }

    /// The nice number (1, 2, 2.5, 5 × 10^k) nearest above `rough`.
    static func niceStep(_ rough: Double) -> Double {
        guard rough > 0, rough.isFinite else { return 1 }
        let power = pow(10, (log10(rough)).rounded(.down))
        let fraction = rough / power
        let nice: Double = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 2.5 ? 2.5 : fraction <= 5 ? 5 : 10
        return nice * power
    }
}
