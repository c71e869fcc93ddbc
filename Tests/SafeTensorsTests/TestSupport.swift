import Foundation
import Testing
@testable import SafeTensors

/// A fresh empty directory under the system temporary directory, removed by `cleanup()`.
struct ScratchDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "safetensors-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func contents() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    }

    func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

/// Reads a whole file (test fixtures only).
func readBytes(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
}

/// Writes bytes to a file non-atomically (test fixtures only).
func writeBytes(_ bytes: [UInt8], to path: String) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// A hand-made safetensors image: length field (declared or actual), header text, data.
func rawFile(header: String, data: [UInt8] = [], declaredLength: UInt64? = nil) -> [UInt8] {
    let headerBytes = Array(header.utf8)
    return rawFile(headerBytes: headerBytes, data: data, declaredLength: declaredLength)
}

/// Like `rawFile(header:...)` with arbitrary header bytes (for invalid UTF-8).
func rawFile(headerBytes: [UInt8], data: [UInt8] = [], declaredLength: UInt64? = nil) -> [UInt8] {
    var length = declaredLength ?? UInt64(headerBytes.count)
    var out: [UInt8] = []
    for _ in 0..<8 {
        out.append(UInt8(truncatingIfNeeded: length))
        length >>= 8
    }
    return out + headerBytes + data
}

/// Decodes `bytes` and requires a `SafeTensorsError` of `kind` that names the source and mentions `mentioning`.
func expectRejected(
    _ bytes: [UInt8], _ kind: SafeTensorsError.Kind, mentioning: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    do {
        let archive = try TensorArchive(decoding: bytes, source: "hostile.safetensors")
        Issue.record("accepted a hostile file: \(archive.names)", sourceLocation: sourceLocation)
    } catch let error as SafeTensorsError {
        #expect(error.kind == kind, "\(error)", sourceLocation: sourceLocation)
        #expect(error.path == "hostile.safetensors", sourceLocation: sourceLocation)
        #expect(error.description.contains("hostile.safetensors"), sourceLocation: sourceLocation)
        if let mentioning {
            #expect(error.description.contains(mentioning), "\(error)", sourceLocation: sourceLocation)
        }
    } catch {
        Issue.record("wrong error type: \(error)", sourceLocation: sourceLocation)
    }
}

/// A small archive touching several dtypes, metadata, a scalar and a zero-size tensor.
func sampleArchive() throws -> TensorArchive {
    var archive = TensorArchive(metadata: ["format": "pt", "epoch": "3"])
    try archive.set("conv.weight", floats: (0..<24).map { Float($0) * 0.25 - 3 }, shape: [2, 3, 2, 2])
    try archive.set("bn.running_var", bf16: [1, 0.5, 3.140625], shape: [3])
    try archive.set("step", int64s: [42], shape: [])
    try archive.set("labels", int32s: [7, -1, 9, 0], shape: [4])
    try archive.set("empty", floats: [], shape: [0, 5])
    try archive.set("mask", dtype: .bool, shape: [3], bytes: [1, 0, 1])
    return archive
}

/// Deterministic 64-bit generator (SplitMix64) so fuzz failures reproduce.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A flag set once from another thread and read afterwards (tests only).
final class SharedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    /// Sets the flag.
    func set() { lock.lock(); value = true; lock.unlock() }
    /// Whether the flag was set.
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}
