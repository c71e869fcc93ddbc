import Randomness
import Testing
@testable import Data

@Suite("Colour augmentations")
struct AugmentColorTests {
    /// A 2×2 RGB image with distinct colours: red, a mid orange, grey, near-white blue.
    let image = FloatImage(channels: 3, height: 2, width: 2, pixels: [
        1.0, 0.8, 0.5, 0.3,  // R plane
        0.0, 0.4, 0.5, 0.6,  // G plane
        0.0, 0.1, 0.5, 0.9,  // B plane
    ])

    func luma(_ img: FloatImage, _ i: Int) -> Float {
        let plane = img.height * img.width
        return 0.299 * img.pixels[i] + 0.587 * img.pixels[plane + i] + 0.114 * img.pixels[2 * plane + i]
    }

    @Test("brightness 1 is identity; brightness 0.5 halves; large factors clamp to 1")
    func brightness() {
        var same = image
        ColorOps.adjustBrightness(&same, factor: 1)
        #expect(same == image)
        var half = image
        ColorOps.adjustBrightness(&half, factor: 0.5)
        #expect(half.pixels == image.pixels.map { $0 * 0.5 })
        var bright = image
        ColorOps.adjustBrightness(&bright, factor: 3)
        #expect(bright.pixels.allSatisfy { $0 <= 1 })
        #expect(bright[0, 0, 0] == 1)
    }

    @Test("contrast 0 gives the mean grey everywhere; contrast 1 is identity")
    func contrast() {
        let mean = (0..<4).map { luma(image, $0) }.reduce(0, +) / 4
        #expect(abs(ColorOps.grayscaleMean(image) - mean) < 1e-6)
        var flat = image
        ColorOps.adjustContrast(&flat, factor: 0)
        #expect(flat.pixels.allSatisfy { abs($0 - mean) < 1e-6 })
        var same = image
        ColorOps.adjustContrast(&same, factor: 1)
        #expect(maxAbsDifference(same.pixels, image.pixels) < 1e-7)
        // Grey images blend with their own mean.
        var grey = greyImage([[0.2, 0.4], [0.6, 0.8]])
        ColorOps.adjustContrast(&grey, factor: 0.5)
        #expect(maxAbsDifference(grey.pixels, [0.35, 0.45, 0.55, 0.65]) < 1e-6)
    }

    @Test("saturation 0 gives equal channels equal to the luma; saturation 1 is identity")
    func saturation() {
        var grey = image
        ColorOps.adjustSaturation(&grey, factor: 0)
        for i in 0..<4 {
            let l = luma(image, i)
            #expect(abs(grey.pixels[i] - l) < 1e-6 && abs(grey.pixels[4 + i] - l) < 1e-6 && abs(grey.pixels[8 + i] - l) < 1e-6)
        }
        var same = image
        ColorOps.adjustSaturation(&same, factor: 1)
        #expect(maxAbsDifference(same.pixels, image.pixels) < 1e-7)
    }

    @Test("hue 0 is identity; shifts rotate primaries; grey pixels are unchanged")
    func hue() {
        var same = image
        ColorOps.adjustHue(&same, shift: 0)
        #expect(maxAbsDifference(same.pixels, image.pixels) < 1e-6)
        var random = randomImage(height: 8, width: 8, seed: 13)
        let original = random
        ColorOps.adjustHue(&random, shift: 0)
        #expect(maxAbsDifference(random.pixels, original.pixels) < 1e-6)
        // Red shifted by 1/3 of the circle is green, by 1/2 is cyan, by −1/3 is blue.
        func shifted(_ rgb: [Float], _ shift: Float) -> [Float] {
            var px = FloatImage(channels: 3, height: 1, width: 1, pixels: rgb)
            ColorOps.adjustHue(&px, shift: shift)
            return px.pixels
        }
        #expect(maxAbsDifference(shifted([1, 0, 0], 1.0 / 3), [0, 1, 0]) < 1e-6)
        #expect(maxAbsDifference(shifted([1, 0, 0], 0.5), [0, 1, 1]) < 1e-6)
        #expect(maxAbsDifference(shifted([1, 0, 0], -1.0 / 3), [0, 0, 1]) < 1e-6)
        #expect(maxAbsDifference(shifted([0.5, 0.5, 0.5], 0.3), [0.5, 0.5, 0.5]) < 1e-6)
        // A hue shift keeps V (max) and S: orange (0.8, 0.4, 0.1) by 0.5 → (0.1, 0.5, 0.8).
        #expect(maxAbsDifference(shifted([0.8, 0.4, 0.1], 0.5), [0.1, 0.5, 0.8]) < 1e-6)
    }

