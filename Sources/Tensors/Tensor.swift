@_exported import enum Kernels.ScalarType
import Kernels

/// Element type of a tensor: `.f32` or `.bf16` (re-exported from the kernel layer).
public typealias DType = ScalarType

/// Errors raised at the tensor API: shapes or options that do not fit.
public enum TensorError: Error, CustomStringConvertible, Equatable {
    /// Shapes of the operands do not agree; the message names the operation and both shapes.
    case shapeMismatch(String)
    /// An option is out of range; the message names it.
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .shapeMismatch(let m): return "shape mismatch: \(m)"
        case .invalidArgument(let m): return "invalid argument: \(m)"
        }
    }
}

/// An n-dimensional array in fp32 or bf16 that can record the operations producing it, so that
/// `backward()` computes gradients of a scalar with respect to every tensor that requires them.
///
/// Activations of convolutional layers stay in the blocked layouts oneDNN chose for them; values
/// are converted to plain row-major order only when read out (`toArray`) or when a plain-only
/// operation needs them.
public final class Tensor: @unchecked Sendable, CustomStringConvertible {
    /// Logical dimensions, e.g. [N, C, H, W].
    public let shape: [Int]
    /// Memory layout (plain or blocked) and element type.
    public let layout: Layout
    /// The memory holding the elements.
    public let storage: Storage
    /// Whether gradients flow to this tensor (parameters, and results computed from them).
    public internal(set) var requiresGrad: Bool
    /// Gradient accumulated by `backward()` for a leaf tensor that requires it (plain layout).
    public var grad: Tensor?
    /// The operation that produced this tensor, while the graph is alive.
    var node: Node?

    /// Element type.
    public var dtype: DType { layout.type }
    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }

    /// A tensor over existing storage in the given layout (no copy).
    init(layout: Layout, storage: Storage, requiresGrad: Bool = false) {
        self.shape = layout.dims
        self.layout = layout
        self.storage = storage
        self.requiresGrad = requiresGrad
    }

    /// An uninitialised tensor in the given layout.
    convenience init(layout: Layout) {
        self.init(layout: layout, storage: Storage(byteCount: layout.byteCount))
    }

    /// A plain fp32 tensor holding `values` (row-major), optionally a leaf that requires gradients.
    public convenience init(shape: [Int], values: [Float], requiresGrad: Bool = false) throws {
        guard shape.allSatisfy({ $0 >= 0 }) else { throw TensorError.invalidArgument("negative dimension in shape \(shape)") }
        guard values.count == shape.reduce(1, *) else {
            throw TensorError.shapeMismatch("\(values.count) values for shape \(shape) (\(shape.reduce(1, *)) elements)")
        }
        let layout = Layout.plain(shape, .f32)
        self.init(layout: layout, storage: Storage(byteCount: layout.byteCount), requiresGrad: requiresGrad)
        values.withUnsafeBufferPointer { src in
            floats.update(from: src.baseAddress!, count: values.count)
        }
    }

    /// A plain tensor of zeros.
    public static func zeros(_ shape: [Int], dtype: DType = .f32, requiresGrad: Bool = false) -> Tensor {
        let layout = Layout.plain(shape, dtype)
        return Tensor(layout: layout, storage: Storage(zeroedByteCount: layout.byteCount), requiresGrad: requiresGrad)
    }

    /// A plain fp32 tensor filled with one value.
    public static func full(_ shape: [Int], _ value: Float) -> Tensor {
        let t = Tensor(layout: Layout.plain(shape, .f32))
        t.floats.initialize(repeating: value, count: t.count)
        return t
    }

    /// Marks a leaf tensor as one whose gradient `backward()` should compute.
    public func requiringGrad(_ flag: Bool = true) -> Tensor {
        requiresGrad = flag
        return self
    }

    /// The elements as fp32 pointer; only valid for plain fp32 tensors.
    var floats: UnsafeMutablePointer<Float> {
        precondition(dtype == .f32 && layout.isPlain, "floats: tensor is not plain fp32 (\(layout))")
        return storage.pointer.assumingMemoryBound(to: Float.self)
    }

    /// Read/write access to the elements of a plain fp32 tensor (row-major).
    public func withFloats<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeMutableBufferPointer(start: floats, count: count))
    }

    /// Operand view for kernels.
    var operand: Operand { Operand(layout, storage.pointer, owner: storage) }

    /// The same values in `target` layout (and type); returns self when the layout already matches.
    func converted(to target: Layout) -> Tensor {
        if target == layout { return self }
        let out = Tensor(layout: target)
        Reorder.run(from: operand, to: out.operand)
        return out
    }

    /// The same values as a plain fp32 tensor (self when already plain fp32). Not recorded.
    public func plainF32() -> Tensor { converted(to: Layout.plain(shape, .f32)) }

    /// All elements, row-major, as fp32.
    public func toArray() -> [Float] {
        let p = plainF32()
        return withExtendedLifetime(p) { Array(UnsafeBufferPointer(start: p.floats, count: count)) }
    }

    /// The single element of a one-element tensor.
    public var scalar: Float { toArray()[0] }

    /// A copy that shares no graph and no storage (plain layout of the same type).
    public func detachedCopy() -> Tensor {
        let out = Tensor(layout: Layout.plain(shape, dtype))
        Reorder.run(from: operand, to: out.operand)
        return out
    }

    /// Copies values from a tensor of the same shape into this one (in place, any layouts).
    public func assign(from other: Tensor) throws {
        guard other.shape == shape else { throw TensorError.shapeMismatch("assign: \(other.shape) into \(shape)") }
        Reorder.run(from: other.operand, to: operand)
    }

    public var description: String { "Tensor(\(shape), \(dtype), \(layout.isPlain ? "plain" : "blocked"))" }
}
