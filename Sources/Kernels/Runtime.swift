import CDNNL
import Foundation

/// oneDNN argument identifiers (the DNNL_ARG_* macros), spelled out because they are macros.
enum Arg {
    static let src: Int32 = 1, src1: Int32 = 2, dst: Int32 = 17, weights: Int32 = 33, bias: Int32 = 41
    static let mean: Int32 = 49, variance: Int32 = 50
    static let workspace: Int32 = 64
    static let scratchpad: Int32 = 80
    static let diffSrc: Int32 = 129, diffDst: Int32 = 145, diffWeights: Int32 = 161, diffBias: Int32 = 169
    static func multipleSrc(_ i: Int) -> Int32 { 1024 + Int32(i) }
}

/// The process's oneDNN CPU engine and stream, and the attributes every primitive is created with.
final class Runtime: @unchecked Sendable {
    static let shared = Runtime()
    let engine: dnnl_engine_t
    let stream: dnnl_stream_t
    /// Scratchpad mode "user": each execution is handed the buffer of `Scratchpad.reserve`. The library's own
    /// mode keeps a thread-local buffer that only the thread which *created* a primitive has, so a
    /// primitive created on one thread and executed on another (Swift concurrency moves work
    /// between threads; tests share the kernel cache) wrote through a null pointer.
    let attributes: dnnl_primitive_attr_t

    private init() {
        var e: dnnl_engine_t?
        check(dnnl_engine_create(&e, dnnl_cpu, 0), "engine_create")
        engine = e!
        var s: dnnl_stream_t?
        check(dnnl_stream_create(&s, engine, UInt32(dnnl_stream_default_flags.rawValue)), "stream_create")
        stream = s!
        var a: dnnl_primitive_attr_t?
        check(dnnl_primitive_attr_create(&a), "primitive_attr_create")
        check(dnnl_primitive_attr_set_scratchpad_mode(a, dnnl_scratchpad_mode_user), "set_scratchpad_mode")
        attributes = a!
    }
}

/// The one scratchpad buffer every primitive execution uses; grown on demand. Only touched under
/// `Primitive.executionLock`, which already serialises executions.
enum Scratchpad {
    nonisolated(unsafe) private static var buffer: UnsafeMutableRawPointer?
    nonisolated(unsafe) private static var capacity = 0

    /// A buffer of at least `bytes` bytes (64-byte aligned), valid until the next call.
    static func reserve(_ bytes: Int) -> UnsafeMutableRawPointer {
        if bytes > capacity || buffer == nil {
            buffer?.deallocate()
            capacity = max(bytes, 4096)
            buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
        }
        return buffer!
    }
}

/// Guards the backward primitives kernels create on first use: two threads (e.g. parallel tests)
/// asking at once would otherwise both create one, and the loser's would be destroyed while the
/// other thread might already be executing it.
let lazyPrimitiveLock = NSLock()

/// A memory argument for a primitive: a layout, a pointer, and the object that owns the memory.
///
/// Holding the owner matters: `tensor.converted(to: l).operand` makes a temporary tensor whose
/// last use is the pointer read, so without a reference here Swift may free it (its block goes
/// back to the pool) before the kernel runs; another thread could then take and overwrite the
/// block mid-convolution. An operand passed to a kernel keeps its memory alive for the call.
public struct Operand {
    /// How the elements are laid out.
    public let layout: Layout
    /// Where they are.
    public let pointer: UnsafeMutableRawPointer
    /// What keeps `pointer` valid (a `Storage`); nil for memory the caller keeps alive itself.
    public let owner: AnyObject?

    /// Pairs a layout with memory of at least `layout.byteCount` bytes, owned by `owner`.
    public init(_ layout: Layout, _ pointer: UnsafeMutableRawPointer, owner: AnyObject? = nil) {
        self.layout = layout
        self.pointer = pointer
        self.owner = owner
    }
}

/// A created primitive with its descriptor; destroyed when the cache drops it.
final class Primitive: @unchecked Sendable {
    let pd: dnnl_primitive_desc_t
    let primitive: dnnl_primitive_t
    let name: String
    /// The scratchpad this primitive asks for at every execution (nil: none).
    let scratchpadLayout: Layout?
    static let executionLock = NSLock()

