import CDNNL

/// oneDNN pooling (max or average, square window) for one input layout.
public final class PoolingKernel: @unchecked Sendable {
    /// Max pooling (keeps a workspace of argmax positions) or average excluding padding.
    public enum Kind: Sendable { case max, average }
    /// Input layout.
    public let srcLayout: Layout
    let forwardPrimitive: Primitive
    private var backwardPrimitive: Primitive?
    private let kind: Kind, kernel: [Int], stride: [Int], padding: Int

    /// Output layout.
    public var dstLayout: Layout { forwardPrimitive.layout(dnnl_query_dst_md) }
    /// Workspace layout for max pooling in training.
    public var workspaceLayout: Layout? { kind == .max ? forwardPrimitive.layout(dnnl_query_workspace_md) : nil }

    /// Output spatial size for an input size (floor division, as PyTorch).
    public static func outputSize(_ size: Int, kernel: Int, stride: Int, padding: Int) -> Int {
        (size + 2 * padding - kernel) / stride + 1
    }

    /// The cached kernel for a window of `kernel` = [height, width] moved by `stride` = [height, width].
    public static func get(kind: Kind, srcLayout: Layout, kernel: [Int], stride: [Int], padding: Int) -> PoolingKernel {
        KernelCache.shared.get("pool \(kind) \(srcLayout.key) k\(kernel) s\(stride) p\(padding)") {
            PoolingKernel(kind: kind, srcLayout: srcLayout, kernel: kernel, stride: stride, padding: padding)
        }
    }

    private static func algorithm(_ kind: Kind) -> dnnl_alg_kind_t { kind == .max ? dnnl_pooling_max : dnnl_pooling_avg_exclude_padding }

    private init(kind: Kind, srcLayout: Layout, kernel: [Int], stride: [Int], padding: Int) {
        self.kind = kind; self.srcLayout = srcLayout; self.kernel = kernel; self.stride = stride; self.padding = padding
        var desc = dnnl_pooling_desc_t()
        var src = srcLayout.md
        let d = Self.geometry(srcLayout.dims, kernel, stride, padding)
        var dst = Layout.any(d.dst, srcLayout.type).md
        check(dnnl_pooling_forward_desc_init(&desc, dnnl_forward_training, Self.algorithm(kind),
              &src, &dst, d.s, d.k, d.pl, d.pr), "pooling_forward_desc_init")
        guard let p = withUnsafePointer(to: &desc, { Primitive(name: "pool fwd", opDesc: $0) }) else {
            fatalError("no oneDNN pooling implementation for \(srcLayout)")
        }
        forwardPrimitive = p
    }

    private static func geometry(_ d: [Int], _ kernel: [Int], _ stride: [Int], _ padding: Int) -> (k: [Int64], s: [Int64], pl: [Int64], pr: [Int64], dst: [Int]) {
        let oh = outputSize(d[2], kernel: kernel[0], stride: stride[0], padding: padding)
        let ow = outputSize(d[3], kernel: kernel[1], stride: stride[1], padding: padding)
        // Right padding that makes oneDNN's output size PyTorch's floor formula.
        let prh = (oh - 1) * stride[0] + kernel[0] - d[2] - padding, prw = (ow - 1) * stride[1] + kernel[1] - d[3] - padding
        return (kernel.map { Int64($0) }, stride.map { Int64($0) }, [Int64(padding), Int64(padding)],
                [Int64(prh), Int64(prw)], [d[0], d[1], oh, ow])
    }

    /// dst = pool(src); `workspace` is required for max pooling.
    public func forward(src: Operand, dst: Operand, workspace: Operand?) {
        var args = [(Arg.src, src), (Arg.dst, dst)]
        if let workspace { args.append((Arg.workspace, workspace)) }
        forwardPrimitive.execute(args)
    }

    private var backward: Primitive {
        lazyPrimitiveLock.lock()
        defer { lazyPrimitiveLock.unlock() }
        if let p = backwardPrimitive { return p }
        let d = Self.geometry(srcLayout.dims, kernel, stride, padding)
        var desc = dnnl_pooling_desc_t()
        var dsrc = srcLayout.md, ddst = dstLayout.md
        check(dnnl_pooling_backward_desc_init(&desc, Self.algorithm(kind), &dsrc, &ddst, d.s, d.k, d.pl, d.pr), "pooling_backward_desc_init")
        guard let p = withUnsafePointer(to: &desc, { Primitive(name: "pool bwd", opDesc: $0, hint: forwardPrimitive) }) else {
            fatalError("no oneDNN pooling backward implementation for \(srcLayout)")
        }
        backwardPrimitive = p
        return p
    }

    /// Layout the backward pass wants the output gradient in (the forward dst layout).
    public var diffDstLayout: Layout { backward.layout(dnnl_query_diff_dst_md) }
    /// Layout of the input gradient (the forward src layout).
    public var diffSrcLayout: Layout { backward.layout(dnnl_query_diff_src_md) }

    /// diffSrc from diffDst (and the workspace for max pooling).
    public func backward(diffDst: Operand, diffSrc: Operand, workspace: Operand?) {
        var args = [(Arg.diffDst, diffDst), (Arg.diffSrc, diffSrc)]
        if let workspace { args.append((Arg.workspace, workspace)) }
        backward.execute(args)
    }
}
