import Codecs
import Foundation

/// Bytes a reader holds: a mapped file, or decompressed bytes owned in memory (kept as the
/// array the inflater produced, so a 1.6 GB SVHN split is never copied into a second buffer).
enum ByteStorage: Sendable {
    /// A (usually memory-mapped) file.
    case mapped(Foundation.Data)
    /// Decompressed content.
    case owned([UInt8])

    /// Number of bytes.
    var count: Int {
        switch self {
        case .mapped(let data): return data.count
        case .owned(let array): return array.count
        }
    }

    /// Calls `body` with the bytes (valid only inside the call).
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch self {
        case .mapped(let data): return try data.withUnsafeBytes(body)
        case .owned(let array): return try array.withUnsafeBytes(body)
        }
    }

    /// A copy of `count` bytes from `offset` (the caller has checked the range).
    func bytes(at offset: Int, count: Int) -> [UInt8] {
        withUnsafeBytes { [UInt8]($0[offset ..< offset + count]) }
    }
}

/// Loading files for the readers: memory-mapped when raw, decompressed (bounded) when gzipped.
/// `Foundation.Data` is spelled out because this module is itself named `Data`.
enum FileBytes {
    /// Largest decompressed size we accept for one file (the SVHN extra split is ~1.6 GB).
    static let maxDecompressedBytes = 4 << 30

    /// The file mapped into memory (pages are read on demand); throws notFound / malformed.
    /// An empty file gives empty bytes without reading it: Foundation's reader leaks a 4 KB
    /// buffer on every empty file (found by `Fuzz/`, see docs/reliability.md), and the readers
    /// reject empty files anyway.
    static func mapped(_ path: String) throws -> Foundation.Data {
        guard FileManager.default.fileExists(atPath: path) else {
            throw DataError.notFound(path: path, hint: "the file does not exist")
        }
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_size == 0 {
            return Foundation.Data()
        }
        do {
            return try Foundation.Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw DataError.malformed(path: path, reason: "cannot read: \(error.localizedDescription)")
        }
    }

    /// The file's content, gunzipped when it starts with the gzip magic. Output is capped by the
    /// deflate ratio bound (≤ 1032:1) and `maxDecompressedBytes`, never by the untrusted trailer.
    static func contentMaybeGzipped(_ path: String) throws -> ByteStorage {
        let raw = try mapped(path)
        guard Zlib.isGzip(raw) else { return .mapped(raw) }
        let ratioBound = raw.count.multipliedReportingOverflow(by: 1032)
        let limit = min(maxDecompressedBytes, ratioBound.overflow ? Int.max : ratioBound.partialValue + 1024)
        do {
            return .owned(try Zlib.gunzip(raw, maxOutput: limit))
        } catch let error as CodecError {
            throw DataError.malformed(path: path, reason: "gzip: \(error)")
        }
    }
}

/// Bounds-checked integer reads over raw bytes, throwing `malformed` naming `path`.
struct ByteReader {
    /// The bytes being parsed.
    let bytes: UnsafeRawBufferPointer
    /// The file named in errors.
    let path: String
    /// Multi-byte integers are big-endian when true (IDX, big-endian MAT), else little-endian.
    var bigEndian: Bool

    /// Unsigned integer of `width` bytes (1, 2, 4, 8) at `offset`.
    func uint(at offset: Int, width: Int, what: String) throws -> UInt64 {
        guard offset >= 0, width <= bytes.count, offset <= bytes.count - width else {
            throw DataError.malformed(path: path, reason: "truncated: \(what) at byte \(offset) lies beyond the end (\(bytes.count) bytes)")
        }
        var value: UInt64 = 0
        for i in 0..<width {
            let byte = UInt64(bytes[bigEndian ? offset + i : offset + width - 1 - i])
            value = value << 8 | byte
        }
        return value
    }

    /// 32-bit unsigned integer at `offset`.
    func u32(at offset: Int, _ what: String) throws -> Int {
        Int(try uint(at: offset, width: 4, what: what))
    }
}

/// Shape conversions from the planar layouts of the binary datasets to HWC.
enum PlanarLayout {
    /// `side×side×3` bytes at `offset`: three channel planes, each row-major (CIFAR) or
    /// column-major (MATLAB order: STL-10, SVHN), to an HWC RGB image.
    static func planarToHWC(_ bytes: UnsafeRawBufferPointer, offset: Int, side: Int, columnMajor: Bool) -> ImageU8 {
        let plane = side * side
        var pixels = [UInt8](repeating: 0, count: plane * 3)
        pixels.withUnsafeMutableBufferPointer { dst in
            for c in 0..<3 {
                let base = offset + c * plane
                for y in 0..<side {
                    for x in 0..<side {
                        let source = columnMajor ? base + x * side + y : base + y * side + x
                        dst[(y * side + x) * 3 + c] = bytes[source]
                    }
                }
            }
        }
        return ImageU8(height: side, width: side, channels: 3, pixels: pixels)
    }
}

extension ImageDataset {
    /// Throws `invalidOption` for an index outside `0..<count` (a caller bug, not a file problem).
    func checkIndex(_ index: Int) throws {
        guard index >= 0 && index < count else {
            throw DataError.invalidOption("\(name): index \(index) is outside 0..<\(count)")
        }
    }
}
