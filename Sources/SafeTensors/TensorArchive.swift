#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A safetensors archive in memory: named tensors in a stable order plus string metadata.
///
/// The order is the insertion order (for archives read from a file: the header's key order),
/// so writing the same archive twice gives identical bytes.
public struct TensorArchive: Equatable, Sendable {
    /// One stored tensor: its element type, shape and raw little-endian bytes.
    public struct Entry: Equatable, Sendable {
        /// The element type.
        public var dtype: DType
        /// The dimensions, outermost first; `[]` is a scalar (one element).
        public var shape: [Int]
        /// The raw little-endian element bytes; must hold `elementCount * dtype.byteSize` bytes.
        public var bytes: [UInt8]

        /// Creates an entry without checking; `TensorArchive.write` and `encoded` validate it.
        public init(dtype: DType, shape: [Int], bytes: [UInt8]) {
            self.dtype = dtype
            self.shape = shape
            self.bytes = bytes
        }

        /// The product of the dimensions, or nil if a dimension is negative or the product overflows.
        public var elementCount: Int? { TensorArchive.elementCount(of: shape) }

        /// The byte count the shape and dtype call for, or nil if invalid or overflowing.
        public var expectedByteCount: Int? {
            guard let count = elementCount else { return nil }
            let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
            return overflow ? nil : bytes
        }
    }

    /// The header key that holds metadata rather than a tensor, so no tensor may use it.
    public static let metadataKey = "__metadata__"

    /// Free-form string metadata, written as the header's `__metadata__` object (keys sorted).
    public var metadata: [String: String]
    private(set) var order: [String]
    private(set) var entries: [String: Entry]

    /// Creates an empty archive, optionally with metadata.
    public init(metadata: [String: String] = [:]) {
        self.metadata = metadata
        self.order = []
        self.entries = [:]
    }

    /// Tensor names in archive order.
    public var names: [String] { order }

    /// The number of tensors.
    public var count: Int { order.count }

    /// Whether the archive holds no tensors.
    public var isEmpty: Bool { order.isEmpty }

    /// Whether a tensor of this name exists.
    public func contains(_ name: String) -> Bool { entries[name] != nil }

    /// The entry of this name, or nil.
    public subscript(name: String) -> Entry? { entries[name] }

    /// Equal when metadata, order and every entry are equal.
    public static func == (lhs: TensorArchive, rhs: TensorArchive) -> Bool {
        lhs.metadata == rhs.metadata && lhs.order == rhs.order && lhs.entries == rhs.entries
    }

    // MARK: - Raw access

    /// The entry of this name, or a `.missingTensor` error naming it.
    public func entry(_ name: String) throws -> Entry {
        guard let entry = entries[name] else {
            throw SafeTensorsError(.missingTensor, tensor: name, "no such tensor (have \(order.count))")
        }
        return entry
    }

    /// The shape of the named tensor.
    public func shape(of name: String) throws -> [Int] { try entry(name).shape }

    /// Stores `entry` under `name`, replacing any tensor of that name in place (keeping its position).
    /// Throws `.invalidTensor` if the name is reserved or the byte count disagrees with shape and dtype.
    public mutating func set(_ name: String, entry: Entry) throws {
        try Self.validate(name: name, entry: entry)
        if entries.updateValue(entry, forKey: name) == nil { order.append(name) }
    }

    /// Stores raw little-endian bytes of the given dtype and shape.
    public mutating func set(_ name: String, dtype: DType, shape: [Int], bytes: [UInt8]) throws {
        try set(name, entry: Entry(dtype: dtype, shape: shape, bytes: bytes))
    }

    /// Removes the named tensor and returns it, or returns nil if absent.
    @discardableResult
    public mutating func remove(_ name: String) -> Entry? {
        guard let removed = entries.removeValue(forKey: name) else { return nil }
        order.removeAll { $0 == name }
        return removed
    }

    /// The raw bytes of the named tensor.
    public func bytes(_ name: String) throws -> [UInt8] { try entry(name).bytes }

    // MARK: - Typed setters

