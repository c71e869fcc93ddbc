#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where encoded bytes come from: a file (read with positioned reads) or memory.
/// Reading slices on demand means no buffer is ever sized by an unchecked header value.
protocol ByteSource {
    /// Total length in bytes.
    var size: Int { get }
    /// Exactly `count` bytes at `offset`; the caller has checked the range lies within `size`.
    func read(offset: Int, count: Int) throws -> [UInt8]
}

/// Bytes already in memory.
struct MemorySource: ByteSource {
    let bytes: [UInt8]
    var size: Int { bytes.count }
    func read(offset: Int, count: Int) throws -> [UInt8] { Array(bytes[offset..<(offset + count)]) }
}

/// An open regular file read with `pread`, so each tensor is copied once, straight into its array.
final class FileSource: ByteSource {
    let path: String
    let size: Int
    private let fd: Int32

    init(path: String) throws {
        // O_NONBLOCK: opening a FIFO without a writer would otherwise block forever before the
        // fstat below could refuse it. Regular files ignore the flag, so pread is unaffected.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw SafeTensorsError(.io, path: path, "cannot open: \(errnoText())") }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let text = errnoText()
            close(fd)
            throw SafeTensorsError(.io, path: path, "cannot stat: \(text)")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw SafeTensorsError(.io, path: path, "is \(fileTypeText(info.st_mode)), not a regular file (a safetensors file is expected)")
        }
        self.path = path
        self.fd = fd
        self.size = Int(info.st_size)
    }

    deinit { close(fd) }

    func read(offset: Int, count: Int) throws -> [UInt8] {
        try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var done = 0
            while done < count {
                let got = pread(fd, buffer.baseAddress.map { $0 + done }, count - done, off_t(offset + done))
                if got < 0 {
                    if errno == EINTR { continue }
                    throw SafeTensorsError(.io, path: path, "read failed at byte \(offset + done): \(errnoText())")
                }
                if got == 0 {
                    // The file shrank after we measured it.
                    throw SafeTensorsError(.truncated, path: path, "file ended at byte \(offset + done), expected \(offset + count)")
                }
                done += got
            }
            initialized = count
        }
    }
}

/// What kind of file `mode` describes, for refusing anything but a regular file.
func fileTypeText(_ mode: mode_t) -> String {
    switch mode & S_IFMT {
    case S_IFDIR: return "a directory"
    case S_IFIFO: return "a FIFO (named pipe)"
    case S_IFCHR, S_IFBLK: return "a device"
    case S_IFSOCK: return "a socket"
    default: return "a special file"
    }
}

/// The current `errno` as text, for error messages.
func errnoText() -> String {
    let code = errno
    return "\(String(cString: strerror(code))) (errno \(code))"
}

extension TensorArchive {
    /// The largest header accepted (100 MB, as the reference implementation), so a hostile
    /// length field cannot make us allocate or parse without bound.
    public static let maxHeaderSize = 100_000_000

    /// Reads and fully validates the safetensors file at `path`.
    /// Throws `SafeTensorsError` naming the file and the problem; never traps on bad input.
    public init(contentsOf path: String) throws {
        let source = try FileSource(path: path)
        try self.init(source: source, label: path)
    }

    /// Decodes and fully validates an in-memory safetensors image; `source` labels errors.
    public init(decoding bytes: [UInt8], source: String = "<memory>") throws {
        try self.init(source: MemorySource(bytes: bytes), label: source)
    }

    private struct Located {
        let name: String
        let dtype: DType
        let shape: [Int]
        let begin: Int
        let end: Int
    }

