import Foundation

/// STL-10 binary: 96×96×3 uint8 images, each stored as three column-major channel planes
/// (MATLAB order), with an optional labels file of one byte 1-10 per image (mapped to 0-9).
public struct STL10Dataset: ImageDataset {
    /// A short name for logs, e.g. "stl10-train".
    public let name: String
    /// Number of images.
    public let count: Int
    /// Always 3.
    public var channels: Int { 3 }
    /// 10 when opened with labels, else nil.
    public let classCount: Int?

    private let images: Foundation.Data
    private let labels: [UInt8]

    /// Image side (96).
    static let side = 96
    /// Bytes per image.
    static let imageBytes = 96 * 96 * 3

    /// Opens `train_X.bin`-style images and, for labelled splits, the matching `_y.bin`.
    public init(imagesPath: String, labelsPath: String?, name: String) throws {
        let images = try FileBytes.mapped(imagesPath)
        guard images.count > 0, images.count % Self.imageBytes == 0 else {
            throw DataError.malformed(path: imagesPath, reason: "size \(images.count) is not a positive multiple of \(Self.imageBytes) bytes (96x96x3)")
        }
        let count = images.count / Self.imageBytes
        if let labelsPath {
            let data = try FileBytes.mapped(labelsPath)
            guard data.count == count else {
                throw DataError.malformed(path: labelsPath, reason: "\(data.count) labels for \(count) images in \(imagesPath)")
            }
            var labels = [UInt8](data)
            for i in labels.indices {
                guard (1...10).contains(labels[i]) else {
                    throw DataError.malformed(path: labelsPath, reason: "label \(labels[i]) of image \(i) is outside 1...10")
                }
                labels[i] -= 1
            }
            self.labels = labels
            self.classCount = 10
        } else {
            self.labels = []
            self.classCount = nil
        }
        self.images = images
        self.count = count
        self.name = name
    }

    /// The 96×96×3 image at `index`, transposed to row-major HWC.
    public func image(at index: Int) throws -> ImageU8 {
        try checkIndex(index)
        return images.withUnsafeBytes {
            PlanarLayout.planarToHWC($0, offset: index * Self.imageBytes, side: Self.side, columnMajor: true)
        }
    }

    /// The label 0-9 of image `index`, nil when unlabelled.
    public func label(at index: Int) -> Int? {
        index >= 0 && index < labels.count ? Int(labels[index]) : nil
    }
}