    /// Stores `floats` as F32 with `shape`; throws if the count is not the shape's product.
    public mutating func set(_ name: String, floats: [Float], shape: [Int]) throws {
        try checkCount(name, floats.count, shape)
        try set(name, entry: Entry(dtype: .f32, shape: shape, bytes: Self.littleEndianBytes(floats)))
    }

    /// Stores `floats` rounded to BF16 (nearest even) with `shape`.
    public mutating func set(_ name: String, bf16 floats: [Float], shape: [Int]) throws {
        try checkCount(name, floats.count, shape)
        let halves = floats.map(HalfConversion.bf16(from:))
        try set(name, entry: Entry(dtype: .bf16, shape: shape, bytes: Self.littleEndianBytes(halves)))
    }

    /// Stores `floats` rounded to IEEE F16 (nearest even; overflow to infinity) with `shape`.
    public mutating func set(_ name: String, f16 floats: [Float], shape: [Int]) throws {
        try checkCount(name, floats.count, shape)
        let halves = floats.map(HalfConversion.f16(from:))
        try set(name, entry: Entry(dtype: .f16, shape: shape, bytes: Self.littleEndianBytes(halves)))
    }

    /// Stores `doubles` as F64 with `shape`.
    public mutating func set(_ name: String, doubles: [Double], shape: [Int]) throws {
        try checkCount(name, doubles.count, shape)
        try set(name, entry: Entry(dtype: .f64, shape: shape, bytes: Self.littleEndianBytes(doubles)))
    }

    /// Stores `int64s` as I64 with `shape`.
    public mutating func set(_ name: String, int64s: [Int64], shape: [Int]) throws {
        try checkCount(name, int64s.count, shape)
        try set(name, entry: Entry(dtype: .i64, shape: shape, bytes: Self.littleEndianBytes(int64s)))
    }

    /// Stores `int32s` as I32 with `shape`.
    public mutating func set(_ name: String, int32s: [Int32], shape: [Int]) throws {
        try checkCount(name, int32s.count, shape)
        try set(name, entry: Entry(dtype: .i32, shape: shape, bytes: Self.littleEndianBytes(int32s)))
    }

    // MARK: - Typed getters

    /// The named tensor as Floats: F32 as stored, BF16 and F16 widened exactly.
    public func floats(_ name: String) throws -> [Float] {
        let entry = try entry(name)
        switch entry.dtype {
        case .f32:
            return Self.values(entry.bytes, as: Float.self)
        case .bf16:
            return Self.values(entry.bytes, as: UInt16.self).map(HalfConversion.float(fromBF16:))
        case .f16:
            return Self.values(entry.bytes, as: UInt16.self).map(HalfConversion.float(fromF16:))
        default:
            throw SafeTensorsError(.dtypeMismatch, tensor: name, "expected F32, BF16 or F16, found \(entry.dtype.rawValue)")
        }
    }

    /// Like `floats(_:)`, but first throws `.shapeMismatch` unless the stored shape equals `shape`.
    public func floats(_ name: String, shape: [Int]) throws -> [Float] {
        try expectShape(name, shape)
        return try floats(name)
    }

    /// The named F64 tensor as Doubles.
    public func doubles(_ name: String) throws -> [Double] {
        try typed(name, .f64, Double.self)
    }

    /// Like `doubles(_:)`, but first checks the shape.
    public func doubles(_ name: String, shape: [Int]) throws -> [Double] {
        try expectShape(name, shape)
        return try doubles(name)
    }

    /// The named I64 tensor as Int64s.
    public func int64s(_ name: String) throws -> [Int64] {
        try typed(name, .i64, Int64.self)
    }

    /// Like `int64s(_:)`, but first checks the shape.
    public func int64s(_ name: String, shape: [Int]) throws -> [Int64] {
        try expectShape(name, shape)
        return try int64s(name)
    }

    /// The named I32 tensor as Int32s.
    public func int32s(_ name: String) throws -> [Int32] {
        try typed(name, .i32, Int32.self)
    }

    /// Like `int32s(_:)`, but first checks the shape.
    public func int32s(_ name: String, shape: [Int]) throws -> [Int32] {
        try expectShape(name, shape)
        return try int32s(name)
    }

    // MARK: - Helpers

