import Foundation
import Testing
@testable import Data

/// Plain, unoptimised ports of torchvision's formulas (in Double), to check the fast kernels.
enum Reference {
    /// `_rgb2hsv`, `h = (h + shift) % 1`, `_hsv2rgb` for one pixel.
    static func hueShift(_ r: Double, _ g: Double, _ b: Double, _ shift: Double) -> [Double] {
        let maxc = max(r, g, b), minc = min(r, g, b)
        let eq = maxc == minc
        let cr = maxc - minc
        let s = cr / (eq ? 1 : maxc)
        let d = eq ? 1 : cr
        let rc = (maxc - r) / d, gc = (maxc - g) / d, bc = (maxc - b) / d
        let hr = maxc == r ? bc - gc : 0
        let hg = (maxc == g && maxc != r) ? 2 + rc - bc : 0
        let hb = (maxc != g && maxc != r) ? 4 + gc - rc : 0
        var h = fmod((hr + hg + hb) / 6 + 1, 1)
        h = h + shift
        h = h - floor(h)
        let i = floor(h * 6), f = h * 6 - i
        let p = min(max(maxc * (1 - s), 0), 1)
        let q = min(max(maxc * (1 - s * f), 0), 1)
        let t = min(max(maxc * (1 - s * (1 - f)), 0), 1)
        let v = maxc
        let table: [[Double]] = [[v, t, p], [q, v, p], [p, v, t], [p, q, v], [t, p, v], [v, p, q]]
        return table[Int(i) % 6]
    }

    /// torch `interpolate(bilinear, align_corners=False)` for upsampling, one channel.
    static func bilinear(_ img: FloatImage, outHeight: Int, outWidth: Int) -> [Float] {
        func source(_ i: Int, _ inSize: Int, _ outSize: Int) -> (Int, Int, Double) {
            let src = max(0, (Double(i) + 0.5) * Double(inSize) / Double(outSize) - 0.5)
            let x0 = min(Int(src), inSize - 1)
            return (x0, min(x0 + 1, inSize - 1), src - Double(x0))
        }
        var out: [Float] = []
        for c in 0..<img.channels {
            for y in 0..<outHeight {
                let (y0, y1, ly) = source(y, img.height, outHeight)
                for x in 0..<outWidth {
                    let (x0, x1, lx) = source(x, img.width, outWidth)
                    let top = Double(img[c, y0, x0]) * (1 - lx) + Double(img[c, y0, x1]) * lx
                    let bottom = Double(img[c, y1, x0]) * (1 - lx) + Double(img[c, y1, x1]) * lx
                    out.append(Float(top * (1 - ly) + bottom * ly))
                }
            }
        }
        return out
    }
}

@Suite("Fast kernels against plain references")
struct AugmentReferenceTests {
    @Test("hue shift matches torchvision's rgb→hsv→rgb on random pixels", arguments: [-0.5, -0.37, -0.1, 0.0, 0.05, 0.25, 0.4, 0.5])
    func hue(shift: Double) {
        var image = randomImage(height: 16, width: 16, seed: 30)
        // Include exact greys and ties between channels, where the formula's masks matter.
        for i in 0..<8 { image.pixels[i] = 0.5; image.pixels[256 + i] = 0.5; image.pixels[512 + i] = i < 4 ? 0.5 : 0.25 }
        let original = image
        ColorOps.adjustHue(&image, shift: Float(shift))
        var worst = 0.0
        for i in 0..<256 {
            let expected = Reference.hueShift(Double(original.pixels[i]), Double(original.pixels[256 + i]),
                                              Double(original.pixels[512 + i]), shift)
            for c in 0..<3 { worst = max(worst, abs(Double(image.pixels[c * 256 + i]) - expected[c])) }
        }
        #expect(worst < 1e-5)
    }

    @Test("upsampling crop+resize matches torch bilinear (align_corners=False)",
          arguments: [(5, 7, 32, 32), (13, 9, 32, 32), (32, 32, 57, 40), (1, 3, 4, 8)])
    func bilinear(inH: Int, inW: Int, outH: Int, outW: Int) {
        let image = randomImage(height: inH, width: inW, seed: 31)
        let fast = Resampler.resize(image, outHeight: outH, outWidth: outW)
        #expect(maxAbsDifference(fast.pixels, Reference.bilinear(image, outHeight: outH, outWidth: outW)) < 1e-5)
        // A crop box is resampled within the box: same as cropping first.
        let big = randomImage(height: inH + 5, width: inW + 4, seed: 32)
        var cropped = FloatImage(channels: 3, height: inH, width: inW, repeating: 0)
        for c in 0..<3 { for y in 0..<inH { for x in 0..<inW { cropped[c, y, x] = big[c, y + 3, x + 2] } } }
        let viaBox = Resampler.resizedCrop(big, top: 3, left: 2, cropHeight: inH, cropWidth: inW, outHeight: outH, outWidth: outW)
        #expect(maxAbsDifference(viaBox.pixels, Resampler.resize(cropped, outHeight: outH, outWidth: outW).pixels) < 1e-6)
    }
}
