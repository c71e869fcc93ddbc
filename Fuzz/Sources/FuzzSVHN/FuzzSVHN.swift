import Data
import CFuzzerDriver
import FuzzSupport

// An SVHN MATLAB level-5 MAT-file (plain or compressed elements, either byte order) through
// `SVHNDataset`; the whole input is the file.

/// libFuzzer's entry point: one input, one `SVHNDataset`, read in full.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSVHN(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let path = Harness.scratchPath("svhn.mat")
    Harness.write(Harness.bytes(data, size), to: path)
    Harness.expectClean({
        try Harness.readAll(try SVHNDataset(path: path, name: "fuzz"))
    }, isExpected: { Harness.isMalformed($0, naming: [path]) })
    return 0
}

/// An SVHN file with `labels.count` images; labels stored as doubles or as uint8.
func svhnFile(labels: [Int], compressed: Bool, bigEndian: Bool, labelsAsUInt8: Bool) throws -> [UInt8] {
    var writer = MATWriter(bigEndian: bigEndian, compressed: compressed)
    let x = (0..<labels.count).flatMap { ByteLayouts.planes($0, side: 32, columnMajor: true) }
    try writer.add(name: "X", arrayClass: 9, dims: [32, 32, 3, labels.count], dataType: 2, data: x)
    if labelsAsUInt8 {
        try writer.add(name: "y", arrayClass: 6, dims: [labels.count, 1], dataType: 2, data: labels.map { UInt8($0) })
    } else {
        try writer.add(name: "y", arrayClass: 6, dims: [labels.count, 1], dataType: 9,
                       data: labels.flatMap { writer.u64(Double($0).bitPattern) })
    }
    return writer.bytes()
}

/// libFuzzer's initialisation hook: writes the seed corpus when asked (see `Harness`).
@_cdecl("LLVMFuzzerInitialize")
public func initializeSVHN(_ argc: UnsafeMutablePointer<CInt>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> CInt {
    Harness.writeSeedsIfAsked {
        [
            (name: "plain-little-endian", bytes: try svhnFile(labels: [1], compressed: false, bigEndian: false, labelsAsUInt8: false)),
            (name: "plain-big-endian-uint8-labels", bytes: try svhnFile(labels: [10], compressed: false, bigEndian: true, labelsAsUInt8: true)),
            (name: "compressed-two-images", bytes: try svhnFile(labels: [3, 10], compressed: true, bigEndian: false, labelsAsUInt8: false)),
        ]
    }
    return 0
}

/// The process entry point SwiftPM links as `main`: runs libFuzzer with `fuzzSVHN`.
@_cdecl("FuzzSVHN_main")
public func fuzzSVHNMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    invprop_fuzz_run(argc, argv, fuzzSVHN)
}
