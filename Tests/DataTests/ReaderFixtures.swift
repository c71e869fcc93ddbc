import Codecs
import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import Data

/// A temporary folder removed when the test ends (call `remove()` in a defer).
struct TempFolder {
    /// Absolute path of the folder.
    let path: String

    init() throws {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("invprop-data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// `path/name`, creating intermediate folders.
    func file(_ name: String) throws -> String {
        let full = (path as NSString).appendingPathComponent(name)
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        return full
    }

    /// Writes `bytes` to `path/name` and returns the full path.
    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let full = try file(name)
        try writeFile(full, bytes)
        return full
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Writes `bytes` to `path` with plain POSIX calls: Foundation's `Data.write` fsyncs, which
/// makes thousands of fuzz cases slow on a busy disk.
func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { throw InvariantBroken(message: "cannot create \(path)") }
    defer { Glibc.close(fd) }
    let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
    guard written == bytes.count else { throw InvariantBroken(message: "short write to \(path)") }
}

/// Writers for every dataset format, producing exactly the published byte layouts.
enum Fixture {
    /// Deterministic pixel value for image n, row y, column x, channel c.
    static func pixel(_ n: Int, _ y: Int, _ x: Int, _ c: Int) -> UInt8 {
        UInt8(truncatingIfNeeded: n &* 37 &+ y &* 11 &+ x &* 5 &+ c &* 101)
    }

    /// The expected HWC image n of a given shape.
    static func image(_ n: Int, side: Int, channels: Int) -> ImageU8 {
        var pixels: [UInt8] = []
        for y in 0..<side { for x in 0..<side { for c in 0..<channels { pixels.append(pixel(n, y, x, c)) } } }
        return ImageU8(height: side, width: side, channels: channels, pixels: pixels)
    }

    static func be32(_ v: Int) -> [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: v >> $0) } }

    /// IDX images file: magic 0x00000803, N, rows, cols, then the pixels row-major.
    static func idxImages(count: Int, side: Int = 28) -> [UInt8] {
        var out: [UInt8] = [0, 0, 8, 3] + be32(count) + be32(side) + be32(side)
        for n in 0..<count { out += image(n, side: side, channels: 1).pixels }
        return out
    }

    /// IDX labels file: magic 0x00000801, N, then one byte per label.
    static func idxLabels(_ labels: [UInt8]) -> [UInt8] {
        [0, 0, 8, 1] + be32(labels.count) + labels
    }

    /// Three 32×32 channel planes, row-major (CIFAR) or column-major (MATLAB, for STL/SVHN).
    static func planes(_ n: Int, side: Int, columnMajor: Bool) -> [UInt8] {
        var out: [UInt8] = []
        for c in 0..<3 {
            for i in 0..<(side * side) {
                let (y, x) = columnMajor ? (i % side, i / side) : (i / side, i % side)
                out.append(pixel(n, y, x, c))
            }
        }
        return out
    }

    /// CIFAR records: label byte(s) then the planes; `labels` holds 1 or 2 bytes per record.
    static func cifar(labels: [[UInt8]], firstIndex: Int = 0) -> [UInt8] {
        var out: [UInt8] = []
        for (i, l) in labels.enumerated() { out += l + planes(firstIndex + i, side: 32, columnMajor: false) }
        return out
    }

    /// STL-10 images file: 96×96×3 column-major planes per image.
    static func stlImages(count: Int) -> [UInt8] {
        (0..<count).flatMap { planes($0, side: 96, columnMajor: true) }
    }

    /// A minimal PNG or JPEG file for image n.
    static func encoded(_ n: Int, side: Int, channels: Int, jpeg: Bool) throws -> [UInt8] {
        let image = image(n, side: side, channels: channels)
        let decoded = try DecodedImage(height: side, width: side, channels: channels, pixels: image.pixels)
        return jpeg ? try JPEGCodec.encode(decoded, quality: 100) : try PNGCodec.encode(decoded)
    }
}

/// A MATLAB level-5 MAT-file writer (written for these tests from the published format).
struct MATWriter {
    /// Big-endian ("MI") output when true.
    var bigEndian = false
    /// Wrap each matrix in a miCOMPRESSED element.
    var compressed = false
    private var body: [UInt8] = []

    init(bigEndian: Bool = false, compressed: Bool = false) {
        self.bigEndian = bigEndian
        self.compressed = compressed
    }

