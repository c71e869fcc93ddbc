import Data
import CFuzzerDriver
import FuzzSupport

// A CIFAR binary batch through `CIFARDataset`. Byte 0 picks the variant (mod 3: CIFAR-10,
// CIFAR-100 fine, CIFAR-100 coarse); the rest is the batch file.

/// The variant byte 0 names.
func variant(_ byte: UInt8) -> CIFARDataset.Variant {
    switch byte % 3 {
    case 0: return .cifar10
    case 1: return .cifar100(coarse: false)
    default: return .cifar100(coarse: true)
    }
}

/// libFuzzer's entry point: one input, one single-file `CIFARDataset`, read in full.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCIFAR(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = Harness.bytes(data, size)
    guard let selector = input.first else { return 0 }
    let path = Harness.scratchPath("cifar")
    Harness.write(Array(input.dropFirst()), to: path)
    Harness.expectClean({
        try Harness.readAll(try CIFARDataset(files: [path], variant: variant(selector), name: "fuzz"))
    }, isExpected: { Harness.isMalformed($0, naming: [path]) })
    return 0
}

/// libFuzzer's initialisation hook: writes the seed corpus when asked (see `Harness`).
@_cdecl("LLVMFuzzerInitialize")
public func initializeCIFAR(_ argc: UnsafeMutablePointer<CInt>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> CInt {
    Harness.writeSeedsIfAsked {
        let image = ByteLayouts.planes(0, side: 32, columnMajor: false)
        return [
            (name: "cifar10-one-record", bytes: [0, 7] + image),
            (name: "cifar100-fine-one-record", bytes: [1, 19, 99] + image),
            (name: "cifar100-coarse-one-record", bytes: [2, 3, 42] + image),
        ]
    }
    return 0
}

/// The process entry point SwiftPM links as `main`: runs libFuzzer with `fuzzCIFAR`.
@_cdecl("FuzzCIFAR_main")
public func fuzzCIFARMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    invprop_fuzz_run(argc, argv, fuzzCIFAR)
}
