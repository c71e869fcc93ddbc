import Codecs
import Foundation

/// MNIST-style IDX files (MNIST, Fashion-MNIST, KMNIST), raw or gzipped: N × rows × cols uint8
/// images and N uint8 labels, validated in full when opened.
public struct IDXDataset: ImageDataset {
    /// A short name for logs, e.g. "fashion-mnist-train".
    public let name: String
    /// Number of images (N from the header).
    public let count: Int
    /// Always 1: IDX images are grey.
    public var channels: Int { 1 }
    /// Number of classes (labels are checked to lie in 0..<classCount); nil without a labels file.
    public let classCount: Int?
    /// Image rows (28 for the MNIST family).
    public let height: Int
    /// Image columns.
    public let width: Int

    /// The decompressed images file; pixels start at `pixelOffset`.
    private let images: ByteStorage
    private let pixelOffset: Int
    /// One label per image, already range-checked.
    private let labels: [UInt8]

    /// Opens an images file (magic 0x00000803) and optionally a labels file (0x00000801) whose
    /// count must match; labels must lie in `0..<classCount`.
    public init(imagesPath: String, labelsPath: String?, name: String, classCount: Int = 10) throws {
        let images = try FileBytes.contentMaybeGzipped(imagesPath)
        let (dims, offset) = try Self.header(images, path: imagesPath, magic: 0x0803, dimensions: 3)
        guard dims[1] > 0, dims[2] > 0 else {
            throw DataError.malformed(path: imagesPath, reason: "image size \(dims[1])x\(dims[2]) is empty")
        }
        try Self.checkPayload(images.count - offset, dims: dims, path: imagesPath)
        self.images = images
        self.pixelOffset = offset
        self.count = dims[0]
        self.height = dims[1]
        self.width = dims[2]
        self.name = name
        if let labelsPath {
            let data = try FileBytes.contentMaybeGzipped(labelsPath)
            let (labelDims, labelOffset) = try Self.header(data, path: labelsPath, magic: 0x0801, dimensions: 1)
            try Self.checkPayload(data.count - labelOffset, dims: labelDims, path: labelsPath)
            guard labelDims[0] == dims[0] else {
                throw DataError.malformed(path: labelsPath, reason: "\(labelDims[0]) labels for \(dims[0]) images in \(imagesPath)")
            }
            let labels = data.bytes(at: labelOffset, count: data.count - labelOffset)
            if let bad = labels.firstIndex(where: { Int($0) >= classCount }) {
                throw DataError.malformed(path: labelsPath, reason: "label \(labels[bad]) of item \(bad) is outside 0..<\(classCount)")
            }
            self.labels = labels
            self.classCount = classCount
        } else {
            self.labels = []
            self.classCount = nil
        }
    }

    /// The image at `index`: height × width × 1.
    public func image(at index: Int) throws -> ImageU8 {
        try checkIndex(index)
        let size = height * width
        let pixels = images.bytes(at: pixelOffset + index * size, count: size)
        return ImageU8(height: height, width: width, channels: 1, pixels: pixels)
    }

    /// The label of image `index`, nil when opened without labels.
    public func label(at index: Int) -> Int? {
        labels.isEmpty || index < 0 || index >= labels.count ? nil : Int(labels[index])
    }

    /// Parses the IDX magic (0x00 0x00 type ndim) and `dimensions` big-endian uint32 sizes.
    /// Returns the sizes and where the data starts.
    static func header(_ data: ByteStorage, path: String, magic: Int, dimensions: Int) throws -> ([Int], Int) {
        try data.withUnsafeBytes { raw in
            let reader = ByteReader(bytes: raw, path: path, bigEndian: true)
            let found = try reader.u32(at: 0, "magic number")
            let expected = magic & 0xFF00 | dimensions
            guard found == expected else {
                throw DataError.malformed(path: path, reason: String(format: "magic number 0x%08X, expected 0x%08X (IDX uint8, %d dimensions)", found, expected, dimensions))
            }
            let dims = try (0..<dimensions).map { try reader.u32(at: 4 + 4 * $0, "dimension \($0 + 1)") }
            return (dims, 4 + 4 * dimensions)
        }
    }

    /// The bytes after the header must be exactly the product of the dimensions.
    static func checkPayload(_ available: Int, dims: [Int], path: String) throws {
        let expected = checkedProduct(dims)
        guard let expected, expected == available else {
            throw DataError.malformed(path: path, reason: "header dimensions \(dims.map(String.init).joined(separator: "x")) need \(expected.map(String.init) ?? "too many") bytes of data, file has \(available)")
        }
    }
}
