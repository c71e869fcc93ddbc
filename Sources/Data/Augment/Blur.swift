import Randomness
import Foundation

/// GaussianBlur(kernel_size, sigma): σ ~ U[sigma] per call; an odd `kernelSize`-tap Gaussian
/// (torchvision's `_get_gaussian_kernel1d`: taps at −(k−1)/2 … (k−1)/2, normalised) applied
/// along rows then columns with reflect padding (mirror without repeating the edge pixel).
public struct GaussianBlur: ParametricAugmentation {
    /// Taps of the kernel (odd).
    public var kernelSize: Int
    /// Range σ is drawn from.
    public var sigma: ClosedRange<Double>

    /// A blur with `kernelSize` taps (odd, positive) and σ ~ U[sigma].
    public init(kernelSize: Int, sigma: ClosedRange<Double> = 0.1...2.0) {
        precondition(kernelSize > 0 && kernelSize % 2 == 1, "GaussianBlur: kernel size must be odd and positive")
        precondition(sigma.lowerBound > 0, "GaussianBlur: sigma must be positive")
        self.kernelSize = kernelSize
        self.sigma = sigma
    }

    /// σ for this call.
    public func sampleParameters(for image: FloatImage, rng: inout SeededGenerator) -> Float {
        Float(rng.uniform(sigma.lowerBound, sigma.upperBound))
    }

    /// The normalised 1-D kernel for `sigma`.
    public static func kernel(size: Int, sigma: Float) -> [Float] {
        let half = Float(size - 1) * 0.5
        var taps = (0..<size).map { i -> Float in
            let x = (-half + Float(i)) / sigma
            return Foundation.exp(-0.5 * x * x)
        }
        let total = taps.reduce(0, +)
        for i in taps.indices { taps[i] /= total }
        return taps
    }

    /// Index of padded position `i` (may be outside 0..<n) under reflect padding.
    static func reflect(_ i: Int, _ n: Int) -> Int {
        if n == 1 { return 0 }
        let period = 2 * (n - 1)
        var j = i % period
        if j < 0 { j += period }
        return j < n ? j : period - j
    }

    /// Blurs with σ = `sigma`.
    public func apply(_ sigma: Float, to image: inout FloatImage) {
        let k = kernelSize, half = k / 2
        let taps = Self.kernel(size: k, sigma: sigma)
        let h = image.height, w = image.width, c = image.channels
        // Reflected source indices for each padded column / row: [w + 2·half], [h + 2·half].
        let colIndex = (0..<(w + 2 * half)).map { Self.reflect($0 - half, w) }
        let rowIndex = (0..<(h + 2 * half)).map { Self.reflect($0 - half, h) }
        var padded = [Float](repeating: 0, count: w + 2 * half)  // one row, padded
        var tmp = [Float](repeating: 0, count: h * w)  // one channel after the row pass
        taps.withUnsafeBufferPointer { kt in
        colIndex.withUnsafeBufferPointer { ci in
        rowIndex.withUnsafeBufferPointer { ri in
        padded.withUnsafeMutableBufferPointer { pad in
        tmp.withUnsafeMutableBufferPointer { t in
        image.pixels.withUnsafeMutableBufferPointer { px in
            for ch in 0..<c {
                let plane = px.baseAddress! + ch * h * w
                // Rows: tmp[y, x] = Σ_k kt[k] · row[reflect(x + k − half)].
                for y in 0..<h {
                    let row = plane + y * w
                    for j in 0..<(w + 2 * half) { pad[j] = row[ci[j]] }
                    // Tap-outer, pixel-inner: the inner loop is a contiguous axpy, which vectorises
                    // (a per-pixel dot product would be a serial float reduction).
                    let trow = t.baseAddress! + y * w
                    for x in 0..<w { trow[x] = 0 }
                    for q in 0..<k {
                        let wq = kt[q]
                        let shifted = pad.baseAddress! + q
                        for x in 0..<w { trow[x] += wq * shifted[x] }
                    }
                }
                // Columns: plane[y, x] = Σ_k kt[k] · tmp[reflect(y + k − half), x].
                for y in 0..<h {
                    let orow = plane + y * w
                    for x in 0..<w { orow[x] = 0 }
                    for q in 0..<k {
                        let src = t.baseAddress! + ri[y + q] * w
                        let wq = kt[q]
                        for x in 0..<w { orow[x] += wq * src[x] }
                    }
                }
            }
        }}}}}}
    }
}
