import Kernels

/// Sums per-channel statistics over every replica of a data-parallel job, in place (the
/// collective is supplied from above: Tensors knows no communication library). Every replica
/// calls it in the same order with the same count.
public protocol ReplicaSum: AnyObject {
    /// Replaces `values` by their elementwise sum over the replicas.
    func sum(_ values: inout [Double])
}

extension Tensor {
    /// Synchronised batch normalization in training (PyTorch's `SyncBatchNorm`): the statistics
    /// are those of the global batch, the union of every replica's x: [N_r, C, H, W]. Forward:
    /// per-channel Σx and Σx² (float64) summed over replicas give μ and the biased σ², which
    /// oneDNN applies as given statistics (optionally with ReLU fused); the running statistics
    /// take μ and the unbiased σ² of the global count. Backward: oneDNN with given statistics
    /// yields γ/σ·dy and this replica's Σdy·x̂, Σdy; those two sums are summed over replicas
    /// and the input gradient gets the terms through μ and σ,
    /// dx = γ/σ·(dy − (Σdy + x̂·Σdy·x̂)/N). The γ and β gradients stay this replica's own (the
    /// gradient average over replicas completes them, as in DDP).
    public static func syncBatchNorm(_ x: Tensor, weight: Tensor, bias: Tensor, runningMean: Tensor, runningVariance: Tensor,
                                     replicas: any ReplicaSum, momentum: Float = 0.1, epsilon: Float = 1e-5,
                                     fusedReLU: Bool = false) throws -> Tensor {
        guard x.shape.count == 4 else { throw TensorError.shapeMismatch("syncBatchNorm: input must be [N, C, H, W], got \(x.shape)") }
        let c = x.shape[1], spatial = x.shape[2] * x.shape[3]
        let (mean, variance, total) = globalStatistics(x.plainF32(), channels: c, spatial: spatial, replicas: replicas)
        guard total >= 2 else { throw TensorError.invalidArgument("syncBatchNorm: training needs more than one value per channel, got \(total)") }
        let kernel = BatchNormKernel.get(layout: x.layout, training: false, fusedReLU: fusedReLU, epsilon: epsilon)
        let channel = kernel.channelLayout
        let scaleShift = Tensor(layout: kernel.scaleShiftLayout)
        let gp = weight.plainF32(), bp = bias.plainF32()
        defer { withExtendedLifetime((gp, bp)) {} }
        scaleShift.floats.update(from: gp.floats, count: c)
        (scaleShift.floats + c).update(from: bp.floats, count: c)
        let meanTensor = try Tensor(shape: [c], values: mean.map { Float($0) }).converted(to: channel)
        let varianceTensor = try Tensor(shape: [c], values: variance.map { Float($0) }).converted(to: channel)
        let workspace = kernel.workspaceLayout.map { Tensor(layout: $0) }
        let y = Tensor(layout: x.layout)
        kernel.forward(src: x.operand, scaleShift: scaleShift.operand, mean: meanTensor.operand, variance: varianceTensor.operand,
                       dst: y.operand, workspace: workspace?.operand)
        let rm = runningMean.floats, rv = runningVariance.floats, unbias = Double(total) / Double(total - 1)
        for i in 0..<c {
            rm[i] = (1 - momentum) * rm[i] + momentum * Float(mean[i])
            rv[i] = (1 - momentum) * rv[i] + momentum * Float(variance[i] * unbias)
        }
        let inverseDeviation = variance.map { 1 / (Float($0) + epsilon).squareRoot() }
        return y.record("syncBatchNorm", [x, weight, bias]) { gy in
            let gx = Tensor(layout: x.layout)
            let gScaleShift = Tensor(layout: kernel.scaleShiftLayout)
            kernel.backward(src: x.operand, diffDst: gy.converted(to: x.layout).operand, scaleShift: scaleShift.operand,
                            mean: meanTensor.operand, variance: varianceTensor.operand, workspace: workspace?.operand,
                            diffSrc: gx.operand, diffScaleShift: gScaleShift.operand)
            let own = Array(UnsafeBufferPointer(start: gScaleShift.floats, count: 2 * c))
            // Global Σdy·x̂ (first C) and Σdy (next C), over every replica.
            var sums = own.map { Double($0) }
            replicas.sum(&sums)
            let corrected = correctedInputGradient(gx.plainF32(), x: x.plainF32(), mean: mean, inverseDeviation: inverseDeviation,
                                                   gamma: Array(UnsafeBufferPointer(start: gp.floats, count: c)), sums: sums,
                                                   total: total, spatial: spatial)
            let gScale = try! Tensor(shape: [c], values: Array(own[0..<c]))
            let gShift = try! Tensor(shape: [c], values: Array(own[c..<2 * c]))
            return [corrected.converted(to: x.layout), gScale, gShift]
        }
    }

    /// Per-channel mean and biased variance of the global batch (this replica's plain x:
    /// [N_r, C, H·W] plus the others'), and the global count N·H·W.
    private static func globalStatistics(_ xp: Tensor, channels c: Int, spatial: Int,
                                         replicas: any ReplicaSum) -> (mean: [Double], variance: [Double], total: Int) {
        let batch = xp.shape[0], values = xp.floats
        // [Σx (C), Σx² (C), count]
        var sums = [Double](repeating: 0, count: 2 * c + 1)
        for n in 0..<batch {
            for ch in 0..<c {
                let base = (n * c + ch) * spatial
                var s = 0.0, sq = 0.0
                for i in 0..<spatial { let v = Double(values[base + i]); s += v; sq += v * v }
                sums[ch] += s; sums[c + ch] += sq
            }
        }
        sums[2 * c] = Double(batch * spatial)
        withExtendedLifetime(xp) {}
        replicas.sum(&sums)
        let total = sums[2 * c]
        let mean = (0..<c).map { sums[$0] / total }
        let variance = (0..<c).map { max(sums[c + $0] / total - mean[$0] * mean[$0], 0) }
        return (mean, variance, Int(total))
    }

    /// γ/σ·dy (oneDNN's, plain [N_r, C, H·W]) less γ/σ·(Σdy + x̂·Σdy·x̂)/N, per element.
    private static func correctedInputGradient(_ partial: Tensor, x: Tensor, mean: [Double], inverseDeviation: [Float], gamma: [Float],
                                               sums: [Double], total: Int, spatial: Int) -> Tensor {
        let c = mean.count, batch = x.shape[0]
        let out = Tensor(layout: Layout.plain(x.shape, .f32))
        let g = partial.floats, xv = x.floats, o = out.floats
        for ch in 0..<c {
            let scale = gamma[ch] * inverseDeviation[ch]
            let dyHatSum = Float(sums[ch] / Double(total)), dySum = Float(sums[c + ch] / Double(total))
            let mu = Float(mean[ch]), inv = inverseDeviation[ch]
            for n in 0..<batch {
                let base = (n * c + ch) * spatial
                for i in 0..<spatial {
                    let xHat = (xv[base + i] - mu) * inv
                    o[base + i] = g[base + i] - scale * (dySum + xHat * dyHatSum)
                }
            }
        }
        withExtendedLifetime((partial, x)) {}
        return out
    }
}
