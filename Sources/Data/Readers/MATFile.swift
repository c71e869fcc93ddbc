import Codecs
import Foundation

/// A numeric array from a MATLAB level-5 MAT-file: its class, dimensions and raw real part.
struct MATArray: Sendable {
    /// MATLAB array class (low byte of the array flags): 6 double, 8 uint8, ...
    let arrayClass: Int
    /// Dimensions in MATLAB order (the first index varies fastest).
    let dimensions: [Int]
    /// Storage type of the real part (may be narrower than the class, e.g. uint8 for a double).
    let dataType: Int
    /// The buffer that holds the real part (the mapped file, or an inflated element).
    let storage: ByteStorage
    /// Where the real part starts in `storage`, and its byte count.
    let offset: Int
    let byteCount: Int
    /// Byte order of multi-byte values.
    let bigEndian: Bool

    /// Number of elements (product of the dimensions; checked against `byteCount` on parse).
    var elementCount: Int { checkedProduct(dimensions) ?? 0 }

    /// Every element as a Double, decoded from the storage type.
    func doubles(path: String) throws -> [Double] {
        guard let width = MATFile.elementSize[dataType] else {
            throw DataError.malformed(path: path, reason: "unsupported MAT data type \(dataType)")
        }
        return try storage.withUnsafeBytes { raw -> [Double] in
            let reader = ByteReader(bytes: raw, path: path, bigEndian: bigEndian)
            return try (0..<elementCount).map { i in
                let bits = try reader.uint(at: offset + i * width, width: width, what: "array element")
                switch dataType {
                case 1: return Double(Int8(truncatingIfNeeded: bits))
                case 3: return Double(Int16(truncatingIfNeeded: bits))
                case 5: return Double(Int32(truncatingIfNeeded: bits))
                case 12: return Double(Int64(bitPattern: bits))
                case 7: return Double(Float(bitPattern: UInt32(truncatingIfNeeded: bits)))
                case 9: return Double(bitPattern: bits)
                default: return Double(bits)  // unsigned types 2, 4, 6, 13
                }
            }
        }
    }
}

/// A minimal MATLAB level-5 MAT-file reader for numeric arrays (SVHN's `X` and `y`): elements
/// miMATRIX (14) directly or inside miCOMPRESSED (15, a zlib stream), in either byte order.
/// Every size comes from the file, so each is checked against the bytes actually present.
enum MATFile {
    static let miINT8 = 1, miINT32 = 5, miUINT32 = 6, miMATRIX = 14, miCOMPRESSED = 15
    /// Bytes per element of each numeric storage type.
    static let elementSize: [Int: Int] = [1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 9: 8, 12: 8, 13: 8]

    /// The named numeric arrays found in the file at `path` (others are skipped).
    static func read(path: String, names: Set<String>) throws -> [String: MATArray] {
        let file = ByteStorage.mapped(try FileBytes.mapped(path))
        let bigEndian = try byteOrder(file, path: path)
        var found: [String: MATArray] = [:]
        var offset = 128
        while offset < file.count {
            let tag = try file.withUnsafeBytes { try readTag(ByteReader(bytes: $0, path: path, bigEndian: bigEndian), at: offset, limit: file.count) }
            switch tag.type {
            case miMATRIX:
                if let array = try parseMatrix(file, start: tag.dataStart, size: tag.size, bigEndian: bigEndian, path: path, names: names) {
                    found[array.name] = array.array
                }
            case miCOMPRESSED:
                let inflated = try inflateElement(file, start: tag.dataStart, size: tag.size, bigEndian: bigEndian, path: path)
                let inner = try inflated.withUnsafeBytes { try readTag(ByteReader(bytes: $0, path: path, bigEndian: bigEndian), at: 0, limit: inflated.count) }
                if inner.type == miMATRIX,
                   let array = try parseMatrix(inflated, start: inner.dataStart, size: inner.size, bigEndian: bigEndian, path: path, names: names) {
                    found[array.name] = array.array
                }
            default:
                break  // other top-level elements carry nothing we need
            }
            // Compressed elements are not padded; all others are padded to 8 bytes.
            offset = tag.type == miCOMPRESSED ? tag.dataStart + tag.size : tag.next
        }
        return found
    }

