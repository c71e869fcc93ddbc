import Foundation

/// SVHN cropped digits (`train_32x32.mat`, `test_32x32.mat`, `extra_32x32.mat`): `X` uint8
/// 32×32×3×N in MATLAB column-major order and `y` N×1 digits 1-10, where 10 means 0.
/// Uncompressed files are memory-mapped; compressed ones are inflated into memory when opened.
public struct SVHNDataset: ImageDataset {
    /// A short name for logs, e.g. "svhn-train".
    public let name: String
    /// N.
    public let count: Int
    /// Always 3.
    public var channels: Int { 3 }
    /// Always 10.
    public var classCount: Int? { 10 }

    private let images: MATArray
    private let labels: [UInt8]

    /// Opens and validates one SVHN MAT-file.
    public init(path: String, name: String) throws {
        let arrays = try MATFile.read(path: path, names: ["X", "y"])
        guard let x = arrays["X"] else { throw DataError.malformed(path: path, reason: "no numeric variable X") }
        guard let y = arrays["y"] else { throw DataError.malformed(path: path, reason: "no numeric variable y") }
        // MATLAB drops a trailing singleton: a one-image X is 32×32×3.
        let dims = x.dimensions.count == 3 ? x.dimensions + [1] : x.dimensions
        guard x.arrayClass == 9, x.dataType == 2, dims.count == 4, dims[0] == 32, dims[1] == 32, dims[2] == 3 else {
            throw DataError.malformed(path: path, reason: "X must be uint8 32x32x3xN, found class \(x.arrayClass), type \(x.dataType), dimensions \(x.dimensions.map(String.init).joined(separator: "x"))")
        }
        let count = dims[3]
        guard y.elementCount == count, y.dimensions.filter({ $0 != 1 }).count <= 1 else {
            throw DataError.malformed(path: path, reason: "y has dimensions \(y.dimensions.map(String.init).joined(separator: "x")), expected \(count)x1 for \(count) images")
        }
        let values = try y.doubles(path: path)
        var labels = [UInt8](repeating: 0, count: count)
        for (i, v) in values.enumerated() {
            guard v >= 1, v <= 10, v == v.rounded() else {
                throw DataError.malformed(path: path, reason: "label y(\(i + 1)) = \(v) is not a digit 1...10")
            }
            labels[i] = UInt8(v) % 10  // 10 stands for the digit 0
        }
        self.images = x
        self.labels = labels
        self.count = count
        self.name = name
    }

    /// The 32×32×3 image at `index`, transposed from column-major planes to HWC.
    public func image(at index: Int) throws -> ImageU8 {
        try checkIndex(index)
        return images.storage.withUnsafeBytes {
            PlanarLayout.planarToHWC($0, offset: images.offset + index * 3072, side: 32, columnMajor: true)
        }
    }

    /// The digit 0-9 of image `index`.
    public func label(at index: Int) -> Int? {
        index >= 0 && index < labels.count ? Int(labels[index]) : nil
    }
}