    private init(source: some ByteSource, label: String) throws {
        func fail(_ kind: SafeTensorsError.Kind, _ tensor: String?, _ message: String) -> SafeTensorsError {
            SafeTensorsError(kind, path: label, tensor: tensor, message)
        }

        guard source.size >= 8 else {
            throw fail(.truncated, nil, "file is \(source.size) bytes, shorter than the 8-byte header length")
        }
        let lengthBytes = try source.read(offset: 0, count: 8)
        var declared: UInt64 = 0
        for (i, byte) in lengthBytes.enumerated() { declared |= UInt64(byte) << (8 * UInt64(i)) }
        // Compare as UInt64 before converting: the field can be anything up to UInt64.max.
        guard declared <= UInt64(Self.maxHeaderSize) else {
            throw fail(.headerTooLarge, nil, "header length \(declared) exceeds the \(Self.maxHeaderSize)-byte limit")
        }
        let headerLength = Int(declared)
        guard headerLength <= source.size - 8 else {
            throw fail(.truncated, nil, "header length \(headerLength) exceeds the \(source.size - 8) bytes after the length field")
        }
        let dataStart = 8 + headerLength
        let dataSize = source.size - dataStart

        let headerBytes = try source.read(offset: 8, count: headerLength)
        guard isValidUTF8(headerBytes) else { throw fail(.malformedHeader, nil, "header is not valid UTF-8") }
        let json: JSONValue
        do {
            json = try JSONParser.parse(headerBytes)
        } catch let error as JSONSyntaxError {
            throw fail(.malformedHeader, nil, "header is not valid JSON: \(error.message) at header byte \(error.offset)")
        }
        guard case .object(let members) = json else {
            throw fail(.malformedHeader, nil, "header is \(json.kindName), expected an object")
        }

        var metadata: [String: String] = [:]
        var located: [Located] = []
        located.reserveCapacity(members.count)
        for (key, value) in members {
            if key == Self.metadataKey {
                guard case .object(let pairs) = value else {
                    throw fail(.invalidMetadata, nil, "__metadata__ is \(value.kindName), expected an object of strings")
                }
                for (metaKey, metaValue) in pairs {
                    guard case .string(let text) = metaValue else {
                        throw fail(.invalidMetadata, nil, "__metadata__ value for \"\(metaKey)\" is \(metaValue.kindName), expected a string")
                    }
                    metadata[metaKey] = text
                }
                continue
            }
            located.append(try Self.parseEntry(name: key, value: value, dataSize: dataSize, fail: fail))
        }

        // Overlap check: after sorting by start, each range must begin at or after the furthest end so far.
        // Empty ranges overlap nothing, so they are skipped.
        let sorted = located.filter { $0.begin < $0.end }.sorted { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var furthest: (end: Int, name: String)? = nil
        for item in sorted {
            if let previous = furthest, item.begin < previous.end {
                throw fail(.invalidRange, item.name,
                           "bytes [\(item.begin), \(item.end)) overlap tensor '\(previous.name)' ending at \(previous.end)")
            }
            if item.end > (furthest?.end ?? -1) { furthest = (item.end, item.name) }
        }

        self.init(metadata: metadata)
        for item in located {
            let bytes = try source.read(offset: dataStart + item.begin, count: item.end - item.begin)
            // Cannot fail: parseEntry checked the name, shape and byte count.
            try set(item.name, entry: Entry(dtype: item.dtype, shape: item.shape, bytes: bytes))
        }
    }

    /// Validates one header entry against the format and the data area's size.
    private static func parseEntry(
        name: String, value: JSONValue, dataSize: Int,
        fail: (SafeTensorsError.Kind, String?, String) -> SafeTensorsError
    ) throws -> Located {
        guard case .object(let fields) = value else {
            throw fail(.invalidEntry, name, "entry is \(value.kindName), expected an object")
        }
        var dtypeValue: JSONValue?, shapeValue: JSONValue?, offsetsValue: JSONValue?
        for (field, fieldValue) in fields {
            switch field {
            case "dtype": dtypeValue = fieldValue
            case "shape": shapeValue = fieldValue
            case "data_offsets": offsetsValue = fieldValue
            default: throw fail(.invalidEntry, name, "unexpected field \"\(field)\"")
            }
        }
        guard let dtypeValue, let shapeValue, let offsetsValue else {
            throw fail(.invalidEntry, name, "entry needs \"dtype\", \"shape\" and \"data_offsets\"")
        }
        guard case .string(let dtypeText) = dtypeValue else {
            throw fail(.invalidEntry, name, "dtype is \(dtypeValue.kindName), expected a string")
        }
        guard let dtype = DType(rawValue: dtypeText) else {
            throw fail(.invalidEntry, name, "unknown dtype \"\(dtypeText)\"")
        }
        let shape = try nonNegativeIntegers(shapeValue, what: "shape", name: name, fail: fail)
        let offsets = try nonNegativeIntegers(offsetsValue, what: "data_offsets", name: name, fail: fail)
        guard offsets.count == 2 else {
            throw fail(.invalidEntry, name, "data_offsets has \(offsets.count) elements, expected 2")
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin <= end else {
            throw fail(.invalidEntry, name, "data_offsets [\(begin), \(end)] ends before it begins")
        }
        guard let count = elementCount(of: shape) else {
            throw fail(.invalidEntry, name, "shape \(shape) has more elements than Int can count")
        }
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow else {
            throw fail(.invalidEntry, name, "shape \(shape) of \(dtype.rawValue) has more bytes than Int can count")
        }
        guard end - begin == byteCount else {
            throw fail(.invalidEntry, name,
                       "data_offsets [\(begin), \(end)] span \(end - begin) bytes, but shape \(shape) of \(dtype.rawValue) needs \(byteCount)")
        }
        guard end <= dataSize else {
            throw fail(.invalidRange, name, "data_offsets [\(begin), \(end)] exceed the \(dataSize)-byte data area")
        }
        return Located(name: name, dtype: dtype, shape: shape, begin: begin, end: end)
    }

    private static func nonNegativeIntegers(
        _ value: JSONValue, what: String, name: String,
        fail: (SafeTensorsError.Kind, String?, String) -> SafeTensorsError
    ) throws -> [Int] {
        guard case .array(let elements) = value else {
            throw fail(.invalidEntry, name, "\(what) is \(value.kindName), expected an array of integers")
        }
        return try elements.map { element in
            guard case .number(let integer?, _) = element, integer >= 0 else {
                throw fail(.invalidEntry, name, "\(what) holds \(element.kindName), expected a non-negative integer")
            }
            return integer
        }
    }
}
