import Foundation

/// Format sniffing: picks the PNG or JPEG decoder by the file's first bytes, not its name.
public enum ImageCodec {
    /// Decodes PNG or JPEG bytes to `channels` (1 or 3); `.unsupported` for anything else.
    public static func decode(_ data: some ContiguousBytes, channels: Int, maxPixels: Int = PNGCodec.defaultMaxPixels) throws -> DecodedImage {
        if PNGCodec.isPNG(data) { return try PNGCodec.decode(data, channels: channels, maxPixels: maxPixels) }
        if JPEGCodec.isJPEG(data) { return try JPEGCodec.decode(data, channels: channels, maxPixels: maxPixels) }
        throw CodecError.unsupported("neither a PNG nor a JPEG signature")
    }

    /// Reads only the header of PNG or JPEG bytes (libpng's and TurboJPEG's header readers, no
    /// pixel decoding): the size and whether the image is stored in colour. Throws as `decode`
    /// would for a wrong signature, a damaged header, a zero or over-`maxPixels` size.
    public static func header(_ data: some ContiguousBytes, maxPixels: Int = PNGCodec.defaultMaxPixels) throws -> ImageHeader {
        let header: ImageHeader
        if PNGCodec.isPNG(data) { header = try PNGCodec.header(data) } else if JPEGCodec.isJPEG(data) { header = try JPEGCodec.header(data) } else {
            throw CodecError.unsupported("neither a PNG nor a JPEG signature")
        }
        guard header.width > 0, header.height > 0 else { throw CodecError.corrupt("the header gives no image size (\(header.width)x\(header.height)): the file is cut short or damaged") }
        guard let pixels = checkedProduct([header.width, header.height]), pixels <= maxPixels else {
            throw CodecError.tooLarge("\(header.width)x\(header.height) exceeds \(maxPixels) pixels")
        }
        return header
    }
}

/// What an image file's header says, before any pixel is decoded.
public struct ImageHeader: Equatable, Sendable {
    /// Size in pixels.
    public var width: Int, height: Int
    /// True for colour storage (RGB, palette, YCbCr, CMYK), false for grey (with or without alpha).
    public var isColour: Bool

    /// A header's facts.
    public init(width: Int, height: Int, isColour: Bool) {
        self.width = width; self.height = height; self.isColour = isColour
    }
}
