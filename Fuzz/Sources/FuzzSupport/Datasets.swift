import Data

extension Harness {
    /// Reads every image and label of `dataset`, as a training epoch does, and checks each: the
    /// declared channels, a pixel count equal to height × width × channels, and a label inside
    /// `0..<classCount` (labels may be absent only when the dataset has no classes).
    public static func readAll(_ dataset: any ImageDataset) throws {
        for i in 0..<dataset.count {
            let image = try dataset.image(at: i)
            require(image.channels == dataset.channels, "\(dataset.name): image \(i) has \(image.channels) channels, the dataset \(dataset.channels)")
            require(image.height > 0 && image.width > 0 && image.pixels.count == image.height * image.width * image.channels,
                    "\(dataset.name): image \(i) holds \(image.pixels.count) bytes for \(image.height)x\(image.width)x\(image.channels)")
            if let classes = dataset.classCount {
                guard let label = dataset.label(at: i) else { fail("\(dataset.name): image \(i) has no label") }
                require((0..<classes).contains(label), "\(dataset.name): label \(label) of image \(i) is outside 0..<\(classes)")
            }
        }
    }

    /// True for the errors a dataset reader may throw on a bad file: `DataError.malformed`
    /// naming one of `paths`.
    public static func isMalformed(_ error: Error, naming paths: [String]) -> Bool {
        guard let error = error as? DataError, case .malformed(let path, _) = error else { return false }
        return paths.contains(path)
    }
}
