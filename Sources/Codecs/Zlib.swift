import CImageLibs
import Foundation

/// zlib (RFC 1950) and gzip (RFC 1952) compression with bounded output, over libz.
public enum Zlib {
    /// The wrapper around the deflate stream.
    public enum Container: Sendable {
        /// A 2-byte zlib header and an Adler-32 trailer (MAT-file miCOMPRESSED, PNG IDAT).
        case zlib
        /// gzip members (`.gz` files); consecutive members are concatenated.
        case gzip
    }

    /// True when `bytes` starts with the gzip magic 1F 8B.
    public static func isGzip(_ bytes: some ContiguousBytes) -> Bool {
        bytes.withUnsafeBytes { $0.count >= 2 && $0[0] == 0x1F && $0[1] == 0x8B }
    }

    /// Decompresses a whole zlib stream; throws `.tooLarge` rather than produce more than
    /// `maxOutput` bytes and `.corrupt` on a damaged or truncated stream. `expectedSize`, when
    /// known, is allocated up front (capped by `maxOutput`) instead of growing by doubling.
    public static func inflate(_ input: some ContiguousBytes, maxOutput: Int, expectedSize: Int? = nil) throws -> [UInt8] {
        try input.withUnsafeBytes {
            try run(input: $0, container: .zlib, maxOutput: maxOutput, prefixOnly: false, expectedSize: expectedSize)
        }
    }

    /// Decompresses only the first `length` bytes of a zlib stream (fewer if the stream is shorter);
    /// used to read an element header before trusting its declared size.
    public static func inflatePrefix(_ input: some ContiguousBytes, length: Int) throws -> [UInt8] {
        try input.withUnsafeBytes { try run(input: $0, container: .zlib, maxOutput: length, prefixOnly: true) }
    }

    /// Decompresses a gzip file (all members); throws `.tooLarge` beyond `maxOutput` bytes.
    public static func gunzip(_ input: some ContiguousBytes, maxOutput: Int) throws -> [UInt8] {
        try input.withUnsafeBytes { try run(input: $0, container: .gzip, maxOutput: maxOutput, prefixOnly: false) }
    }

    /// Compresses `input` (level 0-9) into a zlib or gzip stream; used by tests and writers.
    public static func deflate(_ input: some ContiguousBytes, level: Int = 6, container: Container = .zlib) throws -> [UInt8] {
        try input.withUnsafeBytes { src -> [UInt8] in
            var stream = z_stream()
            let windowBits: Int32 = container == .gzip ? 15 + 16 : 15
            guard invprop_deflateInit2(&stream, Int32(max(0, min(9, level))), windowBits) == Z_OK else {
                throw CodecError.invalidArgument("deflateInit2 failed")
            }
            defer { deflateEnd(&stream) }
            let bound = Int(deflateBound(&stream, uLong(src.count))) + 64
            var out = [UInt8](repeating: 0, count: bound)
            let status: Int32 = out.withUnsafeMutableBufferPointer { dst in
                stream.next_in = UnsafeMutablePointer(mutating: src.baseAddress?.assumingMemoryBound(to: Bytef.self))
                stream.avail_in = uInt(src.count)
                stream.next_out = dst.baseAddress
                stream.avail_out = uInt(dst.count)
                return CImageLibs.deflate(&stream, Z_FINISH)
            }
            guard status == Z_STREAM_END else { throw CodecError.invalidArgument("deflate failed (\(status))") }
            out.removeSubrange(Int(stream.total_out)...)
            return out
        }
    }

    /// CRC-32 (as used by PNG chunks and gzip trailers).
    public static func crc32(_ bytes: some ContiguousBytes, initial: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { buf in
            var crc = uLong(initial)
            var offset = 0
            // crc32 takes a uInt length: feed at most 1 GiB a call.
            while offset < buf.count {
                let n = min(buf.count - offset, 1 << 30)
                crc = CImageLibs.crc32(crc, buf.baseAddress?.advanced(by: offset).assumingMemoryBound(to: Bytef.self), uInt(n))
                offset += n
            }
            return UInt32(truncatingIfNeeded: crc)
        }
    }

