import CDNNL
import Foundation

/// The shape of a 2-d convolution: input [n, c, h, w], weights [o, c, k, k], square stride/padding.
public struct ConvolutionGeometry: Hashable, Sendable, CustomStringConvertible {
    /// Batch, input channels, input height, input width.
    public var n, c, h, w: Int
    /// Output channels, kernel size, stride, padding (the same on all sides).
    public var outChannels, kernel, stride, padding: Int
    /// Whether the convolution adds a bias.
    public var hasBias: Bool

    /// Describes a convolution.
    public init(n: Int, c: Int, h: Int, w: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int, hasBias: Bool) {
        self.n = n; self.c = c; self.h = h; self.w = w
        self.outChannels = outChannels; self.kernel = kernel; self.stride = stride; self.padding = padding; self.hasBias = hasBias
    }

    /// Output height (floor division, as PyTorch).
    public var outHeight: Int { (h + 2 * padding - kernel) / stride + 1 }
    /// Output width.
    public var outWidth: Int { (w + 2 * padding - kernel) / stride + 1 }
    /// Input dims [n, c, h, w].
    public var srcDims: [Int] { [n, c, h, w] }
    /// Weight dims [o, c, k, k] (PyTorch's OIHW).
    public var weightDims: [Int] { [outChannels, c, kernel, kernel] }
    /// Output dims [n, o, oh, ow].
    public var dstDims: [Int] { [n, outChannels, outHeight, outWidth] }

    public var description: String { "conv[\(n)x\(c)x\(h)x\(w) -> \(outChannels) k\(kernel) s\(stride) p\(padding)\(hasBias ? " +b" : "")]" }
}

/// oneDNN convolution primitives for one geometry and element type: forward (training),
/// backward-data and backward-weights, with the layouts oneDNN chose for each argument.
public final class ConvolutionKernel: @unchecked Sendable {
    /// The geometry.
    public let geometry: ConvolutionGeometry
    /// Element type of src, weights and dst (bias and weight gradients are fp32 where supported).
    public let type: ScalarType
    let forwardPrimitive: Primitive
    private var backwardDataPrimitive: Primitive?
    private var backwardWeightsPrimitive: Primitive?

    /// Layout the forward pass wants its input in.
    public var srcLayout: Layout { forwardPrimitive.layout(dnnl_query_src_md) }
    /// Layout the forward pass wants its weights in.
    public var weightsLayout: Layout { forwardPrimitive.layout(dnnl_query_weights_md) }
    /// Layout of the forward output.
    public var dstLayout: Layout { forwardPrimitive.layout(dnnl_query_dst_md) }
    /// Plain fp32 bias layout [o].
    public var biasLayout: Layout { Layout.plain([geometry.outChannels], .f32) }
    /// oneDNN's implementation name for the forward pass.
    public var forwardImplementation: String { forwardPrimitive.implementation }

    /// The cached kernel for a geometry and type (created on first use).
    public static func get(_ g: ConvolutionGeometry, _ type: ScalarType) -> ConvolutionKernel {
        KernelCache.shared.get("conv\(g)\(type)") { ConvolutionKernel(g, type) }
    }

    private init(_ g: ConvolutionGeometry, _ type: ScalarType) {
        geometry = g
        self.type = type
        var desc = dnnl_convolution_desc_t()
        var src = Layout.any(g.srcDims, type).md, wts = Layout.any(g.weightDims, type).md
        var dst = Layout.any(g.dstDims, type).md
        // bf16 forward with an fp32 bias is supported by the AMX/avx512 implementations.
        var bias = Layout.plain([g.outChannels], .f32).md
        let s = [Int64(g.stride), Int64(g.stride)], p = [Int64(g.padding), Int64(g.padding)]
        // Right padding so that oneDNN's output size equals PyTorch's floor formula.
        let pr = [Int64((g.outHeight - 1) * g.stride + g.kernel - g.h - g.padding),
                  Int64((g.outWidth - 1) * g.stride + g.kernel - g.w - g.padding)]
        let status = withUnsafePointer(to: &bias) { biasPointer in
            dnnl_convolution_forward_desc_init(&desc, dnnl_forward_training, dnnl_convolution_direct,
                &src, &wts, g.hasBias ? biasPointer : nil, &dst, s, p, pr)
        }
        check(status, "convolution_forward_desc_init \(g)")
        guard let prim = withUnsafePointer(to: &desc, { Primitive(name: "conv fwd \(g)", opDesc: $0) }) else {
            fatalError("no oneDNN implementation for \(g) in \(type)")
        }
        forwardPrimitive = prim
        self.rightPadding = pr
    }

    private let rightPadding: [Int64]

