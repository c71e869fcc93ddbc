/// The augmentation pipelines of the paper's recipes (SPEC.md "augment" / "normalize" rows) and
/// of the evaluation protocols, by name for the CLI. Each starts from ToTensor (implicit in
/// `AugmentationPipeline`) and ends with Normalize.
public enum AugmentationPresets {
    /// Every name `pipeline(named:)` accepts, with a one-line description each.
    public static let catalog: [(name: String, description: String)] = [
        ("cifar-invp", "CIFAR-10/100, SVHN pre-training: RRC(32, 0.2-1), ColorJitter(0.4,0.4,0.4,0.4), grayscale 0.2, no flip"),
        ("imagenet-invp", "ImageNet pre-training: RRC(224, 0.2-1), jitter(0.4,0.4,0.4,0.1) p=0.8, grayscale 0.2, blur p=0.5, flip"),
        ("imagenet-invp-noblur", "imagenet-invp without the Gaussian blur"),
        ("fashion-mnist-invp", "Fashion-MNIST pre-training: RRC(28, 0.2-1), brightness/contrast 0.4, no flip"),
        ("fashion-mnist-invp-flip", "fashion-mnist-invp with horizontal flip"),
        ("cifar-eval", "CIFAR/SVHN evaluation: normalize only"),
        ("imagenet-eval", "ImageNet evaluation: resize 256, center crop 224, normalize"),
        ("fashion-mnist-eval", "Fashion-MNIST evaluation: normalize only"),
        ("cifar-linear", "CIFAR/SVHN linear-probe training: flip, normalize"),
        ("imagenet-linear", "ImageNet linear-probe training: RRC(224, 0.08-1), flip, normalize"),
        ("fashion-mnist-linear", "Fashion-MNIST linear-probe training: flip, normalize"),
        ("folder-invp-rgb-S", "an image folder of colour images of any sizes, at S×S: RRC(S, 0.2-1), jitter(0.4,0.4,0.4,0.1) p=0.8, grayscale 0.2, flip"),
        ("folder-invp-grey-S", "an image folder of grey images of any sizes, at S×S: RRC(S, 0.2-1), brightness/contrast 0.4, flip"),
        ("folder-eval-rgb-S", "image folder evaluation (colour): resize the shorter side to S, center crop S, ImageNet normalization"),
        ("folder-eval-grey-S", "image folder evaluation (grey): resize the shorter side to S, center crop S, normalize (0.5, 0.25)"),
    ]

    /// Names accepted by `pipeline(named:)`.
    public static var names: [String] { catalog.map(\.name) }

    /// The pipeline called `name` (see `catalog`); aliases "svhn-*" and "cifar100-*" map to "cifar-*".
    public static func pipeline(named name: String) throws -> AugmentationPipeline {
        var key = name.lowercased()
        for alias in ["svhn-", "cifar10-", "cifar100-"] where key.hasPrefix(alias) {
            key = "cifar-" + key.dropFirst(alias.count)
        }
        switch key {
        case "cifar-invp": return cifarInvP()
        case "imagenet-invp": return imageNetInvP(blur: true)
        case "imagenet-invp-noblur": return imageNetInvP(blur: false)
        case "fashion-mnist-invp": return fashionMNISTInvP()
        case "fashion-mnist-invp-flip": return fashionMNISTInvP(flip: true)
        case "cifar-eval": return AugmentationPipeline(name: "cifar-eval", [Normalize.cifar])
        case "imagenet-eval": return imageNetEval()
        case "fashion-mnist-eval": return AugmentationPipeline(name: "fashion-mnist-eval", [Normalize.fashionMNIST])
        case "cifar-linear": return cifarLinearTrain()
        case "imagenet-linear": return imageNetLinearTrain()
        case "fashion-mnist-linear":
            return AugmentationPipeline(name: "fashion-mnist-linear", [RandomHorizontalFlip(), Normalize.fashionMNIST])
        default:
            if let folder = try folderPipeline(named: key) { return folder }
            throw DataError.invalidOption("unknown augmentation preset '\(name)'; known: \(names.joined(separator: ", ")) (S: a size in pixels)")
        }
    }

    /// InvP CIFAR/SVHN pre-training: RRC(32, scale 0.2–1), ColorJitter(0.4, 0.4, 0.4, 0.4),
    /// RandomGrayscale(0.2), no flip, CIFAR normalization. Output [3, 32, 32].
    public static func cifarInvP(size: Int = 32) -> AugmentationPipeline {
        AugmentationPipeline(name: "cifar-invp", [
            RandomResizedCrop(size: size, scale: 0.2...1.0),
            ColorJitter(brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.4),
            RandomGrayscale(probability: 0.2),
            Normalize.cifar,
        ])
    }

