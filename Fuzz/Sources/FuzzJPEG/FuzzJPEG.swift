import Codecs
import CFuzzerDriver
import FuzzSupport

// JPEG bytes through the codec layer's format sniffing (`ImageCodec.decode`) into
// libjpeg-turbo, including the EXIF orientation parser.

/// libFuzzer's entry point: one input decoded as an image, checked by `Harness.decodeImage`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJPEG(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    Harness.decodeImage(Harness.bytes(data, size)) { try ImageCodec.decode($0, channels: $1, maxPixels: Harness.imageMaxPixels) }
    return 0
}

/// An EXIF APP1 segment (big-endian TIFF) holding one Orientation entry, inserted after SOI.
func withOrientation(_ jpeg: [UInt8], _ orientation: UInt8) -> [UInt8] {
    let tiff: [UInt8] = [0x4D, 0x4D, 0x00, 0x2A, 0x00, 0x00, 0x00, 0x08,   // MM, 42, IFD at 8
                         0x00, 0x01,                                       // one entry
                         0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01,   // Orientation, SHORT, 1
                         0x00, orientation, 0x00, 0x00,
                         0x00, 0x00, 0x00, 0x00]                           // no next IFD
    let payload: [UInt8] = Array("Exif".utf8) + [0, 0] + tiff
    let length = payload.count + 2
    return Array(jpeg[0..<2]) + [0xFF, 0xE1, UInt8(length >> 8), UInt8(length & 0xFF)] + payload + Array(jpeg[2...])
}

/// libFuzzer's initialisation hook: writes the seed corpus when asked (see `Harness`): grey and
/// RGB baseline JPEGs, and an RGB one with an EXIF orientation.
@_cdecl("LLVMFuzzerInitialize")
public func initializeJPEG(_ argc: UnsafeMutablePointer<CInt>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> CInt {
    Harness.writeSeedsIfAsked {
        let grey = try JPEGCodec.encode(try Harness.seedImage(side: 16, channels: 1), quality: 90)
        let rgb = try JPEGCodec.encode(try Harness.seedImage(side: 16, channels: 3), quality: 90)
        return [
            (name: "grey-16x16.jpg", bytes: grey),
            (name: "rgb-16x16.jpg", bytes: rgb),
            (name: "rgb-16x16-exif-orientation-6.jpg", bytes: withOrientation(rgb, 6)),
        ]
    }
    return 0
}

/// The process entry point SwiftPM links as `main`: runs libFuzzer with `fuzzJPEG`.
@_cdecl("FuzzJPEG_main")
public func fuzzJPEGMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    invprop_fuzz_run(argc, argv, fuzzJPEG)
}