    @Test("grayscale: equal channels with ITU-R 601-2 luma; grey images unchanged")
    func grayscale() {
        var grey = image
        ColorOps.grayscale(&grey)
        for i in 0..<4 {
            #expect(grey.pixels[i] == grey.pixels[4 + i] && grey.pixels[i] == grey.pixels[8 + i])
            #expect(abs(grey.pixels[i] - luma(image, i)) < 1e-6)
        }
        #expect(abs(grey.pixels[0] - 0.299) < 1e-6)
        var rng = SeededGenerator(seed: 14)
        let chosen = (0..<10_000).filter { _ in RandomGrayscale(probability: 0.2).sampleParameters(for: image, rng: &rng) }.count
        #expect(abs(chosen - 2000) < 200)
        var single = greyImage([[0.1, 0.9]])
        RandomGrayscale(probability: 1).apply(to: &single, rng: &rng)
        #expect(single.pixels == [0.1, 0.9])
    }

    @Test("jitter factors: ranges and means as torchvision; all 24 orders; zero settings disable")
    func jitterParameters() {
        let jitter = ColorJitter(brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.4)
        #expect(jitter.brightness == 0.6...1.4 && jitter.hue == -0.4...0.4)
        #expect(ColorJitter(brightness: 1.5).brightness == 0...2.5)
        var rng = SeededGenerator(seed: 15)
        var sums = [Double](repeating: 0, count: 4)
        var orders = Set<[Int]>()
        var outside = 0
        let n = 20_000
        for _ in 0..<n {
            let p = jitter.sampleParameters(for: image, rng: &rng)
            guard let b = p.brightness, let c = p.contrast, let s = p.saturation, let h = p.hue else { outside += 1; continue }
            for f in [b, c, s] where !(f >= 0.6 && f <= 1.4) { outside += 1 }
            if !(h >= -0.4 && h <= 0.4) { outside += 1 }
            sums[0] += Double(b); sums[1] += Double(c); sums[2] += Double(s); sums[3] += Double(h)
            orders.insert(p.order)
        }
        #expect(outside == 0)
        for k in 0..<3 { #expect(abs(sums[k] / Double(n) - 1) < 0.01) }
        #expect(abs(sums[3] / Double(n)) < 0.01)
        #expect(orders.count == 24)
        let partial = ColorJitter(brightness: 0.4, contrast: 0.4).sampleParameters(for: image, rng: &rng)
        #expect(partial.saturation == nil && partial.hue == nil && partial.brightness != nil)
    }

    @Test("jitter applies in the drawn order; grey images get brightness and contrast only")
    func jitterApply() {
        let jitter = ColorJitter(brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.4)
        let p = ColorJitter.Parameters(order: [3, 2, 1, 0], brightness: 1.2, contrast: 0.8, saturation: 0.5, hue: 0.1)
        var viaJitter = image
        jitter.apply(p, to: &viaJitter)
        var manual = image
        ColorOps.adjustHue(&manual, shift: 0.1)
        ColorOps.adjustSaturation(&manual, factor: 0.5)
        ColorOps.adjustContrast(&manual, factor: 0.8)
        ColorOps.adjustBrightness(&manual, factor: 1.2)
        #expect(viaJitter == manual)
        let grey = greyImage([[0.2, 0.4], [0.6, 0.8]])
        var viaJitterGrey = grey
        jitter.apply(p, to: &viaJitterGrey)
        var manualGrey = grey
        ColorOps.adjustContrast(&manualGrey, factor: 0.8)
        ColorOps.adjustBrightness(&manualGrey, factor: 1.2)
        #expect(viaJitterGrey == manualGrey)
        // Sample-then-apply equals apply(to:rng:) with the same generator.
        var r1 = SeededGenerator(seed: 16), r2 = SeededGenerator(seed: 16)
        var a = image, b = image
        jitter.apply(to: &a, rng: &r1)
        jitter.apply(jitter.sampleParameters(for: b, rng: &r2), to: &b)
        #expect(a == b)
        #expect(a.pixels.allSatisfy { $0 >= 0 && $0 <= 1 })
    }
}
