/// Colour operations on float images in [0, 1], following torchvision's tensor functions
/// (`_functional_tensor.py`): every blend is `clamp(r · img + (1 − r) · other, 0, 1)`.
public enum ColorOps {
    /// ITU-R 601-2 luma weights (PIL's `convert("L")`, which the reference's PIL pipeline uses).
    public static let lumaWeights: (r: Float, g: Float, b: Float) = (0.299, 0.587, 0.114)

    /// Brightness: `clamp(factor · img)` (blend with black).
    public static func adjustBrightness(_ image: inout FloatImage, factor: Float) {
        image.pixels.withUnsafeMutableBufferPointer { p in
            for i in 0..<p.count { p[i] = min(max(p[i] * factor, 0), 1) }
        }
    }

    /// Contrast: blend with the mean of the image's grayscale (one scalar over all pixels).
    public static func adjustContrast(_ image: inout FloatImage, factor: Float) {
        let mean = grayscaleMean(image)
        let offset = (1 - factor) * mean
        image.pixels.withUnsafeMutableBufferPointer { p in
            for i in 0..<p.count { p[i] = min(max(factor * p[i] + offset, 0), 1) }
        }
    }

    /// Saturation: blend each pixel with its grayscale value. Grey images are unchanged.
    public static func adjustSaturation(_ image: inout FloatImage, factor: Float) {
        guard image.channels == 3 else { return }
        let plane = image.height * image.width
        let (wr, wg, wb) = lumaWeights
        let keep = 1 - factor
        image.pixels.withUnsafeMutableBufferPointer { p in
            let r = p.baseAddress!, g = r + plane, b = g + plane
            for i in 0..<plane {
                let grey = keep * (wr * r[i] + wg * g[i] + wb * b[i])
                r[i] = min(max(factor * r[i] + grey, 0), 1)
                g[i] = min(max(factor * g[i] + grey, 0), 1)
                b[i] = min(max(factor * b[i] + grey, 0), 1)
            }
        }
    }

    /// Hue: RGB → HSV, `h = (h + shift) mod 1`, HSV → RGB, as torchvision's `_rgb2hsv` /
    /// `_hsv2rgb`; `shift` ∈ [−0.5, 0.5]. Grey images are unchanged.
    public static func adjustHue(_ image: inout FloatImage, shift: Float) {
        guard image.channels == 3 else { return }
        let plane = image.height * image.width
        image.pixels.withUnsafeMutableBufferPointer { p in
            let rp = p.baseAddress!, gp = rp + plane, bp = gp + plane
            for i in 0..<plane {
                let r = rp[i], g = gp[i], b = bp[i]
                let maxc = max(r, max(g, b)), minc = min(r, min(g, b))
                let equal = maxc == minc
                let range = maxc - minc
                let s = range / (equal ? 1 : maxc)
                let divisor: Float = equal ? 1 : range
                // Only the two normalised distances the hue formula needs for the max channel;
                // written as selects (not branches): on natural images the max channel is unpredictable.
                let rc = (maxc - r) / divisor, gc = (maxc - g) / divisor, bc = (maxc - b) / divisor
                let hR = bc - gc, hG = 2 + rc - bc, hB = 4 + gc - rc
                var h = maxc == r ? hR : (maxc == g ? hG : hB)
                // torch.fmod(h / 6 + 1, 1): the argument lies in [5/6, 2), so one exact subtraction.
                h = h / 6 + 1
                h = h >= 1 ? h - 1 : h
                // Then the shift with Python's floor-mod.
                // h + shift lies in (−1, 2), so floor is −1, 0 or 1: selects instead of a floorf call
                // (the baseline x86-64 target has no SSE4.1 round instruction).
                h += shift
                h = h < 0 ? h + 1 : (h >= 1 ? h - 1 : h)
                let v = maxc
                let h6 = h * 6
                let sectorFloor = Float(Int(h6))  // h6 ≥ 0: truncation is floor
                let f = h6 - sectorFloor
                let pv = min(max(v * (1 - s), 0), 1)
                let qv = min(max(v * (1 - s * f), 0), 1)
                let tv = min(max(v * (1 - s * (1 - f)), 0), 1)
                // torchvision's table: sector → (R, G, B) =
                // 0 (v,t,p) 1 (q,v,p) 2 (p,v,t) 3 (p,q,v) 4 (t,p,v) 5 (v,p,q).
                var sector = Int(sectorFloor)
                sector = sector >= 6 ? sector - 6 : sector
                rp[i] = sector == 0 || sector == 5 ? v : (sector == 1 ? qv : (sector == 4 ? tv : pv))
                gp[i] = sector == 1 || sector == 2 ? v : (sector == 0 ? tv : (sector == 3 ? qv : pv))
                bp[i] = sector == 3 || sector == 4 ? v : (sector == 2 ? tv : (sector == 5 ? qv : pv))
            }
        }
    }

    /// Grayscale with the channel count kept (every channel = luma). Grey images are unchanged.
    public static func grayscale(_ image: inout FloatImage) {
        guard image.channels == 3 else { return }
        let plane = image.height * image.width
        let (wr, wg, wb) = lumaWeights
        image.pixels.withUnsafeMutableBufferPointer { p in
            let r = p.baseAddress!, g = r + plane, b = g + plane
            for i in 0..<plane {
                let l = wr * r[i] + wg * g[i] + wb * b[i]
                r[i] = l; g[i] = l; b[i] = l
            }
        }
    }