    func u16(_ v: Int) -> [UInt8] { bigEndian ? [UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] : [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
    func u32(_ v: Int) -> [UInt8] {
        let bytes = [0, 8, 16, 24].map { UInt8(truncatingIfNeeded: v >> $0) }
        return bigEndian ? bytes.reversed() : bytes
    }
    func u64(_ v: UInt64) -> [UInt8] {
        let bytes = (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) }
        return bigEndian ? bytes.reversed() : bytes
    }

    /// A data element: tag + data padded to 8, or the small form for ≤ 4 bytes when allowed.
    func element(type: Int, _ data: [UInt8], small: Bool = false) -> [UInt8] {
        if small && data.count <= 4 {
            // Small form: the 32-bit word holds (size << 16) | type.
            return u32(data.count << 16 | type) + data + [UInt8](repeating: 0, count: 4 - data.count)
        }
        let padding = (8 - data.count % 8) % 8
        return u32(type) + u32(data.count) + data + [UInt8](repeating: 0, count: padding)
    }

    /// Adds a numeric matrix: `arrayClass` (6 double, 9 uint8), `dataType` of the stored real part.
    mutating func add(name: String, arrayClass: Int, dims: [Int], dataType: Int, data: [UInt8]) throws {
        let flags = element(type: 6, u32(arrayClass) + u32(0))
        let dimsElement = element(type: 5, dims.flatMap { u32($0) })
        let nameElement = element(type: 1, Array(name.utf8), small: true)
        let matrixBody = flags + dimsElement + nameElement + element(type: dataType, data)
        let matrix = u32(14) + u32(matrixBody.count) + matrixBody
        if compressed {
            let packed = try Zlib.deflate(matrix)
            body += u32(15) + u32(packed.count) + packed
        } else {
            body += matrix
        }
    }

    /// Header (116 text bytes, 8 subsystem bytes, version, endian indicator) + elements.
    func bytes() -> [UInt8] {
        var text = Array("MATLAB 5.0 MAT-file, written by invprop tests".utf8)
        text += [UInt8](repeating: 0x20, count: 116 - text.count)
        let indicator: [UInt8] = bigEndian ? [0x4D, 0x49] : [0x49, 0x4D]
        return text + [UInt8](repeating: 0, count: 8) + u16(0x0100) + indicator + body
    }

    /// An SVHN file: X uint8 32×32×3×N (column-major), y double N×1 with digits 1-10.
    static func svhn(labels: [Int], compressed: Bool, bigEndian: Bool = false, labelsAsUInt8: Bool = false) throws -> [UInt8] {
        var writer = MATWriter(bigEndian: bigEndian, compressed: compressed)
        let x = (0..<labels.count).flatMap { Fixture.planes($0, side: 32, columnMajor: true) }
        try writer.add(name: "X", arrayClass: 9, dims: [32, 32, 3, labels.count], dataType: 2, data: x)
        if labelsAsUInt8 {
            // MATLAB may store a double array in a narrower integer type.
            try writer.add(name: "y", arrayClass: 6, dims: [labels.count, 1], dataType: 2, data: labels.map { UInt8($0) })
        } else {
            let y = labels.flatMap { writer.u64(Double($0).bitPattern) }
            try writer.add(name: "y", arrayClass: 6, dims: [labels.count, 1], dataType: 9, data: y)
        }
        return writer.bytes()
    }
}

/// Asserts-style helper: the thrown error is `DataError.malformed` whose path or reason names `file`.
func malformedNames(_ error: Error, _ file: String) -> Bool {
    guard let error = error as? DataError, case .malformed(let path, let reason) = error else { return false }
    let name = (file as NSString).lastPathComponent
    return path.hasSuffix(name) || reason.contains(name)
}

/// Reads every image and label (what a training epoch does), so lazy decoding errors surface.
func readAll(_ dataset: any ImageDataset) throws {
    for i in 0..<dataset.count {
        let image = try dataset.image(at: i)
        guard image.channels == dataset.channels, image.pixels.count == image.height * image.width * image.channels else {
            throw InvariantBroken(message: "\(dataset.name): image \(i) has the wrong shape")
        }
        if let label = dataset.label(at: i), let classes = dataset.classCount, !(0..<classes).contains(label) {
            throw InvariantBroken(message: "\(dataset.name): label \(label) of image \(i) is outside 0..<\(classes)")
        }
    }
}

/// A reader returned something impossible instead of throwing DataError (a test failure).
struct InvariantBroken: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
