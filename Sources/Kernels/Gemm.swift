import CDNNL

/// Single-precision matrix products on oneDNN's sgemm (row-major, as in C).
public enum Gemm {
    /// C[M,N] = alpha * op(A) * op(B) + beta * C, row-major; op is an optional transpose.
    /// A is [M,K] (or [K,M] when transA), B is [K,N] (or [N,K] when transB).
    public static func sgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if m == 0 || n == 0 { return }
        // Serialised with every primitive execution: oneDNN's sgemm called from two threads at
        // once gives other results than alone (two trainings in one process drifted apart;
        // ConcurrentTrainingTests), and a product already uses all compute threads.
        Primitive.executionLock.lock()
        defer { Primitive.executionLock.unlock() }
        let status = dnnl_sgemm(
            transA ? Int8(UInt8(ascii: "T")) : Int8(UInt8(ascii: "N")),
            transB ? Int8(UInt8(ascii: "T")) : Int8(UInt8(ascii: "N")),
            Int64(m), Int64(n), Int64(k), alpha, a, Int64(lda), b, Int64(ldb), beta, c, Int64(ldc))
        check(status, "dnnl_sgemm(\(m)x\(n)x\(k))")
    }
}

/// bfloat16 numbers stored as their 16-bit patterns (the upper half of the fp32 pattern): the
/// element type of the bf16 operands of `Gemm.bf16gemm`.
public typealias BF16Bits = UInt16

extension Gemm {
    /// fp32 → bf16, rounded to nearest with ties to even (as oneDNN's reorder); NaN stays a NaN.
    @inline(__always)
    public static func bf16(_ x: Float) -> BF16Bits {
        let u = x.bitPattern
        if x.isNaN { return BF16Bits(truncatingIfNeeded: u >> 16) | 0x40 }
        return BF16Bits(truncatingIfNeeded: (u &+ 0x7FFF &+ ((u >> 16) & 1)) >> 16)
    }

    /// bf16 → fp32 (exact).
    @inline(__always)
    public static func float(bf16 h: BF16Bits) -> Float { Float(bitPattern: UInt32(h) << 16) }

    /// dst[0..<count] = bf16(src[0..<count]) (the compiler vectorises this loop).
    public static func convertToBF16(_ src: UnsafePointer<Float>, count: Int, into dst: UnsafeMutablePointer<BF16Bits>) {
        for i in 0..<count { dst[i] = bf16(src[i]) }
    }

    /// C[M,N] = A·op(B) with bf16 inputs and an fp32 result, row-major, through oneDNN's matmul
    /// primitive (bf16 dot products where the CPU has them: about twice fp32's rate, half the
    /// bytes of B to stream). A is [M,K] (leading dimension lda), B is [K,N] (or [N,K] when
    /// transB), C is [M,N]. Products are exact in fp32 and summed in fp32; only the inputs are
    /// rounded (8 bits of mantissa). The primitive is created once per shape and cached.
    public static func bf16gemm(
        transB: Bool, m: Int, n: Int, k: Int,
        a: UnsafePointer<BF16Bits>, lda: Int, b: UnsafePointer<BF16Bits>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if m == 0 || n == 0 { return }
        let aLayout = Layout.strided([m, k], [lda, 1], .bf16)
        let bLayout = Layout.strided([k, n], transB ? [1, ldb] : [ldb, 1], .bf16)
        let cLayout = Layout.strided([m, n], [ldc, 1], .f32)
        let key = "matmul \(aLayout.key) \(bLayout.key) \(cLayout.key)"
        runMatmul(key: key, (aLayout, bLayout, cLayout), a: a, b: b, c: c) {
            var desc = dnnl_matmul_desc_t()
            var (amd, bmd, cmd) = (aLayout.md, bLayout.md, cLayout.md)
            check(dnnl_matmul_desc_init(&desc, &amd, &bmd, nil, &cmd), key)
            return withUnsafePointer(to: &desc) { Primitive(name: key, opDesc: UnsafeRawPointer($0)) }
        }
    }

    /// Executes the matmul primitive cached under `key` (made by `make` on first use; trapping if
    /// oneDNN has none) on A, B and C with the given layouts.
    private static func runMatmul(key: String, _ layouts: (a: Layout, b: Layout, c: Layout),
                                  a: UnsafeRawPointer, b: UnsafeRawPointer, c: UnsafeMutableRawPointer,
                                  make: () -> Primitive?) {
        let kernel = KernelCache.shared.get(key) { () -> PrimitiveBox in
            guard let p = make() else { fatalError("oneDNN has no such primitive: \(key)") }
            return PrimitiveBox(p)
        }
        kernel.primitive.execute([
            (Arg.src, Operand(layouts.a, UnsafeMutableRawPointer(mutating: a))),
            (Arg.weights, Operand(layouts.b, UnsafeMutableRawPointer(mutating: b))),
            (Arg.dst, Operand(layouts.c, c)),
        ])
    }

