import Codecs
import Data
import CFuzzerDriver
import FuzzSupport

// IDX images (and optionally labels), raw or gzipped, through `IDXDataset`.
// Input layout: byte 0 bit 0 = labelled; when labelled, bytes 1-2 (little-endian) give the
// length of the images file, which follows, and the rest is the labels file; otherwise bytes
// 1... are the images file. Bits 1-7 of byte 0 pick the class count (1...128).

/// Splits the input into (images, labels?, classCount) as described above.
func split(_ input: [UInt8]) -> (images: [UInt8], labels: [UInt8]?, classes: Int) {
    guard let flags = input.first else { return ([], nil, 10) }
    let classes = Int(flags >> 1) + 1
    guard flags & 1 == 1, input.count >= 3 else { return (Array(input.dropFirst()), nil, classes) }
    let length = min(Int(input[1]) | Int(input[2]) << 8, input.count - 3)
    return (Array(input[3 ..< 3 + length]), Array(input[(3 + length)...]), classes)
}

/// libFuzzer's entry point: one input, one `IDXDataset`, read in full.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIDX(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let (images, labels, classes) = split(Harness.bytes(data, size))
    let imagesPath = Harness.scratchPath("idx-images"), labelsPath = Harness.scratchPath("idx-labels")
    Harness.write(images, to: imagesPath)
    if let labels { Harness.write(labels, to: labelsPath) }
    Harness.expectClean({
        let dataset = try IDXDataset(imagesPath: imagesPath, labelsPath: labels == nil ? nil : labelsPath, name: "fuzz", classCount: classes)
        try Harness.readAll(dataset)
    }, isExpected: { Harness.isMalformed($0, naming: [imagesPath, labelsPath]) })
    return 0
}

/// libFuzzer's initialisation hook: writes the seed corpus when asked (see `Harness`).
@_cdecl("LLVMFuzzerInitialize")
public func initializeIDX(_ argc: UnsafeMutablePointer<CInt>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> CInt {
    Harness.writeSeedsIfAsked {
        let images = ByteLayouts.idxImages(count: 3, side: 8)
        let labels = ByteLayouts.idxLabels([0, 7, 9])
        let flagsTen: UInt8 = 9 << 1   // 10 classes
        let packedImages = try Zlib.deflate(images, container: .gzip)
        let packedLabels = try Zlib.deflate(labels, container: .gzip)
        return [
            ("unlabelled", [flagsTen] + images),
            ("labelled", [flagsTen | 1] + ByteLayouts.le16(images.count) + images + labels),
            ("labelled-gzip", [flagsTen | 1] + ByteLayouts.le16(packedImages.count) + packedImages + packedLabels),
            ("gzipped", [flagsTen] + packedImages),
        ].map { (name: $0.0, bytes: $0.1) }
    }
    return 0
}

/// The process entry point SwiftPM links as `main`: runs libFuzzer with `fuzzIDX`.
@_cdecl("FuzzIDX_main")
public func fuzzIDXMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    invprop_fuzz_run(argc, argv, fuzzIDX)
}