    /// Creates a primitive from an operation descriptor, with `attributes` (default: the shared
    /// ones, `Runtime.attributes`); returns nil if no implementation exists.
    convenience init?(name: String, opDesc: UnsafeRawPointer?, hint: Primitive? = nil, attributes: dnnl_primitive_attr_t? = nil) {
        var pd: dnnl_primitive_desc_t?
        let attributes = attributes ?? Runtime.shared.attributes
        guard dnnl_primitive_desc_create(&pd, opDesc, attributes, Runtime.shared.engine, hint?.pd) == dnnl_success, let pd else { return nil }
        self.init(name: name, pd: pd)
    }

    /// Wraps an already created primitive descriptor (reorder, sum).
    init(name: String, pd: dnnl_primitive_desc_t) {
        self.pd = pd
        var p: dnnl_primitive_t?
        check(dnnl_primitive_create(&p, pd), "primitive_create(\(name))")
        self.primitive = p!
        self.name = name
        let scratch = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0).map { Layout(md: $0.pointee) }
        scratchpadLayout = scratch.flatMap { $0.byteCount > 0 ? $0 : nil }
    }

    deinit {
        dnnl_primitive_destroy(primitive)
        dnnl_primitive_desc_destroy(pd)
    }

    /// The layout the primitive chose for a given argument kind.
    func layout(_ what: dnnl_query_t, _ index: Int32 = 0) -> Layout {
        guard let p = dnnl_primitive_desc_query_md(pd, what, index) else { fatalError("\(name): no md for query \(what)") }
        return Layout(md: p.pointee)
    }

    /// The implementation name oneDNN chose (e.g. "brgconv:avx512_core_amx_bf16").
    var implementation: String {
        var s: UnsafePointer<CChar>?
        dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &s)
        return s.map { String(cString: $0) } ?? "?"
    }

    /// Executes with the given (argument id, operand) pairs and waits for completion.
    /// Serialised process-wide: oneDNN's library-owned scratchpad is not safe for concurrent
    /// execution (each primitive already uses all compute threads).
    func execute(_ args: [(Int32, Operand)]) {
        Primitive.executionLock.lock()
        defer { Primitive.executionLock.unlock() }
        var mems: [dnnl_exec_arg_t] = []
        mems.reserveCapacity(args.count + 1)
        var created: [dnnl_memory_t] = []
        for (arg, op) in args {
            var m: dnnl_memory_t?
            var md = op.layout.md
            check(dnnl_memory_create(&m, &md, Runtime.shared.engine, op.pointer), "memory_create(\(name))")
            created.append(m!)
            mems.append(dnnl_exec_arg_t(arg: arg, memory: m))
        }
        // The scratchpad (user mode, see `Runtime.attributes`), when the primitive needs one.
        if let scratch = scratchpadLayout {
            var m: dnnl_memory_t?
            var smd = scratch.md
            check(dnnl_memory_create(&m, &smd, Runtime.shared.engine, Scratchpad.reserve(scratch.byteCount)), "memory_create(\(name) scratchpad)")
            created.append(m!)
            mems.append(dnnl_exec_arg_t(arg: Arg.scratchpad, memory: m))
        }
        let status = dnnl_primitive_execute(primitive, Runtime.shared.stream, Int32(mems.count), mems)
        if status != dnnl_success {
            // Say which argument disagrees with what the primitive was created for.
            let detail = args.map { arg, op -> String in
                guard let want = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, arg) else { return "arg \(arg): unexpected" }
                let wanted = Layout(md: want.pointee)
                return wanted == op.layout ? "arg \(arg): ok" : "arg \(arg): got \(op.layout.key), wants \(wanted.key)"
            }
            fatalError("oneDNN execute(\(name)) failed with status \(status.rawValue): " + detail.joined(separator: "; "))
        }
        check(dnnl_stream_wait(Runtime.shared.stream), "stream_wait(\(name))")
        for m in created { dnnl_memory_destroy(m) }
    }
}

/// Public view of the kernel layer's primitive cache.
public enum KernelDiagnostics {
    /// Cache key → oneDNN implementation names, for every convolution kernel created so far.
    public static var convolutionImplementations: [String: String] {
        var out: [String: String] = [:]
        for (key, kernel) in KernelCache.shared.all {
            if let conv = kernel as? ConvolutionKernel {
                let (d, w) = conv.backwardImplementations
                out[key] = "fwd \(conv.forwardImplementation), bwd-data \(d), bwd-weights \(w)"
            }
        }
        return out
    }
}
