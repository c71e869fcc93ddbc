import Foundation

/// CIFAR-10 / CIFAR-100 binary batches: fixed-size records of label byte(s) + 3072 pixel bytes
/// (1024 R, 1024 G, 1024 B, each 32×32 row-major). Files are memory-mapped; images are decoded
/// on demand, labels are read and range-checked when opened.
public struct CIFARDataset: ImageDataset {
    /// Which variant, and for CIFAR-100 which label.
    public enum Variant: Sendable, Equatable {
        /// 3073-byte records, label 0-9.
        case cifar10
        /// 3074-byte records (coarse 0-19, fine 0-99); the label reported is fine unless `coarse`.
        case cifar100(coarse: Bool)
    }

    /// A short name for logs, e.g. "cifar10-train".
    public let name: String
    /// Total records over all files.
    public let count: Int
    /// Always 3.
    public var channels: Int { 3 }
    /// 10, 100 (fine) or 20 (coarse).
    public let classCount: Int?

    /// Mapped files with their record counts, in the order given.
    private let files: [(data: Foundation.Data, records: Int)]
    private let labelBytes: Int
    private let labels: [UInt8]

    /// Image side (32).
    static let side = 32
    /// Pixel bytes per record.
    static let pixelBytes = 3 * 32 * 32

    /// Opens the batch files in order (e.g. data_batch_1.bin ... data_batch_5.bin).
    public init(files paths: [String], variant: Variant, name: String) throws {
        let labelBytes: Int, labelIndex: Int, classes: Int
        switch variant {
        case .cifar10: (labelBytes, labelIndex, classes) = (1, 0, 10)
        case .cifar100(let coarse): (labelBytes, labelIndex, classes) = (2, coarse ? 0 : 1, coarse ? 20 : 100)
        }
        let recordSize = labelBytes + Self.pixelBytes
        var files: [(Foundation.Data, Int)] = []
        var labels: [UInt8] = []
        for path in paths {
            let data = try FileBytes.mapped(path)
            guard data.count > 0, data.count % recordSize == 0 else {
                throw DataError.malformed(path: path, reason: "size \(data.count) is not a positive multiple of the \(recordSize)-byte record")
            }
            let records = data.count / recordSize
            try data.withUnsafeBytes { raw in
                for r in 0..<records {
                    for k in 0..<labelBytes {
                        // Both CIFAR-100 labels are checked; the chosen one is kept.
                        let value = Int(raw[r * recordSize + k])
                        let limit = labelBytes == 1 ? 10 : (k == 0 ? 20 : 100)
                        guard value < limit else {
                            throw DataError.malformed(path: path, reason: "record \(r): label \(value) is outside 0..<\(limit)")
                        }
                    }
                    labels.append(raw[r * recordSize + labelIndex])
                }
            }
            files.append((data, records))
        }
        guard !files.isEmpty else { throw DataError.invalidOption("\(name): no batch files given") }
        self.name = name
        self.files = files
        self.labelBytes = labelBytes
        self.labels = labels
        self.count = labels.count
        self.classCount = classes
    }

    /// The 32×32×3 image of record `index`.
    public func image(at index: Int) throws -> ImageU8 {
        try checkIndex(index)
        var local = index
        for (data, records) in files {
            if local < records {
                let offset = local * (labelBytes + Self.pixelBytes) + labelBytes
                return data.withUnsafeBytes {
                    PlanarLayout.planarToHWC($0, offset: offset, side: Self.side, columnMajor: false)
                }
            }
            local -= records
        }
        throw DataError.invalidOption("\(name): index \(index) is outside 0..<\(count)")
    }

    /// The label (fine or coarse as opened) of record `index`.
    public func label(at index: Int) -> Int? {
        index >= 0 && index < labels.count ? Int(labels[index]) : nil
    }
}
