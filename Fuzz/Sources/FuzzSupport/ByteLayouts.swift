import Codecs

/// Small writers of the binary dataset layouts, for seed files (valid inputs the fuzzer
/// mutates). Pixels follow a fixed pattern so seeds are reproducible.
public enum ByteLayouts {
    /// Pixel value of image `n` at row `y`, column `x`, channel `c`.
    public static func pixel(_ n: Int, _ y: Int, _ x: Int, _ c: Int) -> UInt8 {
        UInt8(truncatingIfNeeded: n &* 37 &+ y &* 11 &+ x &* 5 &+ c &* 101)
    }

    /// A big-endian 32-bit integer.
    public static func be32(_ v: Int) -> [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: v >> $0) } }

    /// A little-endian 16-bit integer.
    public static func le16(_ v: Int) -> [UInt8] { [UInt8(truncatingIfNeeded: v), UInt8(truncatingIfNeeded: v >> 8)] }

    /// An IDX images file (magic 0x00000803): `count` images of `side`×`side`.
    public static func idxImages(count: Int, side: Int) -> [UInt8] {
        var out: [UInt8] = [0, 0, 8, 3] + be32(count) + be32(side) + be32(side)
        for n in 0..<count { for y in 0..<side { for x in 0..<side { out.append(pixel(n, y, x, 0)) } } }
        return out
    }

    /// An IDX labels file (magic 0x00000801).
    public static func idxLabels(_ labels: [UInt8]) -> [UInt8] { [0, 0, 8, 1] + be32(labels.count) + labels }

    /// Three `side`×`side` channel planes of image `n`, row-major or column-major (MATLAB order).
    public static func planes(_ n: Int, side: Int, columnMajor: Bool) -> [UInt8] {
        var out: [UInt8] = []
        for c in 0..<3 {
            for i in 0..<(side * side) {
                let (y, x) = columnMajor ? (i % side, i / side) : (i / side, i % side)
                out.append(pixel(n, y, x, c))
            }
        }
        return out
    }
}

/// A MATLAB level-5 MAT-file writer for seeds: numeric matrices, plain or in miCOMPRESSED
/// elements, in either byte order (the layout SVHN's files use).
public struct MATWriter {
    /// Big-endian ("MI") when true.
    public var bigEndian: Bool
    /// Wraps each matrix in a zlib-compressed element when true.
    public var compressed: Bool
    private var body: [UInt8] = []

    /// An empty file of the given byte order and compression.
    public init(bigEndian: Bool = false, compressed: Bool = false) {
        self.bigEndian = bigEndian
        self.compressed = compressed
    }

    /// A 32-bit integer in the file's byte order.
    public func u32(_ v: Int) -> [UInt8] {
        let bytes = [0, 8, 16, 24].map { UInt8(truncatingIfNeeded: v >> $0) }
        return bigEndian ? bytes.reversed() : bytes
    }

    /// A 64-bit integer in the file's byte order.
    public func u64(_ v: UInt64) -> [UInt8] {
        let bytes = (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) }
        return bigEndian ? bytes.reversed() : bytes
    }

    /// A data element (tag + data padded to 8 bytes), or the small form for ≤ 4 bytes.
    func element(type: Int, _ data: [UInt8], small: Bool = false) -> [UInt8] {
        if small && data.count <= 4 {
            return u32(data.count << 16 | type) + data + [UInt8](repeating: 0, count: 4 - data.count)
        }
        return u32(type) + u32(data.count) + data + [UInt8](repeating: 0, count: (8 - data.count % 8) % 8)
    }

    /// Adds a numeric matrix of MATLAB class `arrayClass` whose real part is stored as `dataType`.
    public mutating func add(name: String, arrayClass: Int, dims: [Int], dataType: Int, data: [UInt8]) throws {
        let matrixBody = element(type: 6, u32(arrayClass) + u32(0)) + element(type: 5, dims.flatMap { u32($0) })
            + element(type: 1, Array(name.utf8), small: true) + element(type: dataType, data)
        let matrix = u32(14) + u32(matrixBody.count) + matrixBody
        if compressed {
            let packed = try Zlib.deflate(matrix)
            body += u32(15) + u32(packed.count) + packed
        } else {
            body += matrix
        }
    }

    /// The 128-byte header (text, subsystem offset, version 0x0100, endian indicator) and elements.
    public func bytes() -> [UInt8] {
        var text = Array("MATLAB 5.0 MAT-file, written by invprop fuzz seeds".utf8)
        text += [UInt8](repeating: 0x20, count: 116 - text.count)
        let version: [UInt8] = bigEndian ? [0x01, 0x00] : [0x00, 0x01]
        let indicator: [UInt8] = bigEndian ? [0x4D, 0x49] : [0x49, 0x4D]
        return text + [UInt8](repeating: 0, count: 8) + version + indicator + body
    }
}
