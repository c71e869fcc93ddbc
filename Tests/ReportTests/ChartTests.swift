import Foundation
import Testing
@testable import Report

@Suite struct ChartTests {
    @Test func axisTicksAreNiceAndCoverTheData() {
        let y = Axis.fitted(min: 0.13, max: 0.87, integer: false, extendToTicks: true)
        #expect(y.step == 0.2)
        #expect(y.lower == 0 && abs(y.upper - 1) < 1e-12)
        #expect(y.ticks.map { NumberFormatting.tick($0, step: y.step) } == ["0", "0.2", "0.4", "0.6", "0.8", "1.0"])

        let epochs = Axis.fitted(min: 1, max: 10, integer: true, extendToTicks: false)
        #expect(epochs.lower == 1 && epochs.upper == 10 && epochs.step == 2)
        #expect(epochs.ticks == [2, 4, 6, 8, 10])

        // A constant series still gets a range, and a single epoch whole-number ticks.
        let flat = Axis.fitted(min: 0.03, max: 0.03, integer: false, extendToTicks: true)
        #expect(flat.lower < 0.03 && flat.upper > 0.03 && flat.ticks.count >= 2)
        let one = Axis.fitted(min: 1, max: 1, integer: true, extendToTicks: false)
        #expect(one.ticks == [0, 1, 2])
    }

    @Test func tickLabelsUseTheStepsPrecision() {
        #expect(NumberFormatting.tick(2.5, step: 2.5) == "2.5")
        #expect(NumberFormatting.tick(0.0005, step: 0.0005) == "0.0005")
        #expect(NumberFormatting.tick(3e-5, step: 1e-5) == "3.0e-05")
        #expect(NumberFormatting.tick(600, step: 100) == "600")
        #expect(NumberFormatting.table(84.37) == "84.37" && NumberFormatting.table(0.6512) == "0.6512")
        #expect(NumberFormatting.table(0.07) == "0.07" && NumberFormatting.table(0.0005) == "0.0005")
        #expect(NumberFormatting.table(200) == "200" && NumberFormatting.table(1234.6) == "1235")
        #expect(NumberFormatting.duration(seconds: 955) == "15 min 55 s")
        #expect(NumberFormatting.duration(seconds: 3725) == "1 h 02 min")
    }

    @Test func chartDropsNonFiniteValuesAndEmptySeries() throws {
        let chart = LineChart(id: "c", xLabel: "epoch", yLabel: "loss", series: [
            ChartSeries(name: "a", points: [(1, 2), (2, .nan), (3, 1)], color: "#000"),
            ChartSeries(name: "b", points: [], color: "#111"),
        ], integerX: true)
        let svg = try #require(chart.svg())
        #expect(svg.contains("data-series=\"a\"") && !svg.contains("data-series=\"b\""))
        #expect(svg.components(separatedBy: "<circle").count - 1 == 2)
        let nothing = LineChart(id: "n", xLabel: "x", yLabel: "y", series: [ChartSeries(name: "z", points: [], color: "#000")])
        #expect(nothing.svg() == nil)
    }

    @Test func textIsEscaped() {
        #expect(HTML.escape("<a href=\"x\">R&D's</a>") == "&lt;a href=&quot;x&quot;&gt;R&amp;D&#39;s&lt;/a&gt;")
    }

    @Test func jsonValuesKeepTheirKinds() throws {
        let value = try JSONValue.parse(Data(#"{"a": true, "b": 1, "c": [1, "x", null], "d": {"e": 0.5}}"#.utf8))
        #expect(value["a"] == .bool(true) && value["b"] == .number(1))
        #expect(value["c"]?.displayText == "[1, \"x\", null]")
        #expect(value["d"]?["e"]?.numberValue == 0.5)
        #expect(throws: JSONSyntaxError.self) { try JSONValue.parse(Data("{\"a\": ".utf8)) }
    }
}
