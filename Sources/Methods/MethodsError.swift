/// Errors raised by the Methods layer (bad options or bad inputs; never internal failures).
public enum MethodsError: Error, CustomStringConvertible, Equatable {
    /// An option is out of range; the message names it, its value and the allowed range.
    case invalidConfiguration(String)
    /// An input (features, indices, a restored checkpoint array) has the wrong shape or values.
    case invalidInput(String)

    /// The message for the user.
    public var description: String {
        switch self {
        case .invalidConfiguration(let m): return "invalid configuration: \(m)"
        case .invalidInput(let m): return "invalid input: \(m)"
        }
    }
}