    /// The product of `shape`, or nil if a dimension is negative or the product overflows Int.
    static func elementCount(of shape: [Int]) -> Int? {
        var product = 1
        for dim in shape {
            guard dim >= 0 else { return nil }
            let (next, overflow) = product.multipliedReportingOverflow(by: dim)
            guard !overflow else { return nil }
            product = next
        }
        return product
    }

    /// Throws `.invalidTensor` unless `entry` may be stored under `name` as is.
    static func validate(name: String, entry: Entry, path: String? = nil) throws {
        guard name != metadataKey else {
            throw SafeTensorsError(.invalidTensor, path: path, tensor: name, "the name is reserved for metadata")
        }
        guard let expected = entry.expectedByteCount else {
            throw SafeTensorsError(.invalidTensor, path: path, tensor: name,
                                   "shape \(entry.shape) has a negative dimension or too many elements")
        }
        guard expected == entry.bytes.count else {
            throw SafeTensorsError(.invalidTensor, path: path, tensor: name,
                                   "shape \(entry.shape) of \(entry.dtype.rawValue) needs \(expected) bytes, have \(entry.bytes.count)")
        }
    }

    private func checkCount(_ name: String, _ count: Int, _ shape: [Int]) throws {
        guard let expected = Self.elementCount(of: shape) else {
            throw SafeTensorsError(.invalidTensor, tensor: name,
                                   "shape \(shape) has a negative dimension or too many elements")
        }
        guard expected == count else {
            throw SafeTensorsError(.invalidTensor, tensor: name,
                                   "shape \(shape) holds \(expected) elements, given \(count)")
        }
    }

    private func expectShape(_ name: String, _ shape: [Int]) throws {
        let found = try entry(name).shape
        guard found == shape else {
            throw SafeTensorsError(.shapeMismatch, tensor: name, "expected shape \(shape), found \(found)")
        }
    }

    private func typed<T: FixedWidthInteger & BitwiseCopyable>(_ name: String, _ dtype: DType, _: T.Type) throws -> [T] {
        let entry = try entry(name)
        guard entry.dtype == dtype else {
            throw SafeTensorsError(.dtypeMismatch, tensor: name, "expected \(dtype.rawValue), found \(entry.dtype.rawValue)")
        }
        return Self.values(entry.bytes, as: T.self)
    }

    private func typed(_ name: String, _ dtype: DType, _: Double.Type) throws -> [Double] {
        let entry = try entry(name)
        guard entry.dtype == dtype else {
            throw SafeTensorsError(.dtypeMismatch, tensor: name, "expected \(dtype.rawValue), found \(entry.dtype.rawValue)")
        }
        return Self.values(entry.bytes, as: Double.self)
    }

    /// Reinterprets little-endian bytes as values with one bulk copy (a loop only on big-endian hosts).
    static func values<T: BitwiseCopyable>(_ bytes: [UInt8], as _: T.Type) -> [T] {
        let count = bytes.count / MemoryLayout<T>.stride
        #if _endian(big)
        var result: [T]
        #else
        let result: [T]
        #endif
        result = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            bytes.withUnsafeBytes { source in
                if count > 0, let base = buffer.baseAddress, let src = source.baseAddress {
                    memcpy(base, src, count * MemoryLayout<T>.stride)
                }
            }
            initialized = count
        }
        #if _endian(big)
        swapBytes(&result)
        #endif
        return result
    }

    /// Copies values out as little-endian bytes with one bulk copy.
    static func littleEndianBytes<T: BitwiseCopyable>(_ values: [T]) -> [UInt8] {
        #if _endian(big)
        var values = values
        swapBytes(&values)
        #endif
        return values.withUnsafeBytes { [UInt8]($0) }
    }

    #if _endian(big)
    private static func swapBytes<T>(_ values: inout [T]) {
        values.withUnsafeMutableBytes { raw in
            let size = MemoryLayout<T>.stride
            var offset = 0
            while offset < raw.count {
                var i = offset, j = offset + size - 1
                while i < j { raw.swapAt(i, j); i += 1; j -= 1 }
                offset += size
            }
        }
    }
    #endif
}
