import Randomness
import Foundation

/// Separable resampling with PyTorch's `interpolate(mode="bilinear", align_corners=False,
/// antialias=True)` weights (the same as PIL's BILINEAR resize).
///
/// Along one axis, output pixel `i` has centre `c = (i + 0.5) · s` in input coordinates,
/// `s = inLength / outLength`. Input pixel `x` gets weight `tri((x + 0.5 − c) / max(s, 1))`,
/// `tri(t) = max(0, 1 − |t|)`, over the window the support allows, clipped to the input and
/// renormalised. For upsampling (`s ≤ 1`) this is exactly bilinear with align_corners=False and
/// edge clamping (source coordinate `c − 0.5`, clamped); for downsampling (`s > 1`) the triangle
/// widens to `s` input pixels, i.e. antialiased (torchvision's default `antialias=True`), so
/// shrinking never aliases.
public enum Resampler {
    /// Taps of one axis: output `i` reads `count[i]` inputs from `start[i]` with
    /// `weights[i * width ..< i * width + count[i]]`.
    public struct AxisTaps: Sendable, Equatable {
        /// First input index per output (absolute, i.e. including the crop offset).
        public var start: [Int]
        /// Number of inputs per output.
        public var count: [Int]
        /// Weights, `outLength × width`, each row summing to 1.
        public var weights: [Float]
        /// Row stride of `weights` (at least the largest count).
        public var width: Int
    }

    /// The taps mapping input span `offset ..< offset + inLength` onto `outLength` outputs.
    /// Flat arrays only (no per-output allocations): this runs for every crop.
    public static func taps(offset: Int, inLength: Int, outLength: Int) -> AxisTaps {
        precondition(inLength > 0 && outLength > 0, "Resampler: empty axis")
        let scale = Double(inLength) / Double(outLength)
        let filterScale = max(scale, 1)
        let support = filterScale  // triangle support 1, widened by the scale when shrinking
        // Widest possible window: ⌈2·support⌉ + 1 inputs.
        let width = Int((2 * support).rounded(.up)) + 1
        var starts = [Int](repeating: 0, count: outLength)
        var counts = [Int](repeating: 0, count: outLength)
        var weights = [Float](repeating: 0, count: outLength * width)
        var row = [Double](repeating: 0, count: width)
        for i in 0..<outLength {
            let center = (Double(i) + 0.5) * scale
            // Int(...) truncates toward zero, as the C++ int64_t casts in PyTorch/PIL do.
            let xmin = max(Int(center - support + 0.5), 0)
            let xmax = min(max(Int(center + support + 0.5), xmin + 1), inLength)
            var n = min(xmax - xmin, width)
            var total = 0.0
            for k in 0..<n {
                let t = (Double(xmin + k) + 0.5 - center) / filterScale
                row[k] = max(0, 1 - abs(t))
                total += row[k]
            }
            // Drop zero weights at both ends so upsampling reads exactly two (or one) pixels.
            var first = 0
            while n > 1, row[n - 1] == 0 { n -= 1 }
            while n - first > 1, row[first] == 0 { first += 1 }
            starts[i] = offset + xmin + first
            counts[i] = n - first
            for k in first..<n { weights[i * width + k - first] = Float(total > 0 ? row[k] / total : 1) }
        }
        return AxisTaps(start: starts, count: counts, weights: weights, width: width)
    }

