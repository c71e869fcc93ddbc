import Foundation
import Testing
@testable import Report

/// The embedding map section: one dot per point placed on one scale, thumbnails on hover, and a
/// damaged map file named in the error.
@Suite struct EmbeddingMapTests {
    static let map = EmbeddingMapFile(source: "memory bank", explainedVariance: [0.4, 0.1], points: [
        .init(index: 0, label: 0, x: -1, y: 0, thumbnail: "AAAA"),
        .init(index: 7, label: 3, x: 1, y: 0.5, thumbnail: nil),
        .init(index: 9, label: nil, x: 0, y: -0.5, thumbnail: "BBBB"),
    ])

    @Test func mapIsDrawnWithOneScaleAndHoverThumbnails() throws {
        let (root, run) = try SyntheticRun.make()
        defer { try? FileManager.default.removeItem(at: root) }
        try Self.map.write(in: run)
        let report = try RunReport.load(runDirectory: run)
        #expect(report.map == Self.map)
        let html = report.html()
        #expect(html.contains("id=\"map\"") && html.contains("PC1 across (40.0 % of the variance)"))
        #expect(html.components(separatedBy: "<span class=\"pt\"").count - 1 == 3)
        // x spans 2, y spans 1: one scale means x fills 3 %…97 % and y only 26.5 %…73.5 %.
        #expect(html.contains("left:3.00%;top:50.00%;background:#4E79A7\" title=\"image 0, label 0\""))
        #expect(html.contains("left:97.00%;top:73.50%;background:#76B7B2\" title=\"image 7, label 3\""))
        #expect(html.contains("left:50.00%;top:26.50%;background:#8a8f98\" title=\"image 9\""))
        #expect(html.contains("<img src=\"data:image/png;base64,AAAA\"") && html.contains("label 3</span>"))
        #expect(!html.contains("<script"))
    }

    @Test func runWithoutMapSaysHowToGetOne() throws {
        let (root, run) = try SyntheticRun.make()
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(try RunReport.load(runDirectory: run).html().contains("No embedding map"))
    }

    @Test func damagedMapIsNamed() throws {
        let (root, run) = try SyntheticRun.make()
        defer { try? FileManager.default.removeItem(at: root) }
        try SyntheticRun.write("{\"points\": 3}", to: run.appendingPathComponent("embedding-map.json"))
        #expect {
            try RunReport.load(runDirectory: run)
        } throws: { error in
            "\(error)".contains("embedding-map.json")
        }
    }
}
