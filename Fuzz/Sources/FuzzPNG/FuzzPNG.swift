import Codecs
import CFuzzerDriver
import FuzzSupport

// PNG bytes through the codec layer's format sniffing (`ImageCodec.decode`) into libpng.

/// libFuzzer's entry point: one input decoded as an image, checked by `Harness.decodeImage`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPNG(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    Harness.decodeImage(Harness.bytes(data, size)) { try ImageCodec.decode($0, channels: $1, maxPixels: Harness.imageMaxPixels) }
    return 0
}

/// libFuzzer's initialisation hook: writes the seed corpus when asked (see `Harness`): grey,
/// grey+alpha, RGB, RGBA, palette and 16-bit linear PNGs, 8×8 each.
@_cdecl("LLVMFuzzerInitialize")
public func initializePNG(_ argc: UnsafeMutablePointer<CInt>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> CInt {
    Harness.writeSeedsIfAsked {
        var seeds: [(name: String, bytes: [UInt8])] = []
        for (channels, name) in [(1, "grey"), (2, "grey-alpha"), (3, "rgb"), (4, "rgba")] {
            seeds.append((name: "\(name)-8x8.png", bytes: try PNGCodec.encode(try Harness.seedImage(side: 8, channels: channels))))
        }
        let indices = (0..<64).map { UInt8($0 % 4) }
        seeds.append((name: "palette-8x8.png", bytes: try PNGCodec.encodeIndexed(height: 8, width: 8, indices: indices,
                                                                                palette: [0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255])))
        seeds.append((name: "linear16-rgb-8x8.png", bytes: try PNGCodec.encodeLinear16(height: 8, width: 8, channels: 3,
                                                                                      samples: (0..<192).map { UInt16($0 * 300) })))
        return seeds
    }
    return 0
}

/// The process entry point SwiftPM links as `main`: runs libFuzzer with `fuzzPNG`.
@_cdecl("FuzzPNG_main")
public func fuzzPNGMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    invprop_fuzz_run(argc, argv, fuzzPNG)
}
