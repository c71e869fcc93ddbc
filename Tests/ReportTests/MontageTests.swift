import Codecs
import Foundation
import Testing
@testable import Report

@Suite struct MontageTests {
    /// The RGB triple at (x, y) of an RGB image.
    func pixel(_ image: DecodedImage, x: Int, y: Int) -> [UInt8] {
        let offset = (y * image.width + x) * 3
        return Array(image.pixels[offset..<(offset + 3)])
    }

    /// A `size`×`size` image of one grey level.
    func flat(_ level: UInt8, size: Int = 5) throws -> DecodedImage {
        try DecodedImage(height: size, width: size, channels: 1, pixels: [UInt8](repeating: level, count: size * size))
    }

    @Test func gridHasTheRightSizeAndBorderColours() throws {
        let rows: [[MontageCell]] = [
            [MontageCell(image: try flat(10), border: .anchor), MontageCell(image: try flat(20), border: .sameLabel),
             MontageCell(image: try flat(30), border: .differentLabel)],
            [MontageCell(image: try flat(40), border: .anchor), MontageCell(image: try flat(50), border: .unknown)],
        ]
        let cellSize = 8, padding = 3, border = 2, slot = 8 + 2 * 2
        let image = try Montage.compose(rows: rows, cellSize: cellSize, padding: padding, borderWidth: border)
        #expect(image.channels == 3)
        #expect(image.width == padding + 3 * (slot + padding))   // 48: the longest row sets the width
        #expect(image.height == padding + 2 * (slot + padding))  // 33
        for (r, row) in rows.enumerated() {
            for (c, cell) in row.enumerated() {
                let left = padding + c * (slot + padding), top = padding + r * (slot + padding)
                // Frame: the corners and the middle of each edge; inside: the cell's grey level.
                for (x, y) in [(left, top), (left + slot - 1, top + slot - 1), (left + slot / 2, top + 1), (left + 1, top + slot / 2)] {
                    #expect(pixel(image, x: x, y: y) == cell.border.rgb, "frame of row \(r), column \(c)")
                }
                let level = cell.image.pixels[0]
                #expect(pixel(image, x: left + border, y: top + border) == [level, level, level])
                #expect(pixel(image, x: left + slot - border - 1, y: top + slot - border - 1) == [level, level, level])
            }
        }
        // Padding and the missing third cell of the short row are background.
        #expect(pixel(image, x: 0, y: 0) == Montage.backgroundRGB)
        #expect(pixel(image, x: padding + 2 * (slot + padding) + slot / 2, y: padding + slot + padding + slot / 2) == Montage.backgroundRGB)
        #expect(BorderKind.sameLabel.rgb == [0, 158, 83] && BorderKind.differentLabel.rgb == [213, 40, 40])
        #expect(BorderKind.unknown.rgb == [150, 150, 150])
    }

    @Test func cellsAreScaledByNearestNeighbour() throws {
        // 2×2 RGB quadrants scaled to 4×4: each source pixel becomes a 2×2 block.
        let colours: [[UInt8]] = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0]]
        let source = try DecodedImage(height: 2, width: 2, channels: 3, pixels: colours.flatMap { $0 })
        let image = try Montage.compose(rows: [[MontageCell(image: source, border: .unknown)]], cellSize: 4, padding: 0, borderWidth: 0)
        #expect(image.width == 4 && image.height == 4)
        for y in 0..<4 {
            for x in 0..<4 { #expect(pixel(image, x: x, y: y) == colours[(y / 2) * 2 + x / 2]) }
        }
        // Downscaling 6×6 → 3×3 samples pixel centres (1, 3, 5).
        let ramp = try DecodedImage(height: 6, width: 6, channels: 1, pixels: (0..<36).map { UInt8($0) })
        let small = try Montage.compose(rows: [[MontageCell(image: ramp, border: .unknown)]], cellSize: 3, padding: 0, borderWidth: 0)
        #expect(small.pixels.enumerated().filter { $0.offset % 3 == 0 }.map(\.element) == [7, 9, 11, 19, 21, 23, 31, 33, 35])
    }

    @Test func pngRoundTripAndSidecar() throws {
        let rows = [[MontageCell(image: try flat(90), border: .anchor), MontageCell(image: try flat(200, size: 3), border: .sameLabel)]]
        let png = try Montage.composePNG(rows: rows, cellSize: 6)
        #expect(PNGCodec.isPNG(png))
        let composed = try Montage.compose(rows: rows, cellSize: 6)
        #expect(try PNGCodec.decode(png, channels: 3) == composed)

        let run = FileManager.default.temporaryDirectory.appendingPathComponent("montage-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: run) }
        let url = try Montage.write(composed, name: "anchors", caption: "two cells", runDirectory: run)
        #expect(url.path == run.appendingPathComponent("montages/anchors.png").path)
        let sidecar = try Data(contentsOf: run.appendingPathComponent("montages/anchors.json"))
        #expect(try JSONValue.parse(sidecar) == .object(["caption": .string("two cells")]))
        #expect(throws: MontageError.self) { try Montage.write(composed, name: "../escape", caption: nil, runDirectory: run) }
    }

    @Test func borderKindComparesLabels() {
        #expect(BorderKind(anchorLabel: 3, cellLabel: 3) == .sameLabel)
        #expect(BorderKind(anchorLabel: 3, cellLabel: 4) == .differentLabel)
        #expect(BorderKind(anchorLabel: nil, cellLabel: 4) == .unknown)
        #expect(BorderKind(anchorLabel: 3, cellLabel: nil) == .unknown)
    }

    @Test func impossibleArgumentsThrow() throws {
        #expect(throws: MontageError.self) { try Montage.compose(rows: [], cellSize: 8) }
        #expect(throws: MontageError.self) { try Montage.compose(rows: [[]], cellSize: 8) }
        let cell = MontageCell(image: try flat(1), border: .unknown)
        #expect(throws: MontageError.self) { try Montage.compose(rows: [[cell]], cellSize: 0) }
        let empty = MontageCell(image: try DecodedImage(height: 0, width: 4, channels: 1, pixels: []), border: .unknown)
        #expect(throws: MontageError.self) { try Montage.compose(rows: [[cell, empty]], cellSize: 4) }
    }
}