    /// Checks the 128-byte header and returns true for a big-endian ("MI") file.
    static func byteOrder(_ file: ByteStorage, path: String) throws -> Bool {
        guard file.count >= 128 else {
            throw DataError.malformed(path: path, reason: "truncated: \(file.count) bytes, a MAT-file header is 128")
        }
        let b = file.bytes(at: 124, count: 4)
        let bigEndian: Bool
        switch (b[2], b[3]) {
        case (0x49, 0x4D): bigEndian = false  // "IM": written little-endian
        case (0x4D, 0x49): bigEndian = true
        default: throw DataError.malformed(path: path, reason: "no MAT-file endian indicator (\"IM\"/\"MI\") at byte 126: not a level-5 MAT-file")
        }
        let version = bigEndian ? Int(b[0]) << 8 | Int(b[1]) : Int(b[1]) << 8 | Int(b[0])
        guard version == 0x0100 else {
            throw DataError.malformed(path: path, reason: String(format: "MAT-file version 0x%04X, expected 0x0100 (level 5; v7.3 HDF5 files are not supported)", version))
        }
        return bigEndian
    }

    /// An element tag: type, byte count, where its data starts and where the next element starts.
    struct Tag { let type: Int, size: Int, dataStart: Int, next: Int }

    /// Reads a tag at `offset`; the data must end by `limit`. Handles the small-element form
    /// (size in the upper 16 bits, up to 4 data bytes in the tag's second word).
    static func readTag(_ reader: ByteReader, at offset: Int, limit: Int) throws -> Tag {
        let first = try reader.u32(at: offset, "element tag")
        let tag: Tag
        if first >> 16 != 0 {
            let size = first >> 16
            guard size <= 4 else { throw DataError.malformed(path: reader.path, reason: "small element at byte \(offset) claims \(size) bytes (> 4)") }
            tag = Tag(type: first & 0xFFFF, size: size, dataStart: offset + 4, next: offset + 8)
        } else {
            let size = try reader.u32(at: offset + 4, "element size")
            let padded = (size + 7) / 8 * 8
            tag = Tag(type: first, size: size, dataStart: offset + 8, next: offset + 8 + padded)
        }
        guard tag.dataStart + tag.size <= limit else {
            throw DataError.malformed(path: reader.path, reason: "truncated: element at byte \(offset) (type \(tag.type)) needs \(tag.size) bytes, \(max(0, limit - tag.dataStart)) remain")
        }
        return tag
    }

    /// Inflates a miCOMPRESSED element after checking the size its inner tag declares against
    /// deflate's ~1032:1 ratio bound, so a forged size cannot force a huge allocation.
    static func inflateElement(_ file: ByteStorage, start: Int, size: Int, bigEndian: Bool, path: String) throws -> ByteStorage {
        try file.withUnsafeBytes { raw in
            try inflateElement(UnsafeRawBufferPointer(rebasing: raw[start ..< start + size]), at: start, bigEndian: bigEndian, path: path)
        }
    }

