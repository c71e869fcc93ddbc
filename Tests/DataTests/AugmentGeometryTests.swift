import Randomness
import Foundation
import Testing
@testable import Data

/// A 1-channel image from rows of values.
func greyImage(_ rows: [[Float]]) -> FloatImage {
    FloatImage(channels: 1, height: rows.count, width: rows[0].count, pixels: rows.flatMap { $0 })
}

/// A deterministic random image in [0, 1].
func randomImage(channels: Int = 3, height: Int, width: Int, seed: UInt64) -> FloatImage {
    var rng = SeededGenerator(seed: seed)
    return FloatImage(channels: channels, height: height, width: width,
                      pixels: (0..<(channels * height * width)).map { _ in Float(rng.uniform()) })
}

/// Largest elementwise |a − b|.
func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

@Suite("Geometry augmentations")
struct AugmentGeometryTests {
    @Test("ToTensor: HWC bytes become CHW floats / 255")
    func toTensor() {
        let u8 = ImageU8(height: 1, width: 2, channels: 3, pixels: [0, 51, 255, 102, 153, 204])
        let f = FloatImage(u8)
        #expect(f.pixels == [0, 102, 51, 153, 255, 204].map { Float($0) / 255 })
        #expect(f.toU8() == u8)
    }

    @Test("bilinear upsampling matches hand-computed align_corners=False values")
    func bilinearUpsample() {
        let row = Resampler.resize(greyImage([[0, 1]]), outHeight: 1, outWidth: 4)
        #expect(row.pixels == [0, 0.25, 0.75, 1])
        let square = Resampler.resize(greyImage([[0, 1], [2, 3]]), outHeight: 4, outWidth: 4)
        // Source coordinates per axis: −0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1).
        #expect(square[0, 0, 0] == 0)
        #expect(square[0, 0, 1] == 0.25)
        #expect(square[0, 1, 0] == 0.5)
        #expect(abs(square[0, 1, 1] - 0.75) < 1e-6)
        #expect(abs(square[0, 2, 2] - 2.25) < 1e-6)
        #expect(square[0, 3, 3] == 3)
    }

    @Test("downsampling is antialiased (triangle as wide as the scale), as torch antialias=True")
    func antialiasedDownsample() {
        let out = Resampler.resize(greyImage([[0, 1, 2, 3]]), outHeight: 1, outWidth: 2)
        // Output 0: centre 1, weights .75, .75, .25 on inputs 0, 1, 2 → 1.25 / 1.75.
        #expect(abs(out.pixels[0] - 1.25 / 1.75) < 1e-6)
        #expect(abs(out.pixels[1] - 4.0 / 1.75) < 1e-6)
        let constant = Resampler.resize(FloatImage(channels: 3, height: 37, width: 23, repeating: 0.4), outHeight: 11, outWidth: 5)
        #expect(constant.pixels.allSatisfy { abs($0 - 0.4) < 1e-6 })
    }

    @Test("RRC with scale 1 and ratio 1 on a square image is a resize; on the same size, identity")
    func rrcFullCrop() {
        let image = randomImage(height: 16, width: 16, seed: 5)
        var rng = SeededGenerator(seed: 6)
        let same = RandomResizedCrop(size: 16, scale: 1...1, ratio: 1...1)
        let box = same.sampleParameters(for: image, rng: &rng)
        #expect(box == .init(top: 0, left: 0, height: 16, width: 16))
        var copy = image
        same.apply(box, to: &copy)
        #expect(copy == image)
        var up = image
        RandomResizedCrop(size: 24, scale: 1...1, ratio: 1...1).apply(to: &up, rng: &rng)
        #expect(up == Resampler.resize(image, outHeight: 24, outWidth: 24))
    }

    @Test("RRC boxes: area fraction within scale, aspect within ratio, inside the image, over 20000 draws")
    func rrcDistribution() {
        let rrc = RandomResizedCrop(size: 224, scale: 0.2...1.0)
        let image = FloatImage(channels: 1, height: 224, width: 224, repeating: 0)
        var rng = SeededGenerator(seed: 7)
        var fallbacks = 0, outside = 0, badArea = 0, badRatio = 0
        var logRatioSum = 0.0, areaSum = 0.0
        let n = 20_000
        for _ in 0..<n {
            let p = rrc.sampleParameters(for: image, rng: &rng)
            if !(p.top >= 0 && p.left >= 0 && p.top + p.height <= 224 && p.left + p.width <= 224) { outside += 1 }
            if p.width == 224 && p.height == 224 { fallbacks += 1 }
            let area = Double(p.width * p.height) / (224.0 * 224.0)
            let ratio = Double(p.width) / Double(p.height)
            // Rounding w and h to integers moves area and ratio by under a pixel per side.
            if !(area >= 0.2 - 0.01 && area <= 1.0) { badArea += 1 }
            if !(ratio >= 3.0 / 4.0 - 0.02 && ratio <= 4.0 / 3.0 + 0.02) { badRatio += 1 }
            logRatioSum += log(ratio)
            areaSum += area
        }
        #expect(outside == 0 && badArea == 0 && badRatio == 0)
        #expect(abs(logRatioSum / Double(n)) < 0.01)  // the log-uniform ratio is symmetric about 1
        // Large areas with extreme ratios do not fit and are redrawn, so the mean is a little under 0.6.
        let meanArea = areaSum / Double(n)
        #expect(meanArea > 0.5 && meanArea < 0.62)
        #expect(fallbacks < n / 50)
    }

