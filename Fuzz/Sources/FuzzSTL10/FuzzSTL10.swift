import Data
import CFuzzerDriver
import FuzzSupport

// STL-10 binary images (and optionally labels) through `STL10Dataset`. Input layout: byte 0
// bit 0 = labelled; when labelled, bytes 1-2 (little-endian) give the length of the labels
// file, which follows; the rest is the images file.

/// Splits the input into (images, labels?).
func split(_ input: [UInt8]) -> (images: [UInt8], labels: [UInt8]?) {
    guard let flags = input.first else { return ([], nil) }
    guard flags & 1 == 1, input.count >= 3 else { return (Array(input.dropFirst()), nil) }
    let length = min(Int(input[1]) | Int(input[2]) << 8, input.count - 3)
    return (Array(input[(3 + length)...]), Array(input[3 ..< 3 + length]))
}

/// libFuzzer's entry point: one input, one `STL10Dataset`, read in full.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSTL10(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let (images, labels) = split(Harness.bytes(data, size))
    let imagesPath = Harness.scratchPath("stl-images"), labelsPath = Harness.scratchPath("stl-labels")
    Harness.write(images, to: imagesPath)
    if let labels { Harness.write(labels, to: labelsPath) }
    Harness.expectClean({
        try Harness.readAll(try STL10Dataset(imagesPath: imagesPath, labelsPath: labels == nil ? nil : labelsPath, name: "fuzz"))
    }, isExpected: { Harness.isMalformed($0, naming: [imagesPath, labelsPath]) })
    return 0
}

/// libFuzzer's initialisation hook: writes the seed corpus when asked (see `Harness`). One
/// STL-10 image is 27 648 bytes, so these two seeds are the corpus's largest files.
@_cdecl("LLVMFuzzerInitialize")
public func initializeSTL10(_ argc: UnsafeMutablePointer<CInt>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> CInt {
    Harness.writeSeedsIfAsked {
        let image = ByteLayouts.planes(0, side: 96, columnMajor: true)
        return [
            (name: "unlabelled-one-image", bytes: [0] + image),
            (name: "labelled-one-image", bytes: [1] + ByteLayouts.le16(1) + [10] + image),
        ]
    }
    return 0
}

/// The process entry point SwiftPM links as `main`: runs libFuzzer with `fuzzSTL10`.
@_cdecl("FuzzSTL10_main")
public func fuzzSTL10Main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    invprop_fuzz_run(argc, argv, fuzzSTL10)
}