    /// InvP ImageNet pre-training (MoCo-v2 style): RRC(224, 0.2–1), ColorJitter(0.4, 0.4, 0.4, 0.1)
    /// with p 0.8, RandomGrayscale(0.2), GaussianBlur(23 taps ≈ 10 % of 224, σ ∈ [0.1, 2]) with
    /// p 0.5 when `blur`, flip, ImageNet normalization. Output [3, size, size].
    public static func imageNetInvP(blur: Bool = true, size: Int = 224) -> AugmentationPipeline {
        var steps: [any ImageAugmentation] = [
            RandomResizedCrop(size: size, scale: 0.2...1.0),
            RandomApply(probability: 0.8, [ColorJitter(brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1)]),
            RandomGrayscale(probability: 0.2),
        ]
        if blur {
            // An odd kernel about a tenth of the side, as SimCLR/BYOL use for 224 (23 taps).
            let taps = max(3, (size / 10) | 1)
            steps.append(RandomApply(probability: 0.5, [GaussianBlur(kernelSize: taps, sigma: 0.1...2.0)]))
        }
        steps.append(RandomHorizontalFlip(probability: 0.5))
        steps.append(Normalize.imageNet)
        return AugmentationPipeline(name: blur ? "imagenet-invp" : "imagenet-invp-noblur", steps)
    }

    /// Fashion-MNIST pre-training on 28×28 grey: RRC(28, `scale`), brightness and contrast jitter
    /// (`jitter`), optional flip, Fashion-MNIST normalization. Output [1, 28, 28].
    public static func fashionMNISTInvP(scale: ClosedRange<Double> = 0.2...1.0, jitter: Double = 0.4,
                                        flip: Bool = false) -> AugmentationPipeline {
        var steps: [any ImageAugmentation] = [
            RandomResizedCrop(size: 28, scale: scale),
            ColorJitter(brightness: jitter, contrast: jitter),
        ]
        if flip { steps.append(RandomHorizontalFlip(probability: 0.5)) }
        steps.append(Normalize.fashionMNIST)
        return AugmentationPipeline(name: flip ? "fashion-mnist-invp-flip" : "fashion-mnist-invp", steps)
    }

    /// Grey normalization for image folders: mean 0.5, std 0.25 (no dataset statistics are known).
    static let greyFolderNormalize = Normalize(mean: [0.5], std: [0.25])

    /// `folder-invp-{rgb,grey}-S` and `folder-eval-{rgb,grey}-S` (S in 8…1024), nil for other names.
    static func folderPipeline(named key: String) throws -> AugmentationPipeline? {
        let parts = key.split(separator: "-").map(String.init)
        guard parts.count == 4, parts[0] == "folder", ["invp", "eval"].contains(parts[1]), ["rgb", "grey"].contains(parts[2]) else { return nil }
        guard let size = Int(parts[3]), (8...1024).contains(size) else {
            throw DataError.invalidOption("augmentation preset '\(key)': the size must be a whole number of pixels in 8…1024")
        }
        return parts[1] == "invp" ? folderInvP(colour: parts[2] == "rgb", size: size) : folderEval(colour: parts[2] == "rgb", size: size)
    }

    /// Pre-training on a folder of images of any sizes at `size`×`size`: RRC(size, 0.2–1), colour
    /// jitter as imagenet-invp (brightness and contrast only for grey), grayscale 0.2 (colour),
    /// flip, normalization. Output [C, size, size].
    public static func folderInvP(colour: Bool, size: Int) -> AugmentationPipeline {
        var steps: [any ImageAugmentation] = [RandomResizedCrop(size: size, scale: 0.2...1.0)]
        if colour {
            steps.append(RandomApply(probability: 0.8, [ColorJitter(brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1)]))
            steps.append(RandomGrayscale(probability: 0.2))
        } else {
            steps.append(ColorJitter(brightness: 0.4, contrast: 0.4))
        }
        steps.append(RandomHorizontalFlip(probability: 0.5))
        steps.append(colour ? Normalize.imageNet : greyFolderNormalize)
        return AugmentationPipeline(name: "folder-invp-\(colour ? "rgb" : "grey")-\(size)", steps)
    }

    /// Evaluation on a folder: the shorter side resized to `size`, the centre `size`×`size` kept, normalization.
    public static func folderEval(colour: Bool, size: Int) -> AugmentationPipeline {
        AugmentationPipeline(name: "folder-eval-\(colour ? "rgb" : "grey")-\(size)", [
            Resize(shorterSide: size), CenterCrop(size: size), colour ? Normalize.imageNet : greyFolderNormalize,
        ])
    }

    /// ImageNet evaluation: Resize(256) (shorter side), CenterCrop(224), normalization.
    public static func imageNetEval() -> AugmentationPipeline {
        AugmentationPipeline(name: "imagenet-eval", [Resize(shorterSide: 256), CenterCrop(size: 224), Normalize.imageNet])
    }

    /// CIFAR-style linear-probe training: flip only, then normalization (SPEC "flip-only").
    public static func cifarLinearTrain() -> AugmentationPipeline {
        AugmentationPipeline(name: "cifar-linear", [RandomHorizontalFlip(probability: 0.5), Normalize.cifar])
    }

    /// ImageNet linear-probe training: RRC(224) with torchvision's default scale, flip, normalization.
    public static func imageNetLinearTrain() -> AugmentationPipeline {
        AugmentationPipeline(name: "imagenet-linear", [
            RandomResizedCrop(size: 224), RandomHorizontalFlip(probability: 0.5), Normalize.imageNet,
        ])
    }
}
