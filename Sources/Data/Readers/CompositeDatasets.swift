import Codecs

/// Several datasets read as one, in order (e.g. STL-10 train + unlabeled). Labels come from
/// each part, so an unlabelled part yields nil; `classCount` is the first part's that has one.
public struct ConcatenatedDataset: ImageDataset {
    /// A short name for logs.
    public let name: String
    /// The parts, in order.
    public let parts: [any ImageDataset]
    /// Sum of the parts' counts.
    public let count: Int
    /// The common channel count of the parts.
    public let channels: Int
    /// The first labelled part's class count.
    public let classCount: Int?

    /// Joins `parts`, which must agree on channels.
    public init(parts: [any ImageDataset], name: String) throws {
        guard let first = parts.first else { throw DataError.invalidOption("\(name): nothing to concatenate") }
        guard parts.allSatisfy({ $0.channels == first.channels }) else {
            throw DataError.invalidOption("\(name): parts have different channel counts")
        }
        self.parts = parts
        self.name = name
        self.count = parts.reduce(0) { $0 + $1.count }
        self.channels = first.channels
        self.classCount = parts.lazy.compactMap(\.classCount).first
    }

    /// The image at `index` of the joined sequence.
    public func image(at index: Int) throws -> ImageU8 {
        try checkIndex(index)
        let (part, local) = locate(index)
        return try parts[part].image(at: local)
    }

    /// The label at `index`, nil inside an unlabelled part.
    public func label(at index: Int) -> Int? {
        guard index >= 0 && index < count else { return nil }
        let (part, local) = locate(index)
        return parts[part].label(at: local)
    }

    /// The file of image `index` in its part.
    public func sourcePath(at index: Int) -> String? {
        guard index >= 0 && index < count else { return nil }
        let (part, local) = locate(index)
        return parts[part].sourcePath(at: local)
    }

    /// (part, index within it) for a valid global index.
    private func locate(_ index: Int) -> (Int, Int) {
        var local = index
        for (i, part) in parts.enumerated() {
            if local < part.count { return (i, local) }
            local -= part.count
        }
        return (parts.count - 1, local)
    }
}

/// A dataset with every image converted to `channels` (1 or 3): grey is replicated to RGB and
/// RGB becomes grey by PIL's luma (see `ChannelConversion`).
public struct ChannelConvertedDataset: ImageDataset {
    /// The dataset being converted.
    public let base: any ImageDataset
    /// 1 or 3.
    public let channels: Int

    /// Wraps `base`; throws `invalidOption` unless `channels` is 1 or 3.
    public init(base: any ImageDataset, channels: Int) throws {
        guard channels == 1 || channels == 3 else {
            throw DataError.invalidOption("channels must be 1 or 3, not \(channels)")
        }
        self.base = base
        self.channels = channels
    }

    /// The base dataset's name.
    public var name: String { base.name }
    /// The base dataset's count.
    public var count: Int { base.count }
    /// The base dataset's class count.
    public var classCount: Int? { base.classCount }

    /// The base image with its channels converted.
    public func image(at index: Int) throws -> ImageU8 {
        let image = try base.image(at: index)
        if image.channels == channels { return image }
        let pixels = ChannelConversion.convert(image.pixels, pixelCount: image.height * image.width,
                                               from: image.channels, to: channels)
        return ImageU8(height: image.height, width: image.width, channels: channels, pixels: pixels)
    }

    /// The base dataset's label.
    public func label(at index: Int) -> Int? { base.label(at: index) }
    /// The base's file.
    public func sourcePath(at index: Int) -> String? { base.sourcePath(at: index) }
}
