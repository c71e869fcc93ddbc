import CDNNL

/// oneDNN ReLU for one layout; the backward pass reads the forward output (not the input).
public final class ReLUKernel: @unchecked Sendable {
    let forwardPrimitive: Primitive
    private var backwardPrimitive: Primitive?
    /// Layout of src, dst and both gradients.
    public let layout: Layout

    /// The cached kernel for a layout.
    public static func get(_ layout: Layout) -> ReLUKernel {
        KernelCache.shared.get("relu \(layout.key)") { ReLUKernel(layout) }
    }

    private init(_ layout: Layout) {
        self.layout = layout
        var desc = dnnl_eltwise_desc_t()
        var md = layout.md
        check(dnnl_eltwise_forward_desc_init(&desc, dnnl_forward_training, dnnl_eltwise_relu_use_dst_for_bwd, &md, 0, 0), "eltwise_forward_desc_init")
        forwardPrimitive = withUnsafePointer(to: &desc) { Primitive(name: "relu fwd", opDesc: $0) }!
    }

    /// dst = max(src, 0) (dst may alias src).
    public func forward(src: Operand, dst: Operand) {
        forwardPrimitive.execute([(Arg.src, src), (Arg.dst, dst)])
    }

    /// diffSrc = diffDst where dst > 0, else 0.
    public func backward(dst: Operand, diffDst: Operand, diffSrc: Operand) {
        backward.execute([(Arg.dst, dst), (Arg.diffDst, diffDst), (Arg.diffSrc, diffSrc)])
    }

    private var backward: Primitive {
        lazyPrimitiveLock.lock()
        defer { lazyPrimitiveLock.unlock() }
        if let p = backwardPrimitive { return p }
        var desc = dnnl_eltwise_desc_t()
        var md = layout.md, dmd = layout.md
        check(dnnl_eltwise_backward_desc_init(&desc, dnnl_eltwise_relu_use_dst_for_bwd, &dmd, &md, 0, 0), "eltwise_backward_desc_init")
        guard let p = withUnsafePointer(to: &desc, { Primitive(name: "relu bwd", opDesc: $0, hint: forwardPrimitive) }) else {
            fatalError("no oneDNN ReLU backward implementation for \(layout)")
        }
        backwardPrimitive = p
        return p
    }
}

/// Element-wise sums of same-dims tensors in any layouts (oneDNN sum), the result in `dst`'s layout.
public enum Accumulate {
    /// dst = Σ scales[i] · srcs[i]; dst may alias srcs[0] when their layouts are equal.
    public static func sum(_ srcs: [Operand], scales: [Float]? = nil, into dst: Operand) {
        precondition(!srcs.isEmpty)
        let scales = scales ?? [Float](repeating: 1, count: srcs.count)
        let key = "sum \(dst.layout.key) <- " + srcs.map { $0.layout.key }.joined(separator: " + ") + " \(scales)"
        let box = KernelCache.shared.get(key) { () -> PrimitiveBox in
            var pd: dnnl_primitive_desc_t?
            var dmd = dst.layout.md
            let mds = srcs.map { $0.layout.md }
            check(dnnl_sum_primitive_desc_create(&pd, &dmd, Int32(srcs.count), scales, mds, Runtime.shared.attributes, Runtime.shared.engine), key)
            return PrimitiveBox(Primitive(name: key, pd: pd!))
        }
        var args: [(Int32, Operand)] = srcs.enumerated().map { (Arg.multipleSrc($0.offset), $0.element) }
        args.append((Arg.dst, dst))
        box.primitive.execute(args)
    }
}
