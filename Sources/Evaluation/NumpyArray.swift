import Data
import Foundation

/// An array in NumPy's `.npy` format (v1.0 written; v1.0–3.0 read), little-endian, C order.
///
/// Layout: magic "\x93NUMPY", version (2 bytes), header length (2 bytes in v1.0, 4 in v2+), an
/// ASCII dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (N, D), }` padded with
/// spaces and ending in "\n" so the data starts on a 64-byte boundary, then the raw elements.
public struct NumpyArray: Equatable, Sendable {
    /// The element types this reader and writer handle, by NumPy `descr`.
    public enum ElementType: String, CaseIterable, Sendable {
        /// 32-bit float, `<f4`.
        case float32 = "<f4"
        /// 64-bit float, `<f8`.
        case float64 = "<f8"
        /// 32-bit signed integer, `<i4`.
        case int32 = "<i4"
        /// 64-bit signed integer, `<i8`.
        case int64 = "<i8"

        /// Bytes per element.
        public var byteSize: Int {
            switch self {
            case .float32, .int32: return 4
            case .float64, .int64: return 8
            }
        }
    }

    /// The element type.
    public var elementType: ElementType
    /// The dimensions, outermost first (`[]` for a scalar).
    public var shape: [Int]
    /// The raw little-endian element bytes, C (row-major) order.
    public var bytes: [UInt8]

    /// Float32 elements with `shape` (product must equal the count).
    public init(floats: [Float], shape: [Int]) throws {
        try NumpyArray.checkCount(floats.count, shape)
        elementType = .float32
        self.shape = shape
        bytes = floats.withUnsafeBytes { Array($0) }
    }

    /// Int64 elements with `shape` (product must equal the count).
    public init(int64s: [Int64], shape: [Int]) throws {
        try NumpyArray.checkCount(int64s.count, shape)
        elementType = .int64
        self.shape = shape
        bytes = int64s.withUnsafeBytes { Array($0) }
    }

    /// Number of elements (product of the shape).
    public var elementCount: Int { shape.reduce(1, *) }

    private static func checkCount(_ count: Int, _ shape: [Int]) throws {
        guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == count else {
            throw EvaluationError(.shapeMismatch, "npy: \(count) values do not fill shape \(shape)")
        }
    }

    /// The elements as Float (float32 as stored, float64 rounded).
    public func floats() throws -> [Float] {
        switch elementType {
        case .float32: return values(Float.self)
        case .float64: return values(Double.self).map { Float($0) }
        default: throw EvaluationError(.file, "npy: expected float data, found \(elementType.rawValue)")
        }
    }

    /// The elements as Int64 (int32 widened).
    public func int64s() throws -> [Int64] {
        switch elementType {
        case .int64: return values(Int64.self)
        case .int32: return values(Int32.self).map { Int64($0) }
        default: throw EvaluationError(.file, "npy: expected integer data, found \(elementType.rawValue)")
        }
    }

