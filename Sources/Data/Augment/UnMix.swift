import Randomness

/// One Un-Mix draw (Shen et al., AAAI 2022; code szq0214/Un-Mix, `unmix_c10.py`): every image of
/// the batch is mixed with the image at the mirrored batch position, either globally or by
/// pasting a box, and λ is the share of the image that stays its own.
public struct UnMixDraw: Equatable, Sendable {
    /// The share of each mixed image that is its own (after a region mixture: 1 − box area / image area).
    public var lambda: Double
    /// The pasted box, rows `rows` and columns `columns`; nil for a global mixture.
    public var box: (rows: Range<Int>, columns: Range<Int>)?

    /// Draws as the authors' loop does: λ ~ Beta(β, β); with probability `globalProbability` a
    /// global mixture λ·x + (1 − λ)·x_rev, else a box of side ratio √(1 − λ) around a uniform
    /// centre (clipped to the image) pasted from x_rev, and λ ← 1 − box area / image area.
    public static func draw(_ g: inout SeededGenerator, globalProbability: Double, beta: Double, height: Int, width: Int) -> UnMixDraw {
        let isGlobal = g.uniform() < globalProbability
        let lambda = g.beta(beta, beta)
        if isGlobal { return UnMixDraw(lambda: lambda, box: nil) }
        let ratio = (1 - lambda).squareRoot()
        let cutRows = Int(Double(height) * ratio), cutColumns = Int(Double(width) * ratio)
        let centreRow = g.int(below: height), centreColumn = g.int(below: width)
        return region(height: height, width: width, centre: (centreRow, centreColumn), cut: (cutRows, cutColumns))
    }

    /// The box `rand_bbox` makes for a centre and a cut size, clipped to the image, with λ
    /// adjusted to the pixels it covers.
    public static func region(height: Int, width: Int, centre: (Int, Int), cut: (Int, Int)) -> UnMixDraw {
        let rows = max(0, centre.0 - cut.0 / 2)..<min(height, centre.0 + cut.0 / 2)
        let columns = max(0, centre.1 - cut.1 / 2)..<min(width, centre.1 + cut.1 / 2)
        return UnMixDraw(lambda: 1 - Double(rows.count * columns.count) / Double(height * width), box: (rows, columns))
    }

    public static func == (a: UnMixDraw, b: UnMixDraw) -> Bool {
        a.lambda == b.lambda && a.box?.rows == b.box?.rows && a.box?.columns == b.box?.columns
    }

    /// The mixed batch of `images`: [B, C, H, W] row-major; image b is mixed with image B − 1 − b.
    public func mix(_ images: [Float], batch: Int, channels: Int, height: Int, width: Int) -> [Float] {
        let plane = height * width, size = channels * plane
        precondition(images.count == batch * size, "UnMix.mix: \(images.count) values for [\(batch), \(channels), \(height), \(width)]")
        var mixed = images
        for b in 0..<batch {
            let own = b * size, other = (batch - 1 - b) * size
            if let box {
                for c in 0..<channels {
                    for r in box.rows {
                        for col in box.columns { mixed[own + c * plane + r * width + col] = images[other + c * plane + r * width + col] }
                    }
                }
            } else {
                let l = Float(lambda), m = Float(1 - lambda)
                for i in 0..<size { mixed[own + i] = l * images[own + i] + m * images[other + i] }
            }
        }
        return mixed
    }
}
