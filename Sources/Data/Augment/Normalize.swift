/// Normalize(mean, std): `(x − mean[c]) / std[c]` per channel. Deterministic.
public struct Normalize: ImageAugmentation {
    /// Per-channel means (1 or 3 values).
    public var mean: [Float]
    /// Per-channel standard deviations (1 or 3 values, positive).
    public var std: [Float]

    /// Normalizes with `mean` and `std` (same count, one per image channel).
    public init(mean: [Float], std: [Float]) {
        precondition(mean.count == std.count && !mean.isEmpty, "Normalize: mean and std must have the same, non-zero count")
        precondition(std.allSatisfy { $0 > 0 }, "Normalize: std must be positive")
        self.mean = mean
        self.std = std
    }

    /// CIFAR-10 statistics used by the InvP reference code.
    public static let cifar = Normalize(mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.2010])
    /// ImageNet statistics.
    public static let imageNet = Normalize(mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])
    /// Fashion-MNIST statistics (grey).
    public static let fashionMNIST = Normalize(mean: [0.2860], std: [0.3530])

    /// Normalizes in place (`rng` is unused).
    public func apply(to image: inout FloatImage, rng: inout SeededGenerator) {
        apply(to: &image)
    }

    /// Normalizes in place; the image's channel count must equal `mean.count`.
    public func apply(to image: inout FloatImage) {
        precondition(image.channels == mean.count,
                     "Normalize: \(mean.count) channel statistics for a \(image.channels)-channel image")
        let plane = image.height * image.width
        image.pixels.withUnsafeMutableBufferPointer { p in
            for ch in 0..<mean.count {
                let m = mean[ch], s = std[ch]
                let base = p.baseAddress! + ch * plane
                for i in 0..<plane { base[i] = (base[i] - m) / s }
            }
        }
    }
}
