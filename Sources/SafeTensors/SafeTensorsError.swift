/// The one error type of this module: every failure says where (file or tensor) and what.
public struct SafeTensorsError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The category of a failure, so callers and tests can react without parsing messages.
    public enum Kind: String, Equatable, Sendable {
        /// Opening, reading, writing, syncing or renaming a file failed.
        case io
        /// The file ends before its header or a tensor's bytes do.
        case truncated
        /// The declared header length exceeds the cap or the file.
        case headerTooLarge
        /// The header is not UTF-8, not JSON, not an object, too deep, or repeats a key.
        case malformedHeader
        /// A tensor entry has a bad dtype, shape, offsets, or a byte size that disagrees with its shape.
        case invalidEntry
        /// A tensor's byte range lies outside the data area or overlaps another.
        case invalidRange
        /// `__metadata__` is not an object of strings.
        case invalidMetadata
        /// The archive has no tensor of the requested name.
        case missingTensor
        /// The tensor's dtype is not one the accessor can return.
        case dtypeMismatch
        /// The tensor's shape differs from the shape the caller expected.
        case shapeMismatch
        /// A tensor to store is inconsistent (element count vs shape, reserved name, byte count).
        case invalidTensor
    }

    /// The category of the failure.
    public let kind: Kind
    /// The file (or in-memory source label) involved, if any.
    public let path: String?
    /// The tensor involved, if any.
    public let tensor: String?
    /// A human-readable account of the problem.
    public let message: String

    /// Creates an error; `path` and `tensor` are included in `description` when present.
    public init(_ kind: Kind, path: String? = nil, tensor: String? = nil, _ message: String) {
        self.kind = kind
        self.path = path
        self.tensor = tensor
        self.message = message
    }

    /// "safetensors: <path>: tensor '<name>': <message>", leaving out the parts that are absent.
    public var description: String {
        var text = "safetensors: "
        if let path { text += "\(path): " }
        if let tensor { text += "tensor '\(tensor)': " }
        return text + message
    }
}
