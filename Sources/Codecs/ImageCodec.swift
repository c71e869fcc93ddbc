import Foundation

/// Format sniffing: picks the PNG or JPEG decoder by the file's first bytes, not its name.
public enum ImageCodec {
    /// Decodes PNG or JPEG bytes to `channels` (1 or 3); `.unsupported` for anything else.
    public static func decode(_ data: some ContiguousBytes, channels: Int, maxPixels: Int = PNGCodec.defaultMaxPixels) throws -> DecodedImage {
        if PNGCodec.isPNG(data) { return try PNGCodec.decode(data, channels: channels, maxPixels: maxPixels) }
        if JPEGCodec.isJPEG(data) { return try JPEGCodec.decode(data, channels: channels, maxPixels: maxPixels) }
        throw CodecError.unsupported("neither a PNG nor a JPEG signature")
    }
}