    /// E[M,N] = bf16(exp(scale·(A·Bᵀ − shift))) for bf16 A: [M,K] and B: [N,K] (row-major, leading
    /// dimensions lda, ldb, ldc): `bf16gemm` with the exponential applied by oneDNN to the fp32 sums
    /// as they leave the product (post-ops: linear, then exp) and the result rounded to bf16 there,
    /// so the [M,N] fp32 product is never written nor read back. Where oneDNN has no such primitive
    /// (`bf16gemmExponentialsAvailable` false) it traps; callers check first.
    public static func bf16gemmExponentials(
        m: Int, n: Int, k: Int, a: UnsafePointer<BF16Bits>, lda: Int, b: UnsafePointer<BF16Bits>, ldb: Int,
        shift: Float, scale: Float, c: UnsafeMutablePointer<BF16Bits>, ldc: Int
    ) {
        if m == 0 || n == 0 { return }
        let (aLayout, bLayout, cLayout) = exponentialLayouts(m: m, n: n, k: k, lda: lda, ldb: ldb, ldc: ldc)
        let key = "matmul-exp \(shift) \(scale) \(aLayout.key) \(bLayout.key) \(cLayout.key)"
        runMatmul(key: key, (aLayout, bLayout, cLayout), a: a, b: b, c: c) {
            exponentialPrimitive(aLayout, bLayout, cLayout, shift: shift, scale: scale)
        }
    }

    /// Whether oneDNN has the bf16 matmul with exp post-ops of `bf16gemmExponentials` on this CPU.
    public static let bf16gemmExponentialsAvailable: Bool = {
        let (a, b, c) = exponentialLayouts(m: 2, n: 64, k: 16, lda: 16, ldb: 16, ldc: 64)
        return exponentialPrimitive(a, b, c, shift: 1, scale: 1) != nil
    }()

    /// The layouts of `bf16gemmExponentials`: A [M,K] bf16, B [K,N] bf16 stored as [N,K], E [M,N] bf16.
    private static func exponentialLayouts(m: Int, n: Int, k: Int, lda: Int, ldb: Int, ldc: Int) -> (Layout, Layout, Layout) {
        (Layout.strided([m, k], [lda, 1], .bf16), Layout.strided([k, n], [1, ldb], .bf16),
         Layout.strided([m, n], [ldc, 1], .bf16))
    }

    /// The matmul primitive with post-ops x ↦ scale·x − scale·shift, then x ↦ eˣ (nil: none exists).
    private static func exponentialPrimitive(_ aLayout: Layout, _ bLayout: Layout, _ cLayout: Layout, shift: Float, scale: Float) -> Primitive? {
        var desc = dnnl_matmul_desc_t()
        var (amd, bmd, cmd) = (aLayout.md, bLayout.md, cLayout.md)
        guard dnnl_matmul_desc_init(&desc, &amd, &bmd, nil, &cmd) == dnnl_success else { return nil }
        var attributes: dnnl_primitive_attr_t?
        var postOps: dnnl_post_ops_t?
        check(dnnl_primitive_attr_clone(&attributes, Runtime.shared.attributes), "primitive_attr_clone")
        check(dnnl_post_ops_create(&postOps), "post_ops_create")
        defer { dnnl_post_ops_destroy(postOps); dnnl_primitive_attr_destroy(attributes) }
        check(dnnl_post_ops_append_eltwise(postOps, 1, dnnl_eltwise_linear, scale, -scale * shift), "post_ops_append_eltwise(linear)")
        check(dnnl_post_ops_append_eltwise(postOps, 1, dnnl_eltwise_exp, 0, 0), "post_ops_append_eltwise(exp)")
        check(dnnl_primitive_attr_set_post_ops(attributes, postOps), "primitive_attr_set_post_ops")
        return withUnsafePointer(to: &desc) {
            Primitive(name: "matmul-exp", opDesc: UnsafeRawPointer($0), attributes: attributes)
        }
    }

    /// Whether oneDNN has a bf16 matmul on this CPU (AVX-512 cores have one; an AVX2-only CPU may
    /// not), checked once on a small product of both kinds `bf16gemm` is used for.
    public static let bf16gemmAvailable: Bool =
        bf16gemmImplementation(transB: true, m: 2, n: 64, k: 16, lda: 16, ldb: 16, ldc: 64) != "none"
        && bf16gemmImplementation(transB: false, m: 2, n: 16, k: 64, lda: 64, ldb: 16, ldc: 16) != "none"

    /// The oneDNN implementation `bf16gemm` uses for this shape (e.g. "brg:avx512_core_bf16"), for
    /// benchmarks and checks; creates the primitive if needed.
    public static func bf16gemmImplementation(transB: Bool, m: Int, n: Int, k: Int, lda: Int, ldb: Int, ldc: Int) -> String {
        let aLayout = Layout.strided([m, k], [lda, 1], .bf16)
        let bLayout = Layout.strided([k, n], transB ? [1, ldb] : [ldb, 1], .bf16)
        let cLayout = Layout.strided([m, n], [ldc, 1], .f32)
        var desc = dnnl_matmul_desc_t()
        var (amd, bmd, cmd) = (aLayout.md, bLayout.md, cLayout.md)
        guard dnnl_matmul_desc_init(&desc, &amd, &bmd, nil, &cmd) == dnnl_success else { return "none" }
        return withUnsafePointer(to: &desc) { Primitive(name: "matmul", opDesc: UnsafeRawPointer($0))?.implementation } ?? "none"
    }
}