    /// Primitive for the gradient with respect to the input (created on first use).
    private var backwardData: Primitive {
        lazyPrimitiveLock.lock()
        defer { lazyPrimitiveLock.unlock() }
        if let p = backwardDataPrimitive { return p }
        let g = geometry
        var desc = dnnl_convolution_desc_t()
        var dsrc = Layout.any(g.srcDims, type).md, wts = Layout.any(g.weightDims, type).md, ddst = Layout.any(g.dstDims, type).md
        check(dnnl_convolution_backward_data_desc_init(&desc, dnnl_convolution_direct, &dsrc, &wts, &ddst,
              [Int64(g.stride), Int64(g.stride)], [Int64(g.padding), Int64(g.padding)], rightPadding), "conv bwd data desc \(g)")
        guard let p = withUnsafePointer(to: &desc, { Primitive(name: "conv bwd-data \(g)", opDesc: $0, hint: forwardPrimitive) }) else {
            fatalError("no oneDNN backward-data implementation for \(g) in \(type)")
        }
        backwardDataPrimitive = p
        return p
    }

    /// Primitive for the weight (and bias) gradients; fp32 weight gradients when oneDNN offers them.
    private var backwardWeights: Primitive {
        lazyPrimitiveLock.lock()
        defer { lazyPrimitiveLock.unlock() }
        if let p = backwardWeightsPrimitive { return p }
        let g = geometry
        let s = [Int64(g.stride), Int64(g.stride)], pl = [Int64(g.padding), Int64(g.padding)]
        func make(_ gradType: ScalarType) -> Primitive? {
            var desc = dnnl_convolution_desc_t()
            var src = Layout.any(g.srcDims, type).md, ddst = Layout.any(g.dstDims, type).md
            var dw = Layout.any(g.weightDims, gradType).md
            var db = Layout.plain([g.outChannels], gradType).md
            let status = withUnsafePointer(to: &db) { biasPointer in
                dnnl_convolution_backward_weights_desc_init(&desc, dnnl_convolution_direct, &src, &dw,
                    g.hasBias ? biasPointer : nil, &ddst, s, pl, rightPadding)
            }
            guard status == dnnl_success else { return nil }
            return withUnsafePointer(to: &desc) { Primitive(name: "conv bwd-weights \(g)", opDesc: $0, hint: forwardPrimitive) }
        }
        guard let p = make(.f32) ?? make(type) else { fatalError("no oneDNN backward-weights implementation for \(g) in \(type)") }
        backwardWeightsPrimitive = p
        return p
    }

    /// Layout the backward-data pass wants the output gradient in.
    public var backwardDataDiffDstLayout: Layout { backwardData.layout(dnnl_query_diff_dst_md) }
    /// Layout the backward-data pass wants the weights in.
    public var backwardDataWeightsLayout: Layout { backwardData.layout(dnnl_query_weights_md) }
    /// Layout of the input gradient.
    public var diffSrcLayout: Layout { backwardData.layout(dnnl_query_diff_src_md) }
    /// Layout the backward-weights pass wants the input in.
    public var backwardWeightsSrcLayout: Layout { backwardWeights.layout(dnnl_query_src_md) }
    /// Layout the backward-weights pass wants the output gradient in.
    public var backwardWeightsDiffDstLayout: Layout { backwardWeights.layout(dnnl_query_diff_dst_md) }
    /// Layout of the weight gradient.
    public var diffWeightsLayout: Layout { backwardWeights.layout(dnnl_query_diff_weights_md) }
    /// Layout of the bias gradient.
    public var diffBiasLayout: Layout { backwardWeights.layout(dnnl_query_diff_weights_md, 1) }
    /// Implementation names of the backward passes.
    public var backwardImplementations: (data: String, weights: String) { (backwardData.implementation, backwardWeights.implementation) }

    /// dst = conv(src, weights) + bias. Operands must be in `srcLayout`, `weightsLayout`, `dstLayout`.
    public func forward(src: Operand, weights: Operand, bias: Operand?, dst: Operand) {
        var args = [(Arg.src, src), (Arg.weights, weights), (Arg.dst, dst)]
        if let bias { args.append((Arg.bias, bias)) }
        forwardPrimitive.execute(args)
    }

    /// diffSrc = convᵀ(diffDst, weights), in the backward-data layouts.
    public func backwardData(diffDst: Operand, weights: Operand, diffSrc: Operand) {
        backwardData.execute([(Arg.diffDst, diffDst), (Arg.weights, weights), (Arg.diffSrc, diffSrc)])
    }

    /// diffWeights (and diffBias) from src and diffDst, in the backward-weights layouts.
    public func backwardWeights(src: Operand, diffDst: Operand, diffWeights: Operand, diffBias: Operand?) {
        var args = [(Arg.src, src), (Arg.diffDst, diffDst), (Arg.diffWeights, diffWeights)]
        if let diffBias { args.append((Arg.diffBias, diffBias)) }
        backwardWeights.execute(args)
    }
}

/// Cache of kernel objects by key (each kernel owns its primitives).
final class KernelCache: @unchecked Sendable {
    static let shared = KernelCache()
    private var entries: [String: AnyObject] = [:]
    private let lock = NSLock()

    func get<T: AnyObject>(_ key: String, _ make: () -> T) -> T {
        lock.lock()
        if let k = entries[key] as? T { lock.unlock(); return k }
        lock.unlock()
        let k = make()
        lock.lock(); entries[key] = k; lock.unlock()
        return k
    }

    var all: [String: AnyObject] { lock.lock(); defer { lock.unlock() }; return entries }
}