    /// Crops box (`top`, `left`, `cropHeight`, `cropWidth`) of `image` and resizes it to
    /// `outHeight × outWidth` (torchvision `resized_crop`). Copies when no scaling is needed.
    public static func resizedCrop(_ image: FloatImage, top: Int, left: Int, cropHeight: Int, cropWidth: Int,
                                   outHeight: Int, outWidth: Int) -> FloatImage {
        precondition(top >= 0 && left >= 0 && top + cropHeight <= image.height && left + cropWidth <= image.width,
                     "Resampler: crop box outside the image")
        let c = image.channels, inH = image.height, inW = image.width
        var out = [Float](repeating: 0, count: c * outHeight * outWidth)
        if cropHeight == outHeight && cropWidth == outWidth {
            // Pure crop: the taps would be weight 1 on one pixel; copy rows instead.
            image.pixels.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    for ch in 0..<c {
                        for y in 0..<outHeight {
                            let s = src.baseAddress! + (ch * inH + top + y) * inW + left
                            let d = dst.baseAddress! + (ch * outHeight + y) * outWidth
                            d.update(from: s, count: outWidth)
                        }
                    }
                }
            }
            return FloatImage(channels: c, height: outHeight, width: outWidth, pixels: out)
        }
        let horizontal = taps(offset: left, inLength: cropWidth, outLength: outWidth)
        let vertical = taps(offset: top, inLength: cropHeight, outLength: outHeight)
        // tmp: [cropHeight, outWidth] for one channel after the horizontal pass.
        var tmp = [Float](repeating: 0, count: cropHeight * outWidth)
        image.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                tmp.withUnsafeMutableBufferPointer { tmpBuf in
                    horizontal.start.withUnsafeBufferPointer { hs in
                    horizontal.count.withUnsafeBufferPointer { hc in
                    horizontal.weights.withUnsafeBufferPointer { hw in
                    vertical.start.withUnsafeBufferPointer { vs in
                    vertical.count.withUnsafeBufferPointer { vc in
                    vertical.weights.withUnsafeBufferPointer { vw in
                        let t = tmpBuf.baseAddress!
                        let hWidth = horizontal.width, vWidth = vertical.width
                        for ch in 0..<c {
                            let plane = src.baseAddress! + ch * inH * inW
                            // Horizontal: rows top ..< top+cropHeight → tmp[y, x].
                            for y in 0..<cropHeight {
                                let row = plane + (top + y) * inW
                                let trow = t + y * outWidth
                                for x in 0..<outWidth {
                                    let s0 = hs[x], n = hc[x], wBase = x * hWidth
                                    var acc: Float = 0
                                    for k in 0..<n { acc += row[s0 + k] * hw[wBase + k] }
                                    trow[x] = acc
                                }
                            }
                            // Vertical: tmp rows (relative to top) → out[ch, y, x].
                            let outPlane = dst.baseAddress! + ch * outHeight * outWidth
                            for y in 0..<outHeight {
                                let s0 = vs[y] - top, n = vc[y], wBase = y * vWidth
                                let orow = outPlane + y * outWidth
                                let w0 = vw[wBase]
                                let r0 = t + s0 * outWidth
                                for x in 0..<outWidth { orow[x] = r0[x] * w0 }
                                if n > 1 {
                                    for k in 1..<n {
                                        let wk = vw[wBase + k]
                                        let rk = t + (s0 + k) * outWidth
                                        for x in 0..<outWidth { orow[x] += rk[x] * wk }
                                    }
                                }
                            }
                        }
                    }}}}}}
                }
            }
        }
        return FloatImage(channels: c, height: outHeight, width: outWidth, pixels: out)
    }

    /// Resizes the whole image to `outHeight × outWidth`.
    public static func resize(_ image: FloatImage, outHeight: Int, outWidth: Int) -> FloatImage {
        resizedCrop(image, top: 0, left: 0, cropHeight: image.height, cropWidth: image.width,
                    outHeight: outHeight, outWidth: outWidth)
    }
}

/// Python's `round` (half to even), which torchvision's parameter code uses.
@inline(__always)
func pythonRound(_ x: Double) -> Int { Int(x.rounded(.toNearestOrEven)) }

/// RandomResizedCrop(size, scale, ratio) with torchvision's `get_params`: up to 10 tries of
/// area fraction ~ U(scale) and log-aspect ~ U(log ratio); a box that fits is placed uniformly;
/// otherwise a central crop with the aspect ratio clamped into `ratio`. Then bilinear resize.
public struct RandomResizedCrop: ParametricAugmentation {
    /// The crop box in input pixels: rows `top ..< top+height`, columns `left ..< left+width`.
    public struct Parameters: Sendable, Equatable {
        /// First row.
        public var top: Int
        /// First column.
        public var left: Int
        /// Rows.
        public var height: Int
        /// Columns.
        public var width: Int
    }

    /// Output rows.
    public var outHeight: Int
    /// Output columns.
    public var outWidth: Int
    /// Bounds of the crop's area as a fraction of the image area.
    public var scale: ClosedRange<Double>
    /// Bounds of the crop's aspect ratio width / height.
    public var ratio: ClosedRange<Double>

    /// A square output of side `size`; torchvision's defaults scale 0.08–1, ratio 3/4–4/3.
    public init(size: Int, scale: ClosedRange<Double> = 0.08...1.0, ratio: ClosedRange<Double> = (3.0 / 4.0)...(4.0 / 3.0)) {
        self.init(height: size, width: size, scale: scale, ratio: ratio)
    }

    /// An `height × width` output.
    public init(height: Int, width: Int, scale: ClosedRange<Double> = 0.08...1.0, ratio: ClosedRange<Double> = (3.0 / 4.0)...(4.0 / 3.0)) {
        self.outHeight = height
        self.outWidth = width
        self.scale = scale
        self.ratio = ratio
    }

    /// torchvision `RandomResizedCrop.get_params` for an image of this shape.
    public func sampleParameters(for image: FloatImage, rng: inout SeededGenerator) -> Parameters {
        Self.sampleBox(height: image.height, width: image.width, scale: scale, ratio: ratio, rng: &rng)
    }

