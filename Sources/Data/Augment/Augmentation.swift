/// One step of an augmentation pipeline: changes an image in place, drawing any randomness from
/// the caller's generator (so a per-sample generator makes the result reproducible).
public protocol ImageAugmentation: Sendable {
    /// Transforms `image` in place; random steps draw from `rng`.
    func apply(to image: inout FloatImage, rng: inout SeededGenerator)
}

/// A random augmentation whose sampled parameters can be seen separately from applying them
/// (`sampleParameters` then `apply(_:to:)` equals `apply(to:rng:)`), for tests and debugging.
public protocol ParametricAugmentation: ImageAugmentation {
    /// What one draw decides, e.g. a crop box or jitter factors.
    associatedtype Parameters: Sendable
    /// Draws the parameters for `image` (only its shape is read).
    func sampleParameters(for image: FloatImage, rng: inout SeededGenerator) -> Parameters
    /// Applies fixed parameters; deterministic.
    func apply(_ parameters: Parameters, to image: inout FloatImage)
}

extension ParametricAugmentation {
    /// Samples parameters, then applies them.
    public func apply(to image: inout FloatImage, rng: inout SeededGenerator) {
        let parameters = sampleParameters(for: image, rng: &rng)
        apply(parameters, to: &image)
    }
}

/// RandomApply(transforms, p): runs all `steps` with probability `p`, else none
/// (torchvision skips when `p < rand`, so one uniform is drawn per call).
public struct RandomApply: ImageAugmentation {
    /// Probability of applying the steps.
    public var probability: Double
    /// Steps applied in order when chosen.
    public var steps: [any ImageAugmentation]

    /// Applies `steps` with probability `probability`.
    public init(probability: Double, _ steps: [any ImageAugmentation]) {
        self.probability = probability
        self.steps = steps
    }

    /// Draws whether to apply, then applies every step with the same generator.
    public func apply(to image: inout FloatImage, rng: inout SeededGenerator) {
        if probability < rng.uniform() { return }
        for step in steps { step.apply(to: &image, rng: &rng) }
    }
}

/// A named sequence of augmentations run on a decoded image (torchvision `Compose` with
/// `ToTensor` first): `ImageU8` → `FloatImage` → each step in order.
public struct AugmentationPipeline: Sendable {
    /// A short name for logs, e.g. "cifar-invp".
    public var name: String
    /// Steps in order.
    public var steps: [any ImageAugmentation]

    /// A pipeline running `steps` in order.
    public init(name: String, _ steps: [any ImageAugmentation]) {
        self.name = name
        self.steps = steps
    }

    /// Converts `image` to floats in [0, 1] (ToTensor) and runs every step.
    public func callAsFunction(_ image: ImageU8, rng: inout SeededGenerator) -> FloatImage {
        var float = FloatImage(image)
        apply(to: &float, rng: &rng)
        return float
    }

    /// The same pipeline with every RandomResizedCrop's area scale starting at `minimum`
    /// (its upper bound kept, and raised to `minimum` if below it).
    public func replacingCropScale(minimum: Double) -> AugmentationPipeline {
        AugmentationPipeline(name: "\(name)(crop \(minimum))", steps.map { step in
            guard var crop = step as? RandomResizedCrop else { return step }
            crop.scale = minimum...max(minimum, crop.scale.upperBound)
            return crop
        })
    }

    /// Runs every step on an already-converted image.
    public func apply(to image: inout FloatImage, rng: inout SeededGenerator) {
        for step in steps { step.apply(to: &image, rng: &rng) }
    }
}