    /// The inflate loop: grows the output geometrically up to `maxOutput`, feeds input in
    /// chunks that fit zlib's 32-bit counters, and restarts on each further gzip member.
    private static func run(input: UnsafeRawBufferPointer, container: Container,
                            maxOutput: Int, prefixOnly: Bool, expectedSize: Int? = nil) throws -> [UInt8] {
        guard maxOutput >= 0 else { throw CodecError.invalidArgument("maxOutput < 0") }
        var stream = z_stream()
        let windowBits: Int32 = container == .gzip ? 15 + 16 : 15
        guard invprop_inflateInit2(&stream, windowBits) == Z_OK else {
            throw CodecError.invalidArgument("inflateInit2 failed")
        }
        defer { inflateEnd(&stream) }
        guard let base = input.baseAddress, input.count > 0 else { throw CodecError.corrupt("empty stream") }

        // Deflate expands by at most ~1032:1, which bounds the first guess.
        var capacity = min(maxOutput, expectedSize ?? max(4096, input.count.multipliedReportingOverflow(by: 4).partialValue))
        var out = [UInt8](repeating: 0, count: capacity)
        var produced = 0
        var consumed = 0
        let chunk = 1 << 30

        while true {
            if stream.avail_in == 0 && consumed < input.count {
                let n = min(chunk, input.count - consumed)
                stream.next_in = UnsafeMutablePointer(mutating: base.advanced(by: consumed).assumingMemoryBound(to: Bytef.self))
                stream.avail_in = uInt(n)
                consumed += n
            }
            if produced == capacity {
                if capacity == maxOutput {
                    if prefixOnly { return out }
                    // Full: a single further byte of output means the limit is exceeded.
                    if try probeMoreOutput(&stream) {
                        throw CodecError.tooLarge("decompressed size exceeds the limit of \(maxOutput) bytes")
                    }
                    return try finishAtLimit(&stream, out: out, container: container, input: input, consumed: consumed)
                }
                capacity = min(maxOutput, max(capacity * 2, 4096))
                out.append(contentsOf: repeatElement(0, count: capacity - out.count))
            }
            let offered = min(capacity - produced, chunk)
            let status: Int32 = out.withUnsafeMutableBufferPointer { dst in
                stream.next_out = dst.baseAddress?.advanced(by: produced)
                stream.avail_out = uInt(offered)
                return CImageLibs.inflate(&stream, Z_NO_FLUSH)
            }
            produced += offered - Int(stream.avail_out)
            switch status {
            case Z_OK:
                continue
            case Z_STREAM_END:
                if container == .gzip, nextGzipMember(&stream, input: input, consumed: consumed) {
                    guard inflateReset(&stream) == Z_OK else { throw CodecError.corrupt("inflateReset failed") }
                    continue
                }
                out.removeSubrange(produced...)
                return out
            case Z_BUF_ERROR:
                // No progress possible: input exhausted before the end of the stream.
                if stream.avail_in == 0 && consumed >= input.count {
                    if prefixOnly { out.removeSubrange(produced...); return out }
                    throw CodecError.corrupt("stream is truncated")
                }
                continue
            default:
                let message = stream.msg.map { String(cString: $0) } ?? "status \(status)"
                throw CodecError.corrupt("inflate: \(message)")
            }
        }
    }

    /// After filling the output exactly to the limit: true when the stream would produce more.
    private static func probeMoreOutput(_ stream: inout z_stream) throws -> Bool {
        var scratch: UInt8 = 0
        let status: Int32 = withUnsafeMutablePointer(to: &scratch) { p in
            stream.next_out = p
            stream.avail_out = 1
            return CImageLibs.inflate(&stream, Z_NO_FLUSH)
        }
        if stream.avail_out == 0 { return true }
        if status == Z_DATA_ERROR || status == Z_NEED_DICT || status == Z_MEM_ERROR {
            throw CodecError.corrupt("inflate: \(stream.msg.map { String(cString: $0) } ?? "status \(status)")")
        }
        return false
    }

    /// The output is exactly `maxOutput` bytes: make sure the stream really ended there.
    private static func finishAtLimit(_ stream: inout z_stream, out: [UInt8], container: Container,
                                      input: UnsafeRawBufferPointer, consumed: Int) throws -> [UInt8] {
        // Drive the stream to its end (checks the trailer); any output would have been caught.
        for _ in 0..<4 {
            var scratch: UInt8 = 0
            let status: Int32 = withUnsafeMutablePointer(to: &scratch) { p in
                stream.next_out = p
                stream.avail_out = 1
                return CImageLibs.inflate(&stream, Z_FINISH)
            }
            if stream.avail_out == 0 {
                throw CodecError.tooLarge("decompressed size exceeds the limit of \(out.count) bytes")
            }
            if status == Z_STREAM_END {
                if container == .gzip, nextGzipMember(&stream, input: input, consumed: consumed) {
                    throw CodecError.tooLarge("decompressed size exceeds the limit of \(out.count) bytes")
                }
                return out
            }
            if status != Z_OK && status != Z_BUF_ERROR {
                throw CodecError.corrupt("inflate: \(stream.msg.map { String(cString: $0) } ?? "status \(status)")")
            }
            if stream.avail_in == 0 && consumed >= input.count { break }
        }
        throw CodecError.corrupt("stream is truncated")
    }

    /// True when unread input starts another gzip member (gzip(1) concatenates members;
    /// anything else after a member, e.g. zero padding, is ignored as gzip(1) does).
    private static func nextGzipMember(_ stream: inout z_stream, input: UnsafeRawBufferPointer, consumed: Int) -> Bool {
        let remaining = Int(stream.avail_in) + (input.count - consumed)
        guard remaining >= 2, let next = stream.next_in else { return false }
        if stream.avail_in >= 2 { return next[0] == 0x1F && next[1] == 0x8B }
        // The member ended on a chunk boundary: peek at the raw input instead.
        let start = input.count - remaining
        return input[start] == 0x1F && input[start + 1] == 0x8B
    }
}