    /// `inflateElement` over the compressed bytes themselves (`start` is for messages).
    private static func inflateElement(_ compressed: UnsafeRawBufferPointer, at start: Int, bigEndian: Bool, path: String) throws -> ByteStorage {
        let size = compressed.count
        do {
            let head = try Zlib.inflatePrefix(compressed, length: 8)
            guard head.count == 8 else { throw DataError.malformed(path: path, reason: "compressed element at byte \(start - 8) holds no element") }
            let innerSize = try head.withUnsafeBytes { try ByteReader(bytes: $0, path: path, bigEndian: bigEndian).u32(at: 4, "element size") }
            let declared = 8 + innerSize
            guard declared <= min(FileBytes.maxDecompressedBytes, size * 1032 + 1024) else {
                throw DataError.malformed(path: path, reason: "compressed element at byte \(start - 8) declares \(innerSize) bytes, impossible for \(size) compressed bytes")
            }
            let inflated = try Zlib.inflate(compressed, maxOutput: declared + 8, expectedSize: declared)
            guard inflated.count >= declared else {
                throw DataError.malformed(path: path, reason: "compressed element at byte \(start - 8) inflates to \(inflated.count) bytes, its header says \(declared)")
            }
            return .owned(inflated)
        } catch let error as CodecError {
            throw DataError.malformed(path: path, reason: "compressed element at byte \(start - 8): \(error)")
        }
    }

    /// Parses a miMATRIX body: array flags, dimensions, name, real part. Returns nil for a
    /// variable not in `names` or of a non-numeric class (cell, struct, sparse, char...).
    static func parseMatrix(_ buffer: ByteStorage, start: Int, size: Int, bigEndian: Bool, path: String,
                            names: Set<String>) throws -> (name: String, array: MATArray)? {
        try buffer.withUnsafeBytes { raw -> (name: String, array: MATArray)? in
            let reader = ByteReader(bytes: raw, path: path, bigEndian: bigEndian)
            let end = start + size
            guard size > 0 else { return nil }  // an empty matrix element

            let flagsTag = try readTag(reader, at: start, limit: end)
            guard flagsTag.type == miUINT32, flagsTag.size == 8 else {
                throw DataError.malformed(path: path, reason: "matrix at byte \(start): array flags element has type \(flagsTag.type), size \(flagsTag.size)")
            }
            let flags = try reader.u32(at: flagsTag.dataStart, "array flags")
            let arrayClass = flags & 0xFF
            let isComplex = flags & 0x800 != 0

            let dimsTag = try readTag(reader, at: flagsTag.next, limit: end)
            guard dimsTag.type == miINT32, dimsTag.size >= 8, dimsTag.size % 4 == 0 else {
                throw DataError.malformed(path: path, reason: "matrix at byte \(start): dimensions element has type \(dimsTag.type), size \(dimsTag.size)")
            }
            let dims = try (0..<(dimsTag.size / 4)).map { try reader.u32(at: dimsTag.dataStart + 4 * $0, "dimension") }
            guard dims.allSatisfy({ $0 < Int(Int32.max) }) else {
                throw DataError.malformed(path: path, reason: "matrix at byte \(start): negative dimension")
            }

            let nameTag = try readTag(reader, at: dimsTag.next, limit: end)
            guard nameTag.type == miINT8 else {
                throw DataError.malformed(path: path, reason: "matrix at byte \(start): name element has type \(nameTag.type)")
            }
            let name = String(decoding: UnsafeRawBufferPointer(rebasing: raw[nameTag.dataStart ..< nameTag.dataStart + nameTag.size]), as: UTF8.self)
            // Numeric classes are 6 (double) ... 15 (uint64); anything else we skip.
            guard names.contains(name), (6...15).contains(arrayClass), !isComplex else { return nil }

            let realTag = try readTag(reader, at: nameTag.next, limit: end)
            guard let width = elementSize[realTag.type] else {
                throw DataError.malformed(path: path, reason: "variable \(name): unsupported data type \(realTag.type)")
            }
            guard let elements = checkedProduct(dims), let bytes = checkedProduct([elements, width]), bytes == realTag.size else {
                throw DataError.malformed(path: path, reason: "variable \(name): dimensions \(dims.map(String.init).joined(separator: "x")) disagree with \(realTag.size) data bytes of type \(realTag.type)")
            }
            let array = MATArray(arrayClass: arrayClass, dimensions: dims, dataType: realTag.type, storage: buffer,
                                 offset: realTag.dataStart, byteCount: realTag.size, bigEndian: bigEndian)
            return (name, array)
        }
    }
}
