// A small strict JSON reader and the string escaping the writer needs.
// Why not JSONSerialization: it does not report duplicate keys, loses key order (we keep the
// header's order as the archive's order), turns large integers into Doubles, and recurses
// without a depth limit, so a hostile header of nested brackets could overflow the stack.

/// A parsed JSON value; objects keep their keys in file order.
/// Not `indirect`: arrays already store their elements out of line, and boxing every value
/// would multiply the memory a large hostile header costs.
enum JSONValue {
    case object([(key: String, value: JSONValue)])
    case array([JSONValue])
    case string(String)
    /// `integer` is set only for a literal without fraction or exponent that fits in Int;
    /// `text` keeps the literal otherwise (and is empty when `integer` is set).
    case number(integer: Int?, text: String)
    case bool(Bool)
    case null

    /// How the value is named in error messages.
    var kindName: String {
        switch self {
        case .object: return "an object"
        case .array: return "an array"
        case .string: return "a string"
        case .number(let integer?, _): return "the number \(integer)"
        case .number(nil, let text): return "the number \(text)"
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        }
    }
}

/// A syntax error with the byte offset it was found at.
struct JSONSyntaxError: Error {
    let message: String
    let offset: Int
}

/// Recursive-descent parser over UTF-8 bytes with a nesting limit and a value budget.
struct JSONParser {
    private let bytes: [UInt8]
    private var index = 0
    private let maxDepth: Int
    private var valuesLeft: Int

    /// Parses one JSON document; only whitespace (the format pads with spaces) may follow it.
    /// `maxValues` bounds the parsed tree: a 100 MB header of tiny values would otherwise
    /// cost gigabytes and seconds; 1M values is about 100k tensors, far beyond any checkpoint.
    static func parse(_ bytes: [UInt8], maxDepth: Int = 32, maxValues: Int = 1_000_000) throws -> JSONValue {
        var parser = JSONParser(bytes: bytes, maxDepth: maxDepth, maxValues: maxValues)
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        if parser.index != bytes.count {
            throw JSONSyntaxError(message: "unexpected data after the JSON value", offset: parser.index)
        }
        return value
    }

    private init(bytes: [UInt8], maxDepth: Int, maxValues: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
        self.valuesLeft = maxValues
    }

