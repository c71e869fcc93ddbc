import Randomness
import Testing
@testable import Data

@Suite("Augmentation presets")
struct AugmentPresetTests {
    @Test("every preset name resolves; unknown names throw with the list")
    func lookup() throws {
        // Folder presets are named with their size S: check them at one.
        for name in AugmentationPresets.names.map({ $0.hasSuffix("-S") ? $0.dropLast() + "48" : $0 }) {
            #expect(try AugmentationPresets.pipeline(named: name).name == name)
        }
        #expect(throws: DataError.self) { try AugmentationPresets.pipeline(named: "folder-invp-rgb-4") }
        #expect(try AugmentationPresets.pipeline(named: "svhn-invp").name == "cifar-invp")
        #expect(throws: DataError.self) { try AugmentationPresets.pipeline(named: "nope") }
    }

    @Test("preset output shapes and normalisation")
    func shapes() throws {
        var rng = SeededGenerator(seed: 20)
        let cifar = try SyntheticImageDataset(count: 1).image(at: 0)
        #expect(AugmentationPresets.cifarInvP()(cifar, rng: &rng).pixels.count == 3 * 32 * 32)
        // Eval is normalise-only: pixel (0,0,0) = (v/255 − 0.4914) / 0.2023.
        let eval = try AugmentationPresets.pipeline(named: "cifar-eval")(cifar, rng: &rng)
        #expect(abs(eval.pixels[0] - (Float(cifar.pixels[0]) / 255 - 0.4914) / 0.2023) < 1e-5)
        let big = try SyntheticImageDataset(count: 1, height: 300, width: 400).image(at: 0)
        for name in ["imagenet-invp", "imagenet-invp-noblur", "imagenet-eval", "imagenet-linear"] {
            let out = try AugmentationPresets.pipeline(named: name)(big, rng: &rng)
            #expect(out.channels == 3 && out.height == 224 && out.width == 224)
        }
        let fashion = try SyntheticImageDataset(count: 1, height: 28, width: 28, channels: 1).image(at: 0)
        for name in ["fashion-mnist-invp", "fashion-mnist-invp-flip", "fashion-mnist-eval", "fashion-mnist-linear"] {
            let out = try AugmentationPresets.pipeline(named: name)(fashion, rng: &rng)
            #expect(out.channels == 1 && out.height == 28 && out.width == 28)
        }
    }

    @Test("replacingCropScale changes only the crops' lower scale bound, and the boxes follow it")
    func cropScaleOverride() throws {
        let base = AugmentationPresets.fashionMNISTInvP(flip: true)
        let milder = base.replacingCropScale(minimum: 0.6)
        #expect(milder.steps.count == base.steps.count)
        let crops = milder.steps.compactMap { $0 as? RandomResizedCrop }
        #expect(crops.count == 1 && crops[0].scale == 0.6...1.0)
        #expect(zip(base.steps, milder.steps).filter { type(of: $0.0) != type(of: $0.1) }.isEmpty)
        // Every sampled box covers at least 60 % of a 28 × 28 image (torchvision's fallback,
        // the whole image, also does).
        var rng = SeededGenerator(seed: 4)
        for _ in 0..<2000 {
            let box = RandomResizedCrop.sampleBox(height: 28, width: 28, scale: crops[0].scale, ratio: crops[0].ratio, rng: &rng)
            #expect(Double(box.height * box.width) >= 0.6 * 784 - 2 * 28, "box \(box)")
        }
        // A bound above the preset's upper bound collapses the range instead of inverting it.
        let full = base.replacingCropScale(minimum: 1).steps.compactMap { $0 as? RandomResizedCrop }
        #expect(full[0].scale == 1.0...1.0)
    }

    @Test("RandomApply with p = 0 never applies, with p = 1 always")
    func randomApply() {
        var rng = SeededGenerator(seed: 21)
        let image = randomImage(height: 4, width: 4, seed: 22)
        var never = image
        RandomApply(probability: 0, [ColorJitter(brightness: 0.9)]).apply(to: &never, rng: &rng)
        #expect(never == image)
        var always = image
        RandomApply(probability: 1, [RandomGrayscale(probability: 1)]).apply(to: &always, rng: &rng)
        #expect(always.pixels[0] == always.pixels[16])
    }
}
