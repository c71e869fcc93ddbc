import Kernels

extension Tensor {
    /// Max pooling with a square window: x [N, C, H, W] → [N, C, H', W'] (PyTorch's floor sizes;
    /// padded positions never win).
    public static func maxPool2d(_ x: Tensor, kernel: Int, stride: Int, padding: Int = 0) throws -> Tensor {
        guard x.shape.count == 4 else { throw TensorError.shapeMismatch("maxPool2d: input must be [N, C, H, W], got \(x.shape)") }
        guard kernel >= 1, stride >= 1, padding >= 0, padding * 2 <= kernel else {
            throw TensorError.invalidArgument("maxPool2d: kernel \(kernel), stride \(stride), padding \(padding) (padding must be at most half the kernel)")
        }
        guard PoolingKernel.outputSize(min(x.shape[2], x.shape[3]), kernel: kernel, stride: stride, padding: padding) >= 1 else {
            throw TensorError.shapeMismatch("maxPool2d: window \(kernel) does not fit input \(x.shape)")
        }
        return pool(x, .max, kernel: [kernel, kernel], stride: [stride, stride], padding: padding)
    }

    /// Global average pooling: x [N, C, H, W] → [N, C] plain fp32 (the pooled feature a ResNet
    /// hands to its head; converting to fp32 here ends the bf16 region of a network).
    public static func globalAveragePool(_ x: Tensor) throws -> Tensor {
        guard x.shape.count == 4 else {
            throw TensorError.shapeMismatch("globalAveragePool: input must be [N, C, H, W], got \(x.shape)")
        }
        let window = [x.shape[2], x.shape[3]]
        let pooled = pool(x, .average, kernel: window, stride: window, padding: 0)
        let flat = pooled.converted(to: Layout.plain(pooled.shape, .f32))
        let (n, c) = (x.shape[0], x.shape[1])
        let out = Tensor(layout: Layout.plain([n, c], .f32), storage: flat.storage)
        return out.record("flatten", [pooled]) { gy in
            [Tensor(layout: Layout.plain([n, c, 1, 1], .f32), storage: gy.plainF32().storage)]
        }
    }

    private static func pool(_ x: Tensor, _ kind: PoolingKernel.Kind, kernel: [Int], stride: [Int], padding: Int) -> Tensor {
        let k = PoolingKernel.get(kind: kind, srcLayout: x.layout, kernel: kernel, stride: stride, padding: padding)
        let y = Tensor(layout: k.dstLayout)
        let workspace = k.workspaceLayout.map { Tensor(layout: $0) }
        k.forward(src: x.operand, dst: y.operand, workspace: workspace?.operand)
        return y.record(kind == .max ? "maxPool2d" : "avgPool2d", [x]) { gy in
            let gx = Tensor(layout: k.diffSrcLayout)
            k.backward(diffDst: gy.converted(to: k.diffDstLayout).operand, diffSrc: gx.operand, workspace: workspace?.operand)
            return [gx]
        }
    }
}