    /// The box sampler on a bare shape.
    public static func sampleBox(height: Int, width: Int, scale: ClosedRange<Double>, ratio: ClosedRange<Double>,
                                 rng: inout SeededGenerator) -> Parameters {
        let area = Double(height * width)
        let logLow = log(ratio.lowerBound), logHigh = log(ratio.upperBound)
        for _ in 0..<10 {
            let targetArea = area * rng.uniform(scale.lowerBound, scale.upperBound)
            let aspect = exp(rng.uniform(logLow, logHigh))
            let w = pythonRound((targetArea * aspect).squareRoot())
            let h = pythonRound((targetArea / aspect).squareRoot())
            if w > 0 && w <= width && h > 0 && h <= height {
                let top = rng.int(in: 0..<(height - h + 1))
                let left = rng.int(in: 0..<(width - w + 1))
                return Parameters(top: top, left: left, height: h, width: w)
            }
        }
        // Fallback: central crop, aspect ratio clamped into `ratio`.
        let inRatio = Double(width) / Double(height)
        var w = width, h = height
        if inRatio < ratio.lowerBound {
            h = pythonRound(Double(w) / ratio.lowerBound)
        } else if inRatio > ratio.upperBound {
            w = pythonRound(Double(h) * ratio.upperBound)
        }
        return Parameters(top: (height - h) / 2, left: (width - w) / 2, height: h, width: w)
    }

    /// Crops the box and resizes it to the output size.
    public func apply(_ parameters: Parameters, to image: inout FloatImage) {
        image = Resampler.resizedCrop(image, top: parameters.top, left: parameters.left,
                                      cropHeight: parameters.height, cropWidth: parameters.width,
                                      outHeight: outHeight, outWidth: outWidth)
    }
}

/// Resize: with one size, the shorter side becomes `size` and the longer side
/// `Int(size · long / short)` (torchvision truncates); with two, the exact `height × width`.
public struct Resize: ImageAugmentation {
    /// Target shorter side, or nil when `exact` is set.
    public var shorterSide: Int?
    /// Exact output (height, width), or nil when `shorterSide` is set.
    public var exact: (height: Int, width: Int)?

    /// Shorter side to `size`, aspect kept.
    public init(shorterSide size: Int) { shorterSide = size; exact = nil }

    /// Exactly `height × width`.
    public init(height: Int, width: Int) { shorterSide = nil; exact = (height, width) }

    /// The output shape for an input of this shape.
    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        if let exact { return exact }
        let size = shorterSide ?? height
        if width <= height {
            return (Int(Double(size) * Double(height) / Double(width)), size)
        }
        return (size, Int(Double(size) * Double(width) / Double(height)))
    }

    /// Resizes (bilinear, antialiased when shrinking); a no-op when the size already matches.
    public func apply(to image: inout FloatImage, rng: inout SeededGenerator) {
        let size = outputSize(height: image.height, width: image.width)
        if size.height == image.height && size.width == image.width { return }
        image = Resampler.resize(image, outHeight: size.height, outWidth: size.width)
    }
}

/// CenterCrop: the central `height × width` box, top/left rounded as torchvision
/// (`round((H − h) / 2)`); an image smaller than the crop is zero-padded first, as torchvision does.
public struct CenterCrop: ImageAugmentation {
    /// Output rows.
    public var height: Int
    /// Output columns.
    public var width: Int

    /// A square crop of side `size`.
    public init(size: Int) { height = size; width = size }

    /// A `height × width` crop.
    public init(height: Int, width: Int) { self.height = height; self.width = width }

    /// Crops the centre (deterministic; `rng` is unused).
    public func apply(to image: inout FloatImage, rng: inout SeededGenerator) {
        apply(to: &image)
    }

    /// Crops the centre.
    public func apply(to image: inout FloatImage) {
        if image.height < height || image.width < width {
            // torchvision pads left/top by (crop − size) // 2 and right/bottom by (crop − size + 1) // 2.
            let padTop = image.height < height ? (height - image.height) / 2 : 0
            let padLeft = image.width < width ? (width - image.width) / 2 : 0
            let newH = max(image.height, height), newW = max(image.width, width)
            var padded = FloatImage(channels: image.channels, height: newH, width: newW, repeating: 0)
            for ch in 0..<image.channels {
                for y in 0..<image.height {
                    for x in 0..<image.width { padded[ch, y + padTop, x + padLeft] = image[ch, y, x] }
                }
            }
            image = padded
        }
        let top = pythonRound(Double(image.height - height) / 2)
        let left = pythonRound(Double(image.width - width) / 2)
        image = Resampler.resizedCrop(image, top: top, left: left, cropHeight: height, cropWidth: width,
                                      outHeight: height, outWidth: width)
    }
}

/// RandomHorizontalFlip(p): mirrors columns with probability `p` (one uniform per call).
public struct RandomHorizontalFlip: ParametricAugmentation {
    /// Probability of flipping.
    public var probability: Double

    /// Flips with probability `probability` (torchvision default 0.5).
    public init(probability: Double = 0.5) { self.probability = probability }

    /// Whether to flip.
    public func sampleParameters(for image: FloatImage, rng: inout SeededGenerator) -> Bool {
        rng.uniform() < probability
    }

    /// Mirrors left-right when `flip`.
    public func apply(_ flip: Bool, to image: inout FloatImage) {
        if flip { Self.flip(&image) }
    }

    /// Mirrors every row in place.
    public static func flip(_ image: inout FloatImage) {
        let rows = image.channels * image.height, w = image.width
        image.pixels.withUnsafeMutableBufferPointer { p in
            for r in 0..<rows {
                var i = r * w, j = i + w - 1
                while i < j { p.swapAt(i, j); i += 1; j -= 1 }
            }
        }
    }
}