    private func fail(_ message: String) -> JSONSyntaxError {
        JSONSyntaxError(message: message, offset: index)
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func parseValue(depth: Int) throws -> JSONValue {
        skipWhitespace()
        guard index < bytes.count else { throw fail("unexpected end of JSON") }
        valuesLeft -= 1
        guard valuesLeft >= 0 else { throw fail("too many JSON values") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw fail("unexpected character")
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws {
        let count = literal.utf8CodeUnitCount
        guard bytes.count - index >= count else { throw fail("unexpected end of JSON") }
        let matches = literal.withUTF8Buffer { lit in
            (0..<count).allSatisfy { bytes[index + $0] == lit[$0] }
        }
        guard matches else { throw fail("invalid literal") }
        index += count
    }

    private mutating func parseObject(depth: Int) throws -> JSONValue {
        guard depth <= maxDepth else { throw fail("nesting deeper than \(maxDepth)") }
        index += 1  // '{'
        var members: [(key: String, value: JSONValue)] = []
        var seen = Set<String>()
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                throw fail("expected a string key")
            }
            let key = try parseString()
            guard seen.insert(key).inserted else { throw fail("duplicate key \"\(key)\"") }
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':'") }
            index += 1
            let value = try parseValue(depth: depth)
            members.append((key, value))
            skipWhitespace()
            guard index < bytes.count else { throw fail("unexpected end of JSON") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
            throw fail("expected ',' or '}'")
        }
    }

    private mutating func parseArray(depth: Int) throws -> JSONValue {
        guard depth <= maxDepth else { throw fail("nesting deeper than \(maxDepth)") }
        index += 1  // '['
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            elements.append(try parseValue(depth: depth))
            skipWhitespace()
            guard index < bytes.count else { throw fail("unexpected end of JSON") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(elements) }
            throw fail("expected ',' or ']'")
        }
    }

    private mutating func parseNumber() throws -> JSONValue {
        let start = index
        var isInteger = true
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else { throw fail("invalid number") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count, isDigit(bytes[index]) { throw fail("leading zero in number") }
        } else {
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw fail("invalid number") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard index < bytes.count, isDigit(bytes[index]) else { throw fail("invalid number") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if isInteger {
            // Accumulate directly: building a String per number would dominate large headers.
            var value = 0
            var fits = true
            let negative = bytes[start] == UInt8(ascii: "-")
            for position in (negative ? start + 1 : start)..<index where fits {
                let digit = Int(bytes[position] - UInt8(ascii: "0"))
                let (scaled, o1) = value.multipliedReportingOverflow(by: 10)
                let (next, o2) = negative ? scaled.subtractingReportingOverflow(digit) : scaled.addingReportingOverflow(digit)
                fits = !(o1 || o2)
                value = next
            }
            if fits { return .number(integer: value, text: "") }
        }
        // The bytes are ASCII by construction, so this decoding cannot fail.
        return .number(integer: nil, text: String(decoding: bytes[start..<index], as: UTF8.self))
    }

    private func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    private mutating func parseString() throws -> String {
        index += 1  // opening quote
        let start = index
        // Fast path: scan to the closing quote; most strings have no escapes and become one slice.
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                // The header was validated as UTF-8 before parsing, so decoding cannot repair anything.
                return String(decoding: bytes[start..<(index - 1)], as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw fail("control character in string") }
            index += 1
        }
        // Slow path: escapes present; build the UTF-8 bytes, then decode once.
        var utf8 = Array(bytes[start..<index])
        while true {
            guard index < bytes.count else { throw fail("unterminated string") }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return String(decoding: utf8, as: UTF8.self)
            }
            if byte < 0x20 { throw fail("control character in string") }
            index += 1
            if byte != UInt8(ascii: "\\") {
                utf8.append(byte)
                continue
            }
            guard index < bytes.count else { throw fail("unterminated string") }
            let escape = bytes[index]
            index += 1
            switch escape {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escape)
            case UInt8(ascii: "b"): utf8.append(0x08)
            case UInt8(ascii: "f"): utf8.append(0x0C)
            case UInt8(ascii: "n"): utf8.append(0x0A)
            case UInt8(ascii: "r"): utf8.append(0x0D)
            case UInt8(ascii: "t"): utf8.append(0x09)
            case UInt8(ascii: "u"):
                let first = try parseHex4()
                var code = UInt32(first)
                if (0xD800..<0xDC00).contains(first) {
                    // A high surrogate must be followed by an escaped low surrogate.
                    guard bytes.count - index >= 2, bytes[index] == UInt8(ascii: "\\"),
                          bytes[index + 1] == UInt8(ascii: "u") else { throw fail("unpaired surrogate") }
                    index += 2
                    let second = try parseHex4()
                    guard (0xDC00..<0xE000).contains(second) else { throw fail("unpaired surrogate") }
                    code = 0x10000 + ((UInt32(first) - 0xD800) << 10) + (UInt32(second) - 0xDC00)
                } else if (0xDC00..<0xE000).contains(first) {
                    throw fail("unpaired surrogate")
                }
                guard let scalar = Unicode.Scalar(code) else { throw fail("invalid \\u escape") }
                utf8.append(contentsOf: UTF8.encode(scalar).map { Array($0) } ?? [])
            default:
                throw fail("invalid escape")
            }
        }
    }

    private mutating func parseHex4() throws -> UInt16 {
        guard bytes.count - index >= 4 else { throw fail("truncated \\u escape") }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt16
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt16(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt16(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt16(byte - UInt8(ascii: "A") + 10)
            default: throw fail("invalid \\u escape")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }
}

/// Reports whether `bytes` are well-formed UTF-8 (no overlongs, surrogates or truncation).
func isValidUTF8(_ bytes: [UInt8]) -> Bool {
    // Fast path: pure ASCII, the usual case for headers.
    if bytes.allSatisfy({ $0 < 0x80 }) { return true }
    var iterator = bytes.makeIterator()
    var decoder = UTF8()
    while true {
        switch decoder.decode(&iterator) {
        case .scalarValue: continue
        case .emptyInput: return true
        case .error: return false
        }
    }
}

/// Appends `text` as a JSON string literal (quoted, escaped) to `out`.
func appendJSONString(_ text: String, to out: inout [UInt8]) {
    out.append(UInt8(ascii: "\""))
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
        case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
        case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
        case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
        case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
        case 0..<0x20:
            let hex: [UInt8] = Array("0123456789abcdef".utf8)
            out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                    hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
        default: out.append(byte)  // UTF-8 passes through unchanged; JSON allows it raw.
        }
    }
    out.append(UInt8(ascii: "\""))
}
