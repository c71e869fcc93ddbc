import CDNNL

/// Errors raised by the kernel layer.
public enum KernelError: Error, CustomStringConvertible {
    /// A oneDNN call failed; names the call and oneDNN's status.
    case dnnl(call: String, status: String)
    /// A caller passed an invalid argument.
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .dnnl(let call, let status): return "oneDNN call \(call) failed: \(status)"
        case .invalidArgument(let message): return message
        }
    }
}

/// Checks a oneDNN status; a failure here is a programming error in the kernel layer (shapes are
/// validated above it), so it stops with the call named rather than continuing on garbage.
@inline(__always)
func check(_ status: dnnl_status_t, _ call: @autoclosure () -> String) {
    if status != dnnl_success {
        fatalError("oneDNN call \(call()) failed with status \(status.rawValue)")
    }
}
