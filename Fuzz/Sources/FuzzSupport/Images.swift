import Codecs

extension Harness {
    /// Pixel cap the image targets decode under: 4 megapixels, so a forged header costs at most
    /// 16 MB per execution instead of the 400 MB the library's 100-megapixel default allows.
    /// The cap's check is the same code either way.
    public static let imageMaxPixels = 1 << 22

    /// Decodes `input` through `decode` to 1 channel (even-length inputs) or 3 (odd), which
    /// covers every channel conversion, and checks the image: a positive size within the cap and
    /// exactly height × width × channels bytes. `CodecError` is the clean failure.
    public static func decodeImage(_ input: [UInt8], _ decode: ([UInt8], Int) throws -> DecodedImage) {
        let channels = input.count % 2 == 0 ? 1 : 3
        expectClean({
            let image = try decode(input, channels)
            require(image.channels == channels, "decoded \(image.channels) channels, asked for \(channels)")
            require(image.height > 0 && image.width > 0 && image.height * image.width <= imageMaxPixels,
                    "decoded size \(image.height)x\(image.width) is empty or over the cap")
            require(image.pixels.count == image.height * image.width * channels,
                    "decoded \(image.pixels.count) bytes for \(image.height)x\(image.width)x\(channels)")
        }, isExpected: { $0 is CodecError })
    }

    /// A small test image (`side`×`side`, 1-4 channels) in the seed pixel pattern.
    public static func seedImage(side: Int, channels: Int) throws -> DecodedImage {
        var pixels: [UInt8] = []
        for y in 0..<side { for x in 0..<side { for c in 0..<channels { pixels.append(ByteLayouts.pixel(0, y, x, c)) } } }
        return try DecodedImage(height: side, width: side, channels: channels, pixels: pixels)
    }
}
