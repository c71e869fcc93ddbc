import Foundation
import Kernels

extension Tensor {
    /// Mean cross-entropy of logits [B, C] against integer labels (0..<C), as
    /// `torch.nn.functional.cross_entropy` with mean reduction → shape [1].
    public static func crossEntropy(_ logits: Tensor, labels: [Int]) throws -> Tensor {
        guard logits.shape.count == 2, logits.shape[0] == labels.count else {
            throw TensorError.shapeMismatch("crossEntropy: logits \(logits.shape) with \(labels.count) labels")
        }
        let (b, c) = (logits.shape[0], logits.shape[1])
        if let bad = labels.first(where: { $0 < 0 || $0 >= c }) { throw TensorError.invalidArgument("crossEntropy: label \(bad) outside 0..<\(c)") }
        let xTensor = logits.plainF32()
        defer { withExtendedLifetime(xTensor) {} }   // x points into it
        let x = xTensor.floats
        // Softmax per row with the max subtracted for stability; kept for the backward pass.
        var probabilities = [Float](repeating: 0, count: b * c)
        var loss: Double = 0
        for r in 0..<b {
            var m = -Float.infinity
            for j in 0..<c { m = max(m, x[r * c + j]) }
            var z: Float = 0
            for j in 0..<c { let e = Foundation.exp(x[r * c + j] - m); probabilities[r * c + j] = e; z += e }
            for j in 0..<c { probabilities[r * c + j] /= z }
            loss += Double(Foundation.log(z) + m - x[r * c + labels[r]])
        }
        let y = Tensor.full([1], Float(loss / Double(b)))
        return y.record("crossEntropy", [logits]) { gy in
            let scale = gy.scalar / Float(b)
            let gx = Tensor(layout: Layout.plain([b, c], .f32))
            for r in 0..<b { for j in 0..<c {
                gx.floats[r * c + j] = scale * (probabilities[r * c + j] - (j == labels[r] ? 1 : 0))
            } }
            return [gx]
        }
    }
}
