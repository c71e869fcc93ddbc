/// Deterministic random images for benchmarks and tests (CIFAR-like by default: 32×32 RGB,
/// 10 classes). Image `i` is a smooth random colour gradient plus noise, from a generator
/// derived from (seed, i), so it is the same on every call and thread; label `i mod classes`.
public struct SyntheticImageDataset: ImageDataset {
    /// A short name for logs.
    public let name: String
    /// Number of images.
    public let count: Int
    /// Channels (1 or 3).
    public let channels: Int
    /// Rows of every image.
    public let height: Int
    /// Columns of every image.
    public let width: Int
    /// Number of classes; labels cycle through them.
    public let classCount: Int?
    /// Seed of the pixel content.
    public let seed: UInt64

    /// `count` images of `height × width × channels`.
    public init(count: Int, height: Int = 32, width: Int = 32, channels: Int = 3, classCount: Int? = 10,
                seed: UInt64 = 0, name: String = "synthetic") {
        precondition(channels == 1 || channels == 3, "SyntheticImageDataset: 1 or 3 channels")
        self.count = count
        self.height = height
        self.width = width
        self.channels = channels
        self.classCount = classCount
        self.seed = seed
        self.name = name
    }

    /// Image `index`: per channel `base + dx·x + dy·y` (random base and slopes) plus ±16 noise.
    public func image(at index: Int) throws -> ImageU8 {
        guard index >= 0 && index < count else {
            throw DataError.invalidOption("\(name): index \(index) outside 0..<\(count)")
        }
        var rng = SeededGenerator(seed: seed, streams: [UInt64(index)])
        var pixels = [UInt8](repeating: 0, count: height * width * channels)
        var base = [Double](repeating: 0, count: channels), dx = base, dy = base
        for c in 0..<channels {
            base[c] = rng.uniform(32, 224)
            dx[c] = rng.uniform(-96, 96) / Double(max(width, 1))
            dy[c] = rng.uniform(-96, 96) / Double(max(height, 1))
        }
        pixels.withUnsafeMutableBufferPointer { p in
            var i = 0
            for y in 0..<height {
                for x in 0..<width {
                    let bits = rng.next()
                    for c in 0..<channels {
                        let noise = Double(Int((bits >> (UInt64(c) * 8)) & 31) - 16)
                        let v = base[c] + dx[c] * Double(x) + dy[c] * Double(y) + noise
                        p[i] = UInt8(min(max(v, 0), 255))
                        i += 1
                    }
                }
            }
        }
        return ImageU8(height: height, width: width, channels: channels, pixels: pixels)
    }

    /// `index mod classCount`, nil when unlabelled.
    public func label(at index: Int) -> Int? {
        classCount.map { index % $0 }
    }
}