    @Test("RRC falls back to a central crop with the ratio clamped")
    func rrcFallback() {
        // A 10×100 strip: no box with ratio ≤ 4/3 and area ≥ 90 % fits, so every try fails.
        var rng = SeededGenerator(seed: 8)
        let ratio = (3.0 / 4)...(4.0 / 3)
        let p = RandomResizedCrop.sampleBox(height: 10, width: 100, scale: 0.9...1.0, ratio: ratio, rng: &rng)
        #expect(p == .init(top: 0, left: 43, height: 10, width: 13))  // w = round(10 · 4/3), left = (100 − 13) / 2
        let q = RandomResizedCrop.sampleBox(height: 100, width: 10, scale: 0.9...1.0, ratio: ratio, rng: &rng)
        #expect(q == .init(top: 43, left: 0, height: 13, width: 10))  // h = round(10 / (3/4))
    }

    @Test("flip twice is identity; flip mirrors columns; p = 0.5 flips about half")
    func flip() {
        let image = randomImage(height: 5, width: 7, seed: 9)
        var once = image
        RandomHorizontalFlip.flip(&once)
        #expect(once[1, 2, 0] == image[1, 2, 6])
        var twice = once
        RandomHorizontalFlip.flip(&twice)
        #expect(twice == image)
        var rng = SeededGenerator(seed: 10)
        let flips = (0..<10_000).filter { _ in RandomHorizontalFlip().sampleParameters(for: image, rng: &rng) }.count
        #expect(abs(flips - 5000) < 300)
    }

    @Test("Resize keeps the aspect with the shorter side given; CenterCrop takes the centre, pads when small")
    func resizeAndCenterCrop() {
        #expect(Resize(shorterSide: 256).outputSize(height: 300, width: 400) == (256, 341))
        #expect(Resize(shorterSide: 256).outputSize(height: 500, width: 375) == (341, 256))
        var rng = SeededGenerator(seed: 0)
        var image = randomImage(height: 300, width: 400, seed: 11)
        Resize(shorterSide: 256).apply(to: &image, rng: &rng)
        #expect(image.height == 256 && image.width == 341)
        let grid = greyImage((0..<5).map { y in (0..<5).map { x in Float(10 * y + x) } })
        var crop = grid
        CenterCrop(size: 3).apply(to: &crop)
        #expect(crop.pixels == [11, 12, 13, 21, 22, 23, 31, 32, 33])
        var padded = greyImage([[1, 2], [3, 4]])
        CenterCrop(size: 4).apply(to: &padded)
        #expect(padded.pixels == [0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 0])
    }

    @Test("normalize maps known values")
    func normalize() {
        var image = FloatImage(channels: 3, height: 1, width: 2, pixels: [0.5, 1, 0.2, 0.4, 0.3, 0.5])
        Normalize(mean: [0.5, 0.2, 0.3], std: [0.5, 0.1, 0.2]).apply(to: &image)
        #expect(maxAbsDifference(image.pixels, [0, 1, 0, 2, 0, 1]) < 1e-6)
    }

    @Test("blur: kernel normalised and symmetric; a constant stays constant; an impulse spreads as the kernel")
    func blur() {
        let k = GaussianBlur.kernel(size: 5, sigma: 1)
        #expect(abs(k.reduce(0, +) - 1) < 1e-6)
        #expect(k[0] == k[4] && k[1] == k[3] && k[2] > k[1])
        #expect(abs(k[1] / k[2] - Float(exp(-0.5))) < 1e-6)
        let blur = GaussianBlur(kernelSize: 23, sigma: 0.1...2.0)
        var constant = FloatImage(channels: 3, height: 9, width: 12, repeating: 0.7)  // smaller than the kernel: reflection wraps
        blur.apply(1.7, to: &constant)
        #expect(constant.pixels.allSatisfy { abs($0 - 0.7) < 1e-5 })
        var impulse = FloatImage(channels: 1, height: 11, width: 11, repeating: 0)
        impulse[0, 5, 5] = 1
        GaussianBlur(kernelSize: 5).apply(1, to: &impulse)
        #expect(abs(impulse[0, 5, 5] - k[2] * k[2]) < 1e-6)
        #expect(abs(impulse[0, 4, 6] - k[1] * k[1]) < 1e-6)
        #expect(abs(impulse.pixels.reduce(0, +) - 1) < 1e-5)
        #expect(GaussianBlur.reflect(-1, 5) == 1 && GaussianBlur.reflect(5, 5) == 3 && GaussianBlur.reflect(-7, 5) == 1)
        var rng = SeededGenerator(seed: 12)
        let sigmas = (0..<1000).map { _ in blur.sampleParameters(for: constant, rng: &rng) }
        #expect(sigmas.allSatisfy { $0 >= 0.1 && $0 <= 2.0 })
    }
}
