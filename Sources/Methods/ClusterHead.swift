import Foundation
import Kernels
import NN
import Randomness
import Tensors

/// ODC's classification head: one linear layer from the embedding to K cluster logits, named
/// as mmselfsup names it (`head.fc_cls.weight` [K, D], `head.fc_cls.bias` [K]), initialised
/// N(0, 0.01) with zero bias as its `ClsHead` is.
public final class ClusterHead: Layer {
    /// Weight [K, D] and bias [K].
    public let weight: Tensor, bias: Tensor

    /// A head for `clusters` classes over `dimension`-wide features, drawn from `seed`.
    public init(dimension: Int, clusters: Int, seed: UInt64) {
        var generator = SeededGenerator(seed: seed, streams: [0x4F44_4348_4541_44])   // "ODCHEAD"
        let values = (0..<clusters * dimension).map { _ in 0.01 * Float(generator.normal()) }
        weight = try! Tensor(shape: [clusters, dimension], values: values, requiresGrad: true)
        bias = Tensor.zeros([clusters], requiresGrad: true)
    }

    /// `head.fc_cls.weight` and `head.fc_cls.bias`.
    public var namedParameters: [(String, Tensor)] { [("head.fc_cls.weight", weight), ("head.fc_cls.bias", bias)] }

    /// K.
    public var clusterCount: Int { bias.count }

    /// Class-weighted cross-entropy of the logits z = f·Wᵀ + b against `targets` (PyTorch's
    /// `CrossEntropyLoss(weight: w)`: Σ_i w[y_i]·ℓ_i / Σ_i w[y_i]) for f: [B, D]. Adds dL/dW and
    /// dL/db to the parameters' gradients and returns the loss and dL/df [B, D].
    public func weightedCrossEntropy(features f: [Float], targets: [Int32], classWeights: [Float]) -> (loss: Float, gradient: [Float]) {
        let b = targets.count, k = clusterCount
        let logits = self.logits(f, batch: b)
        let totalWeight = targets.reduce(Float(0)) { $0 + classWeights[Int($1)] }
        var loss: Float = 0
        var dz = [Float](repeating: 0, count: b * k)   // dL/dz: [B, K]
        for r in 0..<b {
            let row = logits[r * k..<(r + 1) * k]
            let top = row.max()!
            let sum = row.reduce(Float(0)) { $0 + exp($1 - top) }
            let y = Int(targets[r]), share = classWeights[y] / totalWeight
            loss += share * (top + log(sum) - logits[r * k + y])
            for j in 0..<k { dz[r * k + j] = share * exp(logits[r * k + j] - top) / sum }
            dz[r * k + y] -= share
        }
        return (loss, backward(dz, features: f, batch: b))
    }

    /// The class of the largest logit for each row of f: [B, D] (the first on ties), [B].
    func predictions(_ f: [Float], batch b: Int) -> [Int32] {
        let k = clusterCount, z = logits(f, batch: b)
        return (0..<b).map { r in Int32((0..<k).max { z[r * k + $0] < z[r * k + $1] || (z[r * k + $0] == z[r * k + $1] && $0 > $1) }!) }
    }

    /// z = f·Wᵀ + b: [B, K] for f: [B, D].
    func logits(_ f: [Float], batch b: Int) -> [Float] {
        let k = clusterCount, d = f.count / max(b, 1)
        let w = weight.toArray(), offsets = bias.toArray()
        var z = [Float](repeating: 0, count: b * k)
        for r in 0..<b { for j in 0..<k { z[r * k + j] = offsets[j] } }
        f.withUnsafeBufferPointer { fp in w.withUnsafeBufferPointer { wp in z.withUnsafeMutableBufferPointer { zp in
            Gemm.sgemm(transA: false, transB: true, m: b, n: k, k: d, a: fp.baseAddress!, lda: d, b: wp.baseAddress!, ldb: d,
                       beta: 1, c: zp.baseAddress!, ldc: k)
        } } }
        return z
    }

    /// From dL/dz [B, K]: adds dL/dW = dzᵀ·f and dL/db = Σ_rows dz to the gradients and returns
    /// dL/df = dz·W [B, D].
    func backward(_ dz: [Float], features f: [Float], batch b: Int) -> [Float] {
        let k = clusterCount, d = f.count / max(b, 1)
        let w = weight.toArray()
        var df = [Float](repeating: 0, count: b * d), dw = [Float](repeating: 0, count: k * d)
        dz.withUnsafeBufferPointer { gp in
            w.withUnsafeBufferPointer { wp in df.withUnsafeMutableBufferPointer { out in
                Gemm.sgemm(transA: false, transB: false, m: b, n: d, k: k, a: gp.baseAddress!, lda: k, b: wp.baseAddress!, ldb: d,
                           c: out.baseAddress!, ldc: d)
            } }
            f.withUnsafeBufferPointer { fp in dw.withUnsafeMutableBufferPointer { out in
                Gemm.sgemm(transA: true, transB: false, m: k, n: d, k: b, a: gp.baseAddress!, lda: k, b: fp.baseAddress!, ldb: d,
                           c: out.baseAddress!, ldc: d)
            } }
        }
        accumulateGradient(weight, dw)
        accumulateGradient(bias, (0..<k).map { j in (0..<b).reduce(Float(0)) { $0 + dz[$1 * k + j] } })
        return df
    }
}

/// Adds `values` to `parameter.grad` (creating it), as autograd accumulates.
func accumulateGradient(_ parameter: Tensor, _ values: [Float]) {
    let update = try! Tensor(shape: parameter.shape, values: values)
    if let existing = parameter.grad {
        let sum = zip(existing.toArray(), values).map { $0 + $1 }
        parameter.grad = try! Tensor(shape: parameter.shape, values: sum)
    } else {
        parameter.grad = update
    }
}
