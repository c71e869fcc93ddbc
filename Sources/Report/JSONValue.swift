import Foundation

/// Any JSON value, decoded strictly (a number is never read as a Bool, nor the reverse).
/// Objects are stored as dictionaries: `JSONDecoder` does not keep key order, so the report
/// shows keys sorted, which also makes two runs' configurations easy to compare by eye.
public enum JSONValue: Equatable, Sendable, Decodable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// Any number, as a Double.
    case number(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object.
    case object([String: JSONValue])

    /// Decodes whichever kind of value the decoder holds.
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// Parses one JSON document; the error says what is wrong, without a file name.
    public static func parse(_ data: Data) throws -> JSONValue {
        do {
            return try JSONDecoder().decode(JSONValue.self, from: data)
        } catch let error as DecodingError {
            throw JSONSyntaxError(reason: JSONSyntaxError.locate(data) ?? JSONSyntaxError.describe(error))
        }
    }

    /// The member `key` of an object; nil for other kinds or a missing key.
    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    /// The number, when this is one.
    public var numberValue: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    /// The string, when this is one.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// A short human-readable rendering: scalars as written, arrays of scalars inline.
    public var displayText: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .number(let value): return NumberFormatting.plain(value)
        case .string(let value): return value
        case .array(let values):
            if values.count > 16 { return "[\(values.count) values]" }
            return "[" + values.map { value -> String in
                if case .string(let text) = value { return "\"\(text)\"" }
                return value.displayText
            }.joined(separator: ", ") + "]"
        case .object(let members): return "{\(members.count) keys}"
        }
    }

    /// How the kind of value is named in error messages.
    var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

/// A document that is not valid JSON; `reason` comes from the decoder.
public struct JSONSyntaxError: Error, CustomStringConvertible {
    /// What the decoder objected to.
    public var reason: String

    /// The reason, for messages.
    public var description: String { reason }

    /// Where the syntax error is ("Invalid value around character 7."): `JSONDecoder` only says
    /// the data is not valid JSON, while `JSONSerialization` reports the position.
    static func locate(_ data: Data) -> String? {
        do {
            _ = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
            return nil
        } catch {
            return (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
        }
    }

    /// The most specific message a `DecodingError` carries (the underlying parser's, if any).
    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .dataCorrupted(let context):
            if let underlying = context.underlyingError {
                let text = "\(underlying)"
                return text.isEmpty ? context.debugDescription : text
            }
            return context.debugDescription
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .keyNotFound(_, let context):
            return context.debugDescription
        @unknown default:
            return "\(error)"
        }
    }
}
