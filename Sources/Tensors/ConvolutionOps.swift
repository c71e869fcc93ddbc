import Kernels

extension Tensor {
    /// 2-d convolution (cross-correlation, as PyTorch): x [N, C, H, W], weight [O, C, k, k]
    /// (plain fp32 master weights), bias [O] → [N, O, H', W']. Computes in x's element type
    /// (bf16 inputs run on AMX), weights are converted on the fly; weight gradients are fp32.
    public static func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0) throws -> Tensor {
        guard x.shape.count == 4 else { throw TensorError.shapeMismatch("conv2d: input must be [N, C, H, W], got \(x.shape)") }
        guard weight.shape.count == 4, weight.shape[2] == weight.shape[3] else {
            throw TensorError.shapeMismatch("conv2d: weight must be [O, C, k, k], got \(weight.shape)")
        }
        guard x.shape[1] == weight.shape[1] else {
            throw TensorError.shapeMismatch("conv2d: input has \(x.shape[1]) channels, weight \(weight.shape) expects \(weight.shape[1])")
        }
        if let bias, bias.shape != [weight.shape[0]] {
            throw TensorError.shapeMismatch("conv2d: bias \(bias.shape) must be [\(weight.shape[0])]")
        }
        guard stride >= 1, padding >= 0 else { throw TensorError.invalidArgument("conv2d: stride \(stride) must be ≥ 1, padding \(padding) ≥ 0") }
        let g = ConvolutionGeometry(n: x.shape[0], c: x.shape[1], h: x.shape[2], w: x.shape[3], outChannels: weight.shape[0],
                                    kernel: weight.shape[2], stride: stride, padding: padding, hasBias: bias != nil)
        guard g.outHeight >= 1, g.outWidth >= 1 else {
            throw TensorError.shapeMismatch("conv2d: kernel \(g.kernel) with padding \(padding) does not fit input \(x.shape)")
        }
        let kernel = ConvolutionKernel.get(g, x.dtype)
        let src = x.converted(to: kernel.srcLayout)
        let w = weight.converted(to: kernel.weightsLayout)
        let b = bias?.converted(to: kernel.biasLayout)
        let y = Tensor(layout: kernel.dstLayout)
        kernel.forward(src: src.operand, weights: w.operand, bias: b?.operand, dst: y.operand)
        return y.record("conv2d", [x, weight, bias]) { gy in
            var gx: Tensor?, gw: Tensor?, gb: Tensor?
            if x.requiresGrad {
                let wd = w.layout == kernel.backwardDataWeightsLayout ? w : weight.converted(to: kernel.backwardDataWeightsLayout)
                gx = Tensor(layout: kernel.diffSrcLayout)
                kernel.backwardData(diffDst: gy.converted(to: kernel.backwardDataDiffDstLayout).operand, weights: wd.operand, diffSrc: gx!.operand)
            }
            if weight.requiresGrad || (bias?.requiresGrad ?? false) {
                let dw = Tensor(layout: kernel.diffWeightsLayout)
                let db = bias.map { _ in Tensor(layout: kernel.diffBiasLayout) }
                kernel.backwardWeights(src: src.converted(to: kernel.backwardWeightsSrcLayout).operand,
                                       diffDst: gy.converted(to: kernel.backwardWeightsDiffDstLayout).operand,
                                       diffWeights: dw.operand, diffBias: db?.operand)
                gw = dw.converted(to: Layout.plain(weight.shape, .f32))
                gb = db?.converted(to: Layout.plain(g.hasBias ? [g.outChannels] : [], .f32))
            }
            return [gx, gw, gb]
        }
    }
}
