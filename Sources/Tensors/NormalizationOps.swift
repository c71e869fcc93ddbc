import Kernels

extension Tensor {
    /// Batch normalization over [N, C, H, W] with per-channel scale `weight` and shift `bias`
    /// ([C], plain fp32). In training, normalises with the batch statistics and updates the
    /// running statistics in place (PyTorch's rule: unbiased variance, `momentum` weight on the
    /// new value); in evaluation, uses the running statistics. `fusedReLU` applies ReLU to the
    /// result inside the same kernel (one pass over memory instead of two).
    public static func batchNorm(_ x: Tensor, weight: Tensor, bias: Tensor, runningMean: Tensor, runningVariance: Tensor,
                                 training: Bool, momentum: Float = 0.1, epsilon: Float = 1e-5, fusedReLU: Bool = false) throws -> Tensor {
        guard x.shape.count == 4 else { throw TensorError.shapeMismatch("batchNorm: input must be [N, C, H, W], got \(x.shape)") }
        let c = x.shape[1]
        for (name, t) in [("weight", weight), ("bias", bias), ("runningMean", runningMean), ("runningVariance", runningVariance)] where t.shape != [c] {
            throw TensorError.shapeMismatch("batchNorm: \(name) \(t.shape) must be [\(c)] for input \(x.shape)")
        }
        guard (0...1).contains(momentum), epsilon > 0 else {
            throw TensorError.invalidArgument("batchNorm: momentum \(momentum) must be in [0, 1] and epsilon \(epsilon) > 0")
        }
        let n = x.shape[0] * x.shape[2] * x.shape[3]
        if training && n < 2 { throw TensorError.invalidArgument("batchNorm: training needs more than one value per channel, got input \(x.shape)") }
        let kernel = BatchNormKernel.get(layout: x.layout, training: training, fusedReLU: fusedReLU, epsilon: epsilon)
        let channel = kernel.channelLayout
        // Scale (γ) in row 0 and shift (β) in row 1 of one [2, C] array, as the kernel wants.
        let scaleShift = Tensor(layout: kernel.scaleShiftLayout)
        let gp = weight.plainF32(), bp = bias.plainF32()
        defer { withExtendedLifetime((gp, bp)) {} }   // pointers into it are used below
        scaleShift.floats.update(from: gp.floats, count: c)
        (scaleShift.floats + c).update(from: bp.floats, count: c)
        let mean = training ? Tensor(layout: channel) : runningMean.converted(to: channel)
        let variance = training ? Tensor(layout: channel) : runningVariance.converted(to: channel)
        let workspace = kernel.workspaceLayout.map { Tensor(layout: $0) }
        let y = Tensor(layout: x.layout)
        kernel.forward(src: x.operand, scaleShift: scaleShift.operand, mean: mean.operand, variance: variance.operand,
                       dst: y.operand, workspace: workspace?.operand)
        if training {
            // running = (1 − momentum)·running + momentum·batch; the variance is made unbiased.
            let unbias = Float(n) / Float(n - 1)
            let rm = runningMean.floats, rv = runningVariance.floats, bm = mean.floats, bv = variance.floats
            for i in 0..<c {
                rm[i] = (1 - momentum) * rm[i] + momentum * bm[i]
                rv[i] = (1 - momentum) * rv[i] + momentum * bv[i] * unbias
            }
        }
        return y.record("batchNorm", [x, weight, bias]) { gy in
            let gx = Tensor(layout: x.layout)
            let gScaleShift = Tensor(layout: kernel.scaleShiftLayout)
            kernel.backward(src: x.operand, diffDst: gy.converted(to: x.layout).operand, scaleShift: scaleShift.operand, mean: mean.operand,
                            variance: variance.operand, workspace: workspace?.operand,
                            diffSrc: gx.operand, diffScaleShift: gScaleShift.operand)
            // Rows of the packed gradient viewed as [C] tensors (no copy).
            let gScale = Tensor(layout: channel, storage: gScaleShift.storage)
            let gShift = Tensor(layout: channel, storage: Storage(byteCount: c * 4))
            gShift.floats.update(from: gScaleShift.floats + c, count: c)
            return [gx, gScale, gShift]
        }
    }

    /// Rows scaled to unit L2 norm: x [B, D] → x / max(‖x‖, eps), eps = 1e-12 as in
    /// `torch.nn.functional.normalize`.
    public static func l2Normalize(_ x: Tensor, epsilon: Float = 1e-12) throws -> Tensor {
        guard x.shape.count == 2 else { throw TensorError.shapeMismatch("l2Normalize: input must be [B, D], got \(x.shape)") }
        let (b, d) = (x.shape[0], x.shape[1])
        let xp = x.plainF32()
        defer { withExtendedLifetime(xp) {} }   // pointers into it are used below
        let y = Tensor(layout: Layout.plain(x.shape, .f32))
        var norms = [Float](repeating: 0, count: b)
        let src = xp.floats, dst = y.floats
        for i in 0..<b {
            var s: Float = 0
            for j in 0..<d { s += src[i * d + j] * src[i * d + j] }
            norms[i] = max(s.squareRoot(), epsilon)
            for j in 0..<d { dst[i * d + j] = src[i * d + j] / norms[i] }
        }
        return y.record("l2Normalize", [x]) { gy in
            // d(x/‖x‖) = (g − y·(y·g)) / ‖x‖ (when ‖x‖ > eps; below it the map is x/eps: g/eps).
            let gTensor = gy.plainF32()
            defer { withExtendedLifetime(gTensor) {} }   // g points into it
            let g = gTensor.floats
            let gx = Tensor(layout: Layout.plain([b, d], .f32))
            let out = gx.floats
            for i in 0..<b {
                var dot: Float = 0
                for j in 0..<d { dot += dst[i * d + j] * g[i * d + j] }
                let clamped = norms[i] == epsilon
                for j in 0..<d { out[i * d + j] = (g[i * d + j] - (clamped ? 0 : dst[i * d + j] * dot)) / norms[i] }
            }
            return [gx]
        }
    }
}
