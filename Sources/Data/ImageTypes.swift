/// An 8-bit image: `height × width × channels` bytes, row-major with channels interleaved (HWC),
/// 1 (grey) or 3 (RGB) channels. Readers produce it; augmentations consume it.
public struct ImageU8: Equatable, Sendable {
    /// Rows.
    public var height: Int
    /// Columns.
    public var width: Int
    /// 1 (grey) or 3 (RGB).
    public var channels: Int
    /// `height * width * channels` bytes, HWC order.
    public var pixels: [UInt8]

    /// Wraps pixels; the count must equal `height * width * channels`.
    public init(height: Int, width: Int, channels: Int, pixels: [UInt8]) {
        precondition(pixels.count == height * width * channels, "ImageU8: pixel count does not match shape")
        self.height = height
        self.width = width
        self.channels = channels
        self.pixels = pixels
    }
}

/// Errors of the data layer; every case names the file (or folder) and what is wrong with it.
public enum DataError: Error, CustomStringConvertible, Equatable {
    /// The file or folder at `path` is malformed: `reason` says how.
    case malformed(path: String, reason: String)
    /// The dataset could not be found; `hint` says where we looked and how to get it.
    case notFound(path: String, hint: String)
    /// A caller's option is out of range.
    case invalidOption(String)

    public var description: String {
        switch self {
        case .malformed(let path, let reason): return "\(path): \(reason)"
        case .notFound(let path, let hint): return "\(path): not found. \(hint)"
        case .invalidOption(let message): return message
        }
    }
}

/// A dataset of images addressed by index, with optional labels. Reads are thread-safe.
public protocol ImageDataset: Sendable {
    /// A short name for logs, e.g. "cifar10-train".
    var name: String { get }
    /// Number of images.
    var count: Int { get }
    /// Channels of every image (1 or 3).
    var channels: Int { get }
    /// Number of classes when the dataset is labelled, nil otherwise.
    var classCount: Int? { get }
    /// The image at `index` (0..<count); throws DataError for undecodable content.
    func image(at index: Int) throws -> ImageU8
    /// The label of image `index` (0..<classCount), nil for an unlabelled dataset.
    func label(at index: Int) -> Int?
    /// The file image `index` was read from, for datasets of image files (nil otherwise).
    func sourcePath(at index: Int) -> String?
}

extension ImageDataset {
    /// Images that are records of one big file have no path of their own.
    public func sourcePath(at index: Int) -> String? { nil }
}
