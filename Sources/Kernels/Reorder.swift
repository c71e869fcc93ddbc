import CDNNL

/// Copies a tensor between layouts (and element types): oneDNN reorder, cached per layout pair.
public enum Reorder {
    /// dst = src converted to dst's layout and type; dims must match.
    public static func run(from src: Operand, to dst: Operand) {
        precondition(src.layout.dims == dst.layout.dims, "reorder: dims \(src.layout.dims) vs \(dst.layout.dims)")
        let key = "reorder \(src.layout.key)->\(dst.layout.key)"
        let kernel = KernelCache.shared.get(key) { () -> PrimitiveBox in
            var pd: dnnl_primitive_desc_t?
            var s = src.layout.md, d = dst.layout.md
            check(dnnl_reorder_primitive_desc_create(&pd, &s, Runtime.shared.engine, &d, Runtime.shared.engine, Runtime.shared.attributes), key)
            return PrimitiveBox(Primitive(name: key, pd: pd!))
        }
        kernel.primitive.execute([(Arg.src, src), (Arg.dst, dst)])
    }
}

/// Holds one primitive in the kernel cache.
final class PrimitiveBox: @unchecked Sendable {
    let primitive: Primitive
    init(_ p: Primitive) { primitive = p }
}
