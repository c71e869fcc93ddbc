import CDNNL

/// oneDNN batch normalization for one data layout: training (batch statistics) or inference
/// (given statistics), with scale and shift, optionally fused with a following ReLU.
public final class BatchNormKernel: @unchecked Sendable {
    /// Layout of src, dst, diffSrc and diffDst (the input's own layout).
    public let layout: Layout
    /// Training (batch statistics) or inference (running statistics).
    public let training: Bool
    /// Whether ReLU is applied to the output inside the same primitive.
    public let fusedReLU: Bool
    /// Variance epsilon.
    public let epsilon: Float
    let forwardPrimitive: Primitive
    private var backwardPrimitive: Primitive?

    /// Plain fp32 [C] layout of mean and variance.
    public var channelLayout: Layout { Layout.plain([layout.dims[1]], .f32) }
    /// Plain fp32 [2, C] layout of the packed scale (row 0) and shift (row 1) and their gradients.
    /// (oneDNN 2.6's separate scale/shift arguments fail in backward; the packed form works.)
    public var scaleShiftLayout: Layout { Layout.plain([2, layout.dims[1]], .f32) }
    /// Workspace layout (the ReLU mask) when ReLU is fused, else nil. The forward pass always uses
    /// the training propagation kind so that evaluation-mode statistics can be differentiated too.
    public var workspaceLayout: Layout? {
        guard fusedReLU else { return nil }
        return forwardPrimitive.layout(dnnl_query_workspace_md)
    }

    private var flags: UInt32 { Self.flags(training: training, fusedReLU: fusedReLU) }

    private static func flags(training: Bool, fusedReLU: Bool) -> UInt32 {
        var f = dnnl_use_scaleshift.rawValue
        if !training { f |= dnnl_use_global_stats.rawValue }
        if fusedReLU { f |= dnnl_fuse_norm_relu.rawValue }
        return UInt32(f)
    }

    /// The cached kernel for a data layout and mode.
    public static func get(layout: Layout, training: Bool, fusedReLU: Bool, epsilon: Float) -> BatchNormKernel {
        KernelCache.shared.get("bn \(layout.key) t\(training) r\(fusedReLU) e\(epsilon)") {
            BatchNormKernel(layout: layout, training: training, fusedReLU: fusedReLU, epsilon: epsilon)
        }
    }

    private init(layout: Layout, training: Bool, fusedReLU: Bool, epsilon: Float) {
        self.layout = layout
        self.training = training
        self.fusedReLU = fusedReLU
        self.epsilon = epsilon
        var desc = dnnl_batch_normalization_desc_t()
        var md = layout.md
        check(dnnl_batch_normalization_forward_desc_init(&desc, dnnl_forward_training,
              &md, epsilon, Self.flags(training: training, fusedReLU: fusedReLU)), "batch_normalization_forward_desc_init")
        guard let p = withUnsafePointer(to: &desc, { Primitive(name: "bn fwd \(layout.key)", opDesc: $0) }) else {
            fatalError("no oneDNN batch-norm implementation for \(layout)")
        }
        forwardPrimitive = p
    }

    /// Forward pass. In training, `mean` and `variance` receive the batch statistics (variance is
    /// biased, divided by N·H·W); in inference they are read. `workspace` is required when ReLU
    /// is fused in training.
    public func forward(src: Operand, scaleShift: Operand, mean: Operand, variance: Operand, dst: Operand, workspace: Operand?) {
        var args = [(Arg.src, src), (Arg.weights, scaleShift), (Arg.mean, mean), (Arg.variance, variance), (Arg.dst, dst)]
        if let workspace { args.append((Arg.workspace, workspace)) }
        forwardPrimitive.execute(args)
    }

    private var backward: Primitive {
        lazyPrimitiveLock.lock()
        defer { lazyPrimitiveLock.unlock() }
        if let p = backwardPrimitive { return p }
        var desc = dnnl_batch_normalization_desc_t()
        var md = layout.md, dmd = layout.md
        check(dnnl_batch_normalization_backward_desc_init(&desc, dnnl_backward, &dmd, &md, epsilon, flags), "batch_normalization_backward_desc_init")
        guard let p = withUnsafePointer(to: &desc, { Primitive(name: "bn bwd \(layout.key)", opDesc: $0, hint: forwardPrimitive) }) else {
            fatalError("no oneDNN batch-norm backward implementation for \(layout)")
        }
        backwardPrimitive = p
        return p
    }

    /// Backward pass: input gradient and the packed [2, C] scale/shift gradient from the saved statistics.
    public func backward(src: Operand, diffDst: Operand, scaleShift: Operand, mean: Operand, variance: Operand, workspace: Operand?,
                         diffSrc: Operand, diffScaleShift: Operand) {
        var args = [(Arg.src, src), (Arg.diffDst, diffDst), (Arg.weights, scaleShift), (Arg.mean, mean), (Arg.variance, variance),
                    (Arg.diffSrc, diffSrc), (Arg.diffWeights, diffScaleShift)]
        if let workspace { args.append((Arg.workspace, workspace)) }
        backward.execute(args)
    }
}
