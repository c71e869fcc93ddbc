import Codecs
import Foundation

/// The colour of a montage cell's frame: how the cell's label relates to its row's anchor.
public enum BorderKind: Sendable, Equatable {
    /// The row's anchor itself (blue).
    case anchor
    /// The label equals the anchor's (green).
    case sameLabel
    /// The label differs from the anchor's (red).
    case differentLabel
    /// One of the labels is unknown (grey).
    case unknown

    /// Compares a cell's label with its anchor's; unknown when either is nil.
    public init(anchorLabel: Int?, cellLabel: Int?) {
        guard let anchorLabel, let cellLabel else { self = .unknown; return }
        self = anchorLabel == cellLabel ? .sameLabel : .differentLabel
    }

    /// The frame colour as RGB bytes.
    public var rgb: [UInt8] {
        switch self {
        case .anchor: return [0, 114, 178]
        case .sameLabel: return [0, 158, 83]
        case .differentLabel: return [213, 40, 40]
        case .unknown: return [150, 150, 150]
        }
    }
}

/// One image of a montage with its frame.
public struct MontageCell: Sendable {
    /// The image, any size and 1–4 channels; it is scaled to the cell by nearest neighbour.
    public var image: DecodedImage
    /// The frame colour.
    public var border: BorderKind

    /// A cell showing `image` framed in `border`'s colour.
    public init(image: DecodedImage, border: BorderKind) {
        self.image = image
        self.border = border
    }
}

/// A montage argument that cannot produce an image.
public struct MontageError: Error, CustomStringConvertible, Equatable {
    /// What is wrong.
    public var description: String
}

/// Composition of labelled image grids (an anchor and its positives per row) into one RGB image.
public enum Montage {
    /// The colour between cells: white, so the coloured frames stand out.
    public static let backgroundRGB: [UInt8] = [255, 255, 255]

    /// Lays `rows` out as a grid of `cellSize`×`cellSize` images, each inside a `borderWidth` frame,
    /// with `padding` background pixels between and around frames; rows may differ in length
    /// (the grid is as wide as the longest). Output: RGB, height × width × 3.
    public static func compose(rows: [[MontageCell]], cellSize: Int, padding: Int = 4,
                               borderWidth: Int = 2) throws -> DecodedImage {
        guard cellSize >= 1, padding >= 0, borderWidth >= 0 else {
            throw MontageError(description: "montage: cellSize must be ≥ 1 and padding, borderWidth ≥ 0 "
                               + "(got \(cellSize), \(padding), \(borderWidth))")
        }
        let columns = rows.map(\.count).max() ?? 0
        guard columns > 0 else { throw MontageError(description: "montage: no cells to compose") }
        let slot = cellSize + 2 * borderWidth
        guard let width = checkedProduct([columns, slot + padding]).map({ $0 + padding }),
              let height = checkedProduct([rows.count, slot + padding]).map({ $0 + padding }),
              let byteCount = checkedProduct([width, height, 3]), byteCount <= 1 << 30 else {
            throw MontageError(description: "montage: \(rows.count)×\(columns) cells of \(cellSize) px is too large")
        }
        var pixels = [UInt8](repeating: 0, count: byteCount)
        fill(&pixels, imageWidth: width, x: 0, y: 0, width: width, height: height, rgb: backgroundRGB)

        for (rowIndex, row) in rows.enumerated() {
            for (columnIndex, cell) in row.enumerated() {
                let left = padding + columnIndex * (slot + padding)
                let top = padding + rowIndex * (slot + padding)
                fill(&pixels, imageWidth: width, x: left, y: top, width: slot, height: slot, rgb: cell.border.rgb)
                let rgb = try scaledRGB(cell.image, size: cellSize, row: rowIndex, column: columnIndex)
                for y in 0..<cellSize {
                    let destination = ((top + borderWidth + y) * width + left + borderWidth) * 3
                    let source = y * cellSize * 3
                    pixels.replaceSubrange(destination..<(destination + cellSize * 3),
                                           with: rgb[source..<(source + cellSize * 3)])
                }
            }
        }
        return try DecodedImage(height: height, width: width, channels: 3, pixels: pixels)
    }

    /// `compose` encoded as PNG bytes.
    public static func composePNG(rows: [[MontageCell]], cellSize: Int, padding: Int = 4,
                                  borderWidth: Int = 2) throws -> [UInt8] {
        try PNGCodec.encode(compose(rows: rows, cellSize: cellSize, padding: padding, borderWidth: borderWidth))
    }

    /// Saves `image` as `montages/<name>.png` in the run directory with the sidecar
    /// `montages/<name>.json` (`{"caption": ...}`) that the report shows under it; returns the PNG's URL.
    @discardableResult
    public static func write(_ image: DecodedImage, name: String, caption: String?, runDirectory: URL) throws -> URL {
        guard !name.isEmpty, !name.hasPrefix("."), !name.contains("/") else {
            throw MontageError(description: "montage: \"\(name)\" is not a plain file name")
        }
        let folder = runDirectory.appendingPathComponent("montages")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let pngURL = folder.appendingPathComponent(name + ".png")
        try Data(PNGCodec.encode(image)).write(to: pngURL, options: .atomic)
        let sidecarURL = folder.appendingPathComponent(name + ".json")
        if let caption {
            try JSONEncoder().encode(["caption": caption]).write(to: sidecarURL, options: .atomic)
        } else if FileManager.default.fileExists(atPath: sidecarURL.path) {
            // A stale caption from an earlier montage of the same name would now be wrong.
            try FileManager.default.removeItem(at: sidecarURL)
        }
        return pngURL
    }

    /// `image` as RGB, scaled to `size`×`size` by nearest neighbour (sampling each target pixel's centre).
    static func scaledRGB(_ image: DecodedImage, size: Int, row: Int, column: Int) throws -> [UInt8] {
        guard image.height > 0, image.width > 0 else {
            throw MontageError(description: "montage: the cell at row \(row), column \(column) is empty "
                               + "(\(image.height)×\(image.width))")
        }
        let rgb = try image.converted(toChannels: 3)
        var out = [UInt8](repeating: 0, count: size * size * 3)
        for y in 0..<size {
            let sourceY = (2 * y + 1) * rgb.height / (2 * size)
            for x in 0..<size {
                let sourceX = (2 * x + 1) * rgb.width / (2 * size)
                let s = (sourceY * rgb.width + sourceX) * 3, d = (y * size + x) * 3
                out[d] = rgb.pixels[s]
                out[d + 1] = rgb.pixels[s + 1]
                out[d + 2] = rgb.pixels[s + 2]
            }
        }
        return out
    }

    /// Paints an axis-aligned rectangle of an RGB buffer `imageWidth` pixels wide.
    static func fill(_ pixels: inout [UInt8], imageWidth: Int, x: Int, y: Int, width: Int, height: Int, rgb: [UInt8]) {
        for row in y..<(y + height) {
            for column in x..<(x + width) {
                let offset = (row * imageWidth + column) * 3
                pixels[offset] = rgb[0]
                pixels[offset + 1] = rgb[1]
                pixels[offset + 2] = rgb[2]
            }
        }
    }
}
