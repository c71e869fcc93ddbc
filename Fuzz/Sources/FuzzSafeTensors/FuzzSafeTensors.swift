import CFuzzerDriver
import FuzzSupport
import SafeTensors

// A safetensors file through both readers of `TensorArchive`: from memory (`decoding:`) and
// from a file (`contentsOf:`, positioned reads). Both must agree; an archive that opens must
// give every tensor back through its typed accessor, and must survive encode → decode unchanged.

/// Reads every tensor through the accessor of its dtype and checks the value count.
func readEveryTensor(_ archive: TensorArchive) throws {
    for name in archive.names {
        guard let entry = archive[name], let count = entry.elementCount, let bytes = entry.expectedByteCount else {
            Harness.fail("tensor \(name) listed but without a countable entry")
        }
        Harness.require(entry.bytes.count == bytes, "tensor \(name): \(entry.bytes.count) bytes, its shape needs \(bytes)")
        let read: Int
        switch entry.dtype {
        case .f32, .bf16, .f16: read = try archive.floats(name, shape: entry.shape).count
        case .f64: read = try archive.doubles(name, shape: entry.shape).count
        case .i64: read = try archive.int64s(name, shape: entry.shape).count
        case .i32: read = try archive.int32s(name, shape: entry.shape).count
        default: read = count   // no typed accessor; the bytes were checked above
        }
        Harness.require(read == count, "tensor \(name): accessor gave \(read) values for \(count) elements")
    }
}

/// libFuzzer's entry point.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = Harness.bytes(data, size)
    let path = Harness.scratchPath("archive.safetensors")
    Harness.write(input, to: path)
    var fromMemory: Result<TensorArchive, SafeTensorsError> = .failure(SafeTensorsError(.io, "not run"))
    Harness.expectClean({
        do { fromMemory = .success(try TensorArchive(decoding: input)) } catch let error as SafeTensorsError {
            fromMemory = .failure(error)
            throw error
        }
    }, isExpected: { $0 is SafeTensorsError })
    Harness.expectClean({
        let fromFile = try TensorArchive(contentsOf: path)
        guard case .success(let archive) = fromMemory else {
            Harness.fail("the file reader accepted what the memory reader rejected: \(fromMemory)")
        }
        Harness.require(archive == fromFile && archive.metadata == fromFile.metadata, "the two readers disagree")
        try readEveryTensor(archive)
        let again = try TensorArchive(decoding: try archive.encoded())
        Harness.require(again == archive && again.metadata == archive.metadata, "encode → decode changed the archive")
    }, isExpected: { error in
        guard let error = error as? SafeTensorsError else { return false }
        // Both readers must reject the same files, for the same reason.
        if case .failure(let memoryError) = fromMemory { return memoryError.kind == error.kind }
        return false
    })
    return 0
}

/// libFuzzer's initialisation hook: writes the seed corpus when asked (see `Harness`).
@_cdecl("LLVMFuzzerInitialize")
public func initializeSafeTensors(_ argc: UnsafeMutablePointer<CInt>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> CInt {
    Harness.writeSeedsIfAsked {
        var mixed = TensorArchive(metadata: ["format": "pt", "note": "seed"])
        try mixed.set("weight", floats: (0..<12).map { Float($0) / 3 }, shape: [3, 4])
        try mixed.set("half", f16: [1, -2, 0.5, 65504], shape: [2, 2])
        try mixed.set("brain", bf16: [1, -2, 3.25], shape: [3])
        try mixed.set("wide", doubles: [1e300, -0.0], shape: [2])
        try mixed.set("index", int64s: [Int64.min, 0, Int64.max], shape: [3])
        try mixed.set("table", int32s: [1, 2, 3, 4], shape: [2, 2])
        try mixed.set("scalar", floats: [7], shape: [])
        try mixed.set("empty", floats: [], shape: [0, 5])
        try mixed.set("mask", dtype: .bool, shape: [4], bytes: [1, 0, 1, 1])
        var single = TensorArchive()
        try single.set("x", floats: [1, 2, 3, 4], shape: [4])
        return [
            (name: "mixed.safetensors", bytes: try mixed.encoded()),
            (name: "single.safetensors", bytes: try single.encoded()),
            (name: "empty.safetensors", bytes: try TensorArchive().encoded()),
        ]
    }
    return 0
}

/// The process entry point SwiftPM links as `main`: runs libFuzzer with `fuzzSafeTensors`.
@_cdecl("FuzzSafeTensors_main")
public func fuzzSafeTensorsMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    invprop_fuzz_run(argc, argv, fuzzSafeTensors)
}
