import CDNNL

/// Element types the kernels compute in.
public enum ScalarType: Sendable, Equatable {
    /// IEEE single precision.
    case f32
    /// bfloat16: fp32's exponent, 8 bits of mantissa; runs on AMX tiles.
    case bf16

    /// Bytes per element.
    public var size: Int { self == .f32 ? 4 : 2 }

    var dnnl: dnnl_data_type_t { self == .f32 ? dnnl_f32 : dnnl_bf16 }
}

/// How a tensor's elements are laid out in memory: a oneDNN memory descriptor, either plain
/// (row-major, e.g. NCHW) or a blocked layout oneDNN chose (e.g. nChw16c). Opaque above Kernels.
public struct Layout: @unchecked Sendable, CustomStringConvertible {
    var md: dnnl_memory_desc_t

    init(md: dnnl_memory_desc_t) { self.md = md }

    /// A plain row-major layout of `dims` (NCHW for 4-d, OIHW for weights).
    public static func plain(_ dims: [Int], _ type: ScalarType) -> Layout {
        var md = dnnl_memory_desc_t()
        let d = dims.map { Int64($0) }
        // Strides of a row-major layout.
        var strides = [Int64](repeating: 1, count: dims.count)
        if dims.count > 1 { for i in stride(from: dims.count - 2, through: 0, by: -1) { strides[i] = strides[i + 1] * d[i + 1] } }
        check(dnnl_memory_desc_init_by_strides(&md, Int32(dims.count), d, type.dnnl, strides), "memory_desc_init_by_strides")
        return Layout(md: md)
    }

    /// A row-major-like layout of `dims` with explicit element strides (e.g. a transposed view:
    /// dims [K, N], strides [1, K]).
    public static func strided(_ dims: [Int], _ strides: [Int], _ type: ScalarType) -> Layout {
        var md = dnnl_memory_desc_t()
        check(dnnl_memory_desc_init_by_strides(&md, Int32(dims.count), dims.map { Int64($0) }, type.dnnl, strides.map { Int64($0) }),
              "memory_desc_init_by_strides")
        return Layout(md: md)
    }

    /// A layout left for a primitive to choose (`format_tag any`).
    static func any(_ dims: [Int], _ type: ScalarType) -> Layout {
        var md = dnnl_memory_desc_t()
        check(dnnl_memory_desc_init_by_tag(&md, Int32(dims.count), dims.map { Int64($0) }, type.dnnl, dnnl_format_tag_any), "memory_desc_init_by_tag(any)")
        return Layout(md: md)
    }

    /// Logical dimensions.
    public var dims: [Int] {
        withUnsafeBytes(of: md.dims) { raw in
            let p = raw.bindMemory(to: Int64.self)
            return (0..<Int(md.ndims)).map { Int(p[$0]) }
        }
    }

    /// Element type.
    public var type: ScalarType { md.data_type == dnnl_bf16 ? .bf16 : .f32 }

    /// Bytes the layout occupies, padding included.
    public var byteCount: Int { withUnsafePointer(to: md) { Int(dnnl_memory_desc_get_size($0)) } }

    /// Whether this is the plain row-major layout of its dims.
    public var isPlain: Bool { self == Layout.plain(dims, type) }

    /// The same layout with another element type (same blocking).
    public func with(type newType: ScalarType) -> Layout {
        var m = md
        m.data_type = newType.dnnl
        // Padded sizes and strides do not depend on the element type in oneDNN's blocked format.
        return Layout(md: m)
    }

    /// A compact key for caches: dims, type, strides and inner blocking.
    var key: String {
        var s = "\(dims)\(type == .f32 ? "f" : "b")"
        if md.format_kind == dnnl_blocked {
            let b = md.format_desc.blocking
            let n = Int(md.ndims)
            withUnsafeBytes(of: b.strides) { r in s += "s" + r.bindMemory(to: Int64.self).prefix(n).map(String.init).joined(separator: ",") }
            if b.inner_nblks > 0 {
                withUnsafeBytes(of: b.inner_blks) { r in s += "b" + r.bindMemory(to: Int64.self).prefix(Int(b.inner_nblks)).map(String.init).joined(separator: ",") }
                withUnsafeBytes(of: b.inner_idxs) { r in s += "i" + r.bindMemory(to: Int64.self).prefix(Int(b.inner_nblks)).map(String.init).joined(separator: ",") }
            }
        } else {
            s += "k\(md.format_kind.rawValue)"
        }
        return s
    }

    public var description: String { "Layout(\(key))" }
}

extension Layout: Equatable {
    public static func == (a: Layout, b: Layout) -> Bool {
        withUnsafePointer(to: a.md) { pa in withUnsafePointer(to: b.md) { pb in dnnl_memory_desc_equal(pa, pb) != 0 } }
    }
}
