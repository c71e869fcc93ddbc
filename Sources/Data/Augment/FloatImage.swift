/// A float image for augmentation: `channels × height × width` (CHW, planar) Floats, normally
/// in [0, 1] (after `Normalize`, any real). 1 (grey) or 3 (RGB) channels.
public struct FloatImage: Equatable, Sendable {
    /// 1 (grey) or 3 (RGB).
    public var channels: Int
    /// Rows.
    public var height: Int
    /// Columns.
    public var width: Int
    /// `channels * height * width` values, CHW order: pixel (c, y, x) is at `(c * height + y) * width + x`.
    public var pixels: [Float]

    /// Wraps pixels; the count must equal `channels * height * width`.
    public init(channels: Int, height: Int, width: Int, pixels: [Float]) {
        precondition(pixels.count == channels * height * width, "FloatImage: pixel count does not match shape")
        self.channels = channels
        self.height = height
        self.width = width
        self.pixels = pixels
    }

    /// An image filled with `value`.
    public init(channels: Int, height: Int, width: Int, repeating value: Float) {
        self.init(channels: channels, height: height, width: width,
                  pixels: [Float](repeating: value, count: channels * height * width))
    }

    /// ToTensor: bytes HWC → Floats CHW divided by 255 (exactly `img.float() / 255` per value).
    public init(_ image: ImageU8) {
        let c = image.channels, h = image.height, w = image.width
        let plane = h * w
        var out = [Float](repeating: 0, count: c * plane)
        image.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                FloatImage.byteToUnit.withUnsafeBufferPointer { lut in
                    if c == 1 {
                        for i in 0..<plane { dst[i] = lut[Int(src[i])] }
                    } else if c == 3 {
                        // De-interleave: src [H, W, 3] → dst [3, H, W].
                        let r = dst.baseAddress!, g = r + plane, b = g + plane
                        for i in 0..<plane {
                            r[i] = lut[Int(src[3 * i])]
                            g[i] = lut[Int(src[3 * i + 1])]
                            b[i] = lut[Int(src[3 * i + 2])]
                        }
                    } else {
                        for i in 0..<plane {
                            for ch in 0..<c { dst[ch * plane + i] = lut[Int(src[i * c + ch])] }
                        }
                    }
                }
            }
        }
        self.init(channels: c, height: h, width: w, pixels: out)
    }

    /// The value at channel `c`, row `y`, column `x`.
    @inlinable
    public subscript(c: Int, y: Int, x: Int) -> Float {
        get { pixels[(c * height + y) * width + x] }
        set { pixels[(c * height + y) * width + x] = newValue }
    }

    /// Number of values, `channels * height * width`.
    public var count: Int { pixels.count }

    /// Back to bytes (HWC), clamped to [0, 1] and rounded to nearest: for previews and tests.
    public func toU8() -> ImageU8 {
        let plane = height * width
        var out = [UInt8](repeating: 0, count: pixels.count)
        for i in 0..<plane {
            for ch in 0..<channels {
                let v = min(max(pixels[ch * plane + i], 0), 1) * 255
                out[i * channels + ch] = UInt8(v.rounded(.toNearestOrEven))
            }
        }
        return ImageU8(height: height, width: width, channels: channels, pixels: out)
    }

    /// b / 255 for every byte b: a lookup avoids a division per value.
    static let byteToUnit: [Float] = (0..<256).map { Float($0) / 255 }
}
