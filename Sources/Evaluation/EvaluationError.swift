/// Why an evaluation refused its input; the message names the offending argument and values.
public struct EvaluationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The broad kind of failure, for tests and callers that branch on it.
    public enum Kind: String, Equatable, Sendable {
        /// An argument is out of range (K < 1, fraction outside (0, 1], ...).
        case invalidArgument
        /// Two inputs disagree in size (features vs labels, train vs test dimension, ...).
        case shapeMismatch
        /// A required set is empty (no training samples, no test samples, ...).
        case emptyInput
        /// Features contain NaN or infinity.
        case nonFinite
        /// A file could not be read, written or parsed.
        case file
    }

    /// The kind of failure.
    public let kind: Kind
    /// A human-readable explanation.
    public let message: String

    /// An error of `kind` with `message`.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// The message, prefixed so logs show where it came from.
    public var description: String { "evaluation: \(message)" }
}