    private func values<T>(_: T.Type) -> [T] {
        // Little-endian host assumed (x86-64, arm64); bytes are copied, so alignment is not an issue.
        // The count comes from the bytes, not the shape, so a hand-edited `bytes` cannot overrun.
        let count = bytes.count / MemoryLayout<T>.stride
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            bytes.withUnsafeBytes {
                UnsafeMutableRawBufferPointer(buffer).copyMemory(
                    from: UnsafeRawBufferPointer(rebasing: $0[0..<(count * MemoryLayout<T>.stride)]))
            }
            initialized = count
        }
    }

    /// The header dict literal, as NumPy writes it: `(N,)` for 1-d shapes, `()` for scalars.
    var headerDictionary: String {
        let shapeText: String
        switch shape.count {
        case 0: shapeText = "()"
        case 1: shapeText = "(\(shape[0]),)"
        default: shapeText = "(" + shape.map(String.init).joined(separator: ", ") + ")"
        }
        return "{'descr': '\(elementType.rawValue)', 'fortran_order': False, 'shape': \(shapeText), }"
    }

    /// The complete `.npy` file bytes (format v1.0).
    public func encoded() throws -> [UInt8] {
        var header = headerDictionary
        // magic (6) + version (2) + length (2) + header + "\n" must be a multiple of 64.
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        guard header.utf8.count <= Int(UInt16.max) else {
            throw EvaluationError(.file, "npy: header too long for format v1.0 (shape \(shape))")
        }
        var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        let length = UInt16(header.utf8.count)
        out += [UInt8(length & 0xFF), UInt8(length >> 8)]
        out += Array(header.utf8)
        out += bytes
        return out
    }

    /// Writes the `.npy` file to `path` (atomically: a temporary file renamed over it).
    public func write(to path: String) throws {
        do {
            try Data(try encoded()).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch let error as EvaluationError {
            throw error
        } catch {
            throw EvaluationError(.file, "npy: cannot write \(path): \(error.localizedDescription)")
        }
    }

    /// Reads a `.npy` file (a regular file only; errors name it).
    public init(contentsOf path: String) throws {
        let data: [UInt8]
        do { data = [UInt8](try RegularFile.read(path)) } catch {
            throw EvaluationError(.file, "npy: \(path) \(error)" + (error == .missing ? "" : "; a .npy file is expected"))
        }
        do {
            try self.init(decoding: data)
        } catch let error as EvaluationError {
            throw EvaluationError(error.kind, "\(path): \(error.message)")
        }
    }

    /// Parses `.npy` bytes.
    public init(decoding file: [UInt8]) throws {
        let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
        guard !file.isEmpty else { throw EvaluationError(.file, "npy: the file is empty") }
        guard file.count >= 10, Array(file[0..<6]) == magic else {
            throw EvaluationError(.file, "npy: missing the \\x93NUMPY magic (\(file.count) bytes, too short or not a .npy file)")
        }
        let major = file[6]
        guard (1...3).contains(major) else {
            throw EvaluationError(.file, "npy: unsupported format version \(major).\(file[7])")
        }
        // Version 1.0 stores the header length in 2 bytes; 2.0 and 3.0 in 4.
        let lengthBytes = major == 1 ? 2 : 4
        guard file.count >= 8 + lengthBytes else {
            throw EvaluationError(.file, "npy: truncated header: version \(major).\(file[7]) needs a \(lengthBytes)-byte header length, file has \(file.count) bytes")
        }
        var headerLength = 0
        for i in 0..<lengthBytes { headerLength |= Int(file[8 + i]) << (8 * i) }
        let dataStart = 8 + lengthBytes + headerLength
        guard file.count >= dataStart else {
            throw EvaluationError(.file, "npy: truncated header: it declares \(headerLength) bytes, the file ends \(dataStart - file.count) bytes short of that")
        }
        let header = String(decoding: file[(8 + lengthBytes)..<dataStart], as: UTF8.self)
            .replacingOccurrences(of: "\"", with: "'")
        guard let descr = NumpyArray.value(of: "descr", in: header, until: ","),
              let type = ElementType(rawValue: descr.trimmingCharacters(in: CharacterSet(charactersIn: "' ")))
        else {
            throw EvaluationError(.file, "npy: unsupported or missing descr in header \(header)")
        }
        guard let order = NumpyArray.value(of: "fortran_order", in: header, until: ","),
              order.trimmingCharacters(in: .whitespaces) == "False" else {
            throw EvaluationError(.file, "npy: only C-order (fortran_order False) arrays are supported")
        }
        guard let shapeText = NumpyArray.value(of: "shape", in: header, until: ")") else {
            throw EvaluationError(.file, "npy: missing shape in header \(header)")
        }
        var shape: [Int] = []
        for part in shapeText.trimmingCharacters(in: CharacterSet(charactersIn: "( ")).split(separator: ",") {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let dimension = Int(trimmed), dimension >= 0 else {
                throw EvaluationError(.file, "npy: bad shape \(shapeText))")
            }
            shape.append(dimension)
        }
        // A hostile header can declare any shape: both the element count and the byte count are
        // computed with overflow reporting, so a huge shape is refused rather than trapping.
        let (count, countOverflow) = shape.reduce((1, false)) { acc, d in
            let (p, o) = acc.0.multipliedReportingOverflow(by: d)
            return (p, acc.1 || o)
        }
        let (byteCount, bytesOverflow) = count.multipliedReportingOverflow(by: type.byteSize)
        guard !countOverflow, !bytesOverflow else {
            throw EvaluationError(.file, "npy: shape \(shape) of \(type.rawValue) is too large to address (its byte count overflows)")
        }
        guard file.count - dataStart == byteCount else {
            throw EvaluationError(.file,
                "npy: shape \(shape) of \(type.rawValue) needs \(byteCount) bytes, file has \(file.count - dataStart)")
        }
        elementType = type
        self.shape = shape
        bytes = Array(file[dataStart...])
    }

    /// The text after `'key':` up to (not including) `terminator`, in a header dict literal.
    private static func value(of key: String, in header: String, until terminator: Character) -> String? {
        guard let keyRange = header.range(of: "'\(key)':") else { return nil }
        let rest = header[keyRange.upperBound...]
        guard let end = rest.firstIndex(of: terminator) else { return nil }
        return String(rest[..<end])
    }
}