    /// Mean over all pixels of the grayscale image (the image itself when grey); summed in Double.
    public static func grayscaleMean(_ image: FloatImage) -> Float {
        let plane = image.height * image.width
        guard plane > 0 else { return 0 }
        var sum = 0.0
        image.pixels.withUnsafeBufferPointer { p in
            if image.channels == 3 {
                let (wr, wg, wb) = lumaWeights
                let r = p.baseAddress!, g = r + plane, b = g + plane
                // Float partial sums per row keep it fast; Double across rows keeps it accurate.
                var i = 0
                while i < plane {
                    let end = min(i + 256, plane)
                    var partial: Float = 0
                    for j in i..<end { partial += wr * r[j] + wg * g[j] + wb * b[j] }
                    sum += Double(partial)
                    i = end
                }
            } else {
                for j in 0..<plane { sum += Double(p[j]) }
            }
        }
        return Float(sum / Double(plane))
    }
}

/// ColorJitter(brightness, contrast, saturation, hue): factors drawn as torchvision
/// (brightness/contrast/saturation ~ U[max(0, 1 − v), 1 + v], hue ~ U[−h, h]; a zero setting
/// disables that operation), applied in a random permutation order.
/// Grey images get brightness and contrast only.
public struct ColorJitter: ParametricAugmentation {
    /// One draw: the order (a permutation of 0 brightness, 1 contrast, 2 saturation, 3 hue)
    /// and the factors of the enabled operations.
    public struct Parameters: Sendable, Equatable {
        /// The order in which the four operations run.
        public var order: [Int]
        /// Brightness factor, nil when disabled.
        public var brightness: Float?
        /// Contrast factor, nil when disabled.
        public var contrast: Float?
        /// Saturation factor, nil when disabled.
        public var saturation: Float?
        /// Hue shift, nil when disabled.
        public var hue: Float?
    }

    /// Range of the brightness factor, nil when disabled.
    public var brightness: ClosedRange<Double>?
    /// Range of the contrast factor, nil when disabled.
    public var contrast: ClosedRange<Double>?
    /// Range of the saturation factor, nil when disabled.
    public var saturation: ClosedRange<Double>?
    /// Range of the hue shift, nil when disabled.
    public var hue: ClosedRange<Double>?

    /// torchvision's scalar form: `v` → [max(0, 1 − v), 1 + v]; hue `h` (≤ 0.5) → [−h, h].
    public init(brightness: Double = 0, contrast: Double = 0, saturation: Double = 0, hue: Double = 0) {
        precondition(brightness >= 0 && contrast >= 0 && saturation >= 0 && hue >= 0 && hue <= 0.5,
                     "ColorJitter: settings must be non-negative and hue at most 0.5")
        func factorRange(_ v: Double) -> ClosedRange<Double>? { v == 0 ? nil : max(0, 1 - v)...(1 + v) }
        self.brightness = factorRange(brightness)
        self.contrast = factorRange(contrast)
        self.saturation = factorRange(saturation)
        self.hue = hue == 0 ? nil : (-hue)...hue
    }

    /// torchvision `ColorJitter.get_params`: a permutation of 4, then each enabled factor in
    /// the order brightness, contrast, saturation, hue.
    public func sampleParameters(for image: FloatImage, rng: inout SeededGenerator) -> Parameters {
        let order = rng.permutation(4)
        func draw(_ range: ClosedRange<Double>?) -> Float? {
            guard let range else { return nil }
            return Float(rng.uniform(range.lowerBound, range.upperBound))
        }
        let b = draw(brightness), c = draw(contrast), s = draw(saturation), h = draw(hue)
        return Parameters(order: order, brightness: b, contrast: c, saturation: s, hue: h)
    }

    /// Runs the enabled operations in `parameters.order`.
    public func apply(_ parameters: Parameters, to image: inout FloatImage) {
        for op in parameters.order {
            switch op {
            case 0: if let f = parameters.brightness { ColorOps.adjustBrightness(&image, factor: f) }
            case 1: if let f = parameters.contrast { ColorOps.adjustContrast(&image, factor: f) }
            case 2: if let f = parameters.saturation { ColorOps.adjustSaturation(&image, factor: f) }
            default: if let f = parameters.hue { ColorOps.adjustHue(&image, shift: f) }
            }
        }
    }
}

/// RandomGrayscale(p): with probability `p`, replaces every channel by the luma
/// (channel count kept). Grey images are unchanged.
public struct RandomGrayscale: ParametricAugmentation {
    /// Probability of converting.
    public var probability: Double

    /// Converts with probability `probability` (torchvision default 0.1).
    public init(probability: Double = 0.1) { self.probability = probability }

    /// Whether to convert (one uniform per call).
    public func sampleParameters(for image: FloatImage, rng: inout SeededGenerator) -> Bool {
        rng.uniform() < probability
    }

    /// Converts when `convert`.
    public func apply(_ convert: Bool, to image: inout FloatImage) {
        if convert { ColorOps.grayscale(&image) }
    }
}
