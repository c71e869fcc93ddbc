import CImageLibs
import Foundation

/// PNG decoding and encoding through libpng's simplified API (which reports errors by return
/// value, so no longjmp crosses Swift frames).
public enum PNGCodec {
    // Composite PNG_FORMAT_* macros that Swift does not import, rebuilt from the flags.
    private static let formatGA = UInt32(PNG_FORMAT_FLAG_ALPHA)
    private static let formatRGB = UInt32(PNG_FORMAT_FLAG_COLOR)
    private static let formatRGBA = UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA)
    private static let formatRGBColormap = UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_COLORMAP)
    private static let formatLinearY = UInt32(PNG_FORMAT_FLAG_LINEAR)
    private static let formatLinearRGB = UInt32(PNG_FORMAT_FLAG_LINEAR | PNG_FORMAT_FLAG_COLOR)

    /// Default cap on `width * height` for decoding: 100 megapixels.
    public static let defaultMaxPixels = 100_000_000

    /// True when `bytes` starts with the 8-byte PNG signature.
    public static func isPNG(_ bytes: some ContiguousBytes) -> Bool {
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        return bytes.withUnsafeBytes { $0.count >= 8 && zip($0.prefix(8), signature).allSatisfy { $0 == $1 } }
    }

    /// Decodes any PNG (grey, grey+alpha, RGB, RGBA, palette, 1-16 bit, interlaced) to 8-bit
    /// `channels` (1 or 3). Alpha is dropped, 16-bit samples without gamma information are scaled
    /// to 8 bits (no linear-light assumption), and colour becomes grey by PIL's luma.
    public static func decode(_ data: some ContiguousBytes, channels: Int,
                              maxPixels: Int = defaultMaxPixels) throws -> DecodedImage {
        guard channels == 1 || channels == 3 else {
            throw CodecError.invalidArgument("channels must be 1 or 3, not \(channels)")
        }
        return try data.withUnsafeBytes { buffer -> DecodedImage in
            guard let base = buffer.baseAddress, buffer.count > 0 else { throw CodecError.corrupt("empty PNG") }
            var image = invprop_png_image_init()
            defer { png_image_free(&image) }
            guard png_image_begin_read_from_memory(&image, base, buffer.count) != 0 else {
                throw CodecError.corrupt("PNG: \(message(of: &image))")
            }
            let width = Int(image.width), height = Int(image.height)
            guard width > 0, height > 0 else { throw CodecError.corrupt("PNG: zero size") }
            guard let pixelCount = checkedProduct([width, height]), pixelCount <= maxPixels else {
                throw CodecError.tooLarge("PNG of \(width)x\(height) exceeds \(maxPixels) pixels")
            }
            // Decode to grey+alpha or RGBA, then drop alpha ourselves: libpng would otherwise
            // composite onto a background, which torchvision-style pipelines do not do.
            let isColor = image.format & UInt32(PNG_FORMAT_FLAG_COLOR) != 0
            let decodedChannels = isColor ? 4 : 2
            image.format = isColor ? formatRGBA : formatGA
            image.flags |= UInt32(PNG_IMAGE_FLAG_16BIT_sRGB)
            var pixels = [UInt8](repeating: 0, count: pixelCount * decodedChannels)
            let ok = pixels.withUnsafeMutableBytes { dst in
                png_image_finish_read(&image, nil, dst.baseAddress, Int32(width * decodedChannels), nil)
            }
            guard ok != 0, invprop_png_image_failed(&image) == 0 else {
                throw CodecError.corrupt("PNG: \(message(of: &image))")
            }
            let decoded = DecodedImage(uncheckedHeight: height, width: width, channels: decodedChannels, pixels: pixels)
            return try decoded.converted(toChannels: channels)
        }
    }

    /// The size and colour type from the header (libpng reads up to the first image data).
    static func header(_ data: some ContiguousBytes) throws -> ImageHeader {
        try data.withUnsafeBytes { buffer -> ImageHeader in
            guard let base = buffer.baseAddress, buffer.count > 0 else { throw CodecError.corrupt("empty PNG") }
            var image = invprop_png_image_init()
            defer { png_image_free(&image) }
            guard png_image_begin_read_from_memory(&image, base, buffer.count) != 0 else {
                throw CodecError.corrupt("PNG: \(message(of: &image))")
            }
            return ImageHeader(width: Int(image.width), height: Int(image.height), isColour: image.format & UInt32(PNG_FORMAT_FLAG_COLOR) != 0)
        }
    }

    /// Encodes an 8-bit image (1-4 channels: grey, grey+alpha, RGB, RGBA) as PNG bytes.
    public static func encode(_ image: DecodedImage) throws -> [UInt8] {
        let formats: [UInt32] = [0, formatGA, formatRGB, formatRGBA]
        guard (1...4).contains(image.channels) else {
            throw CodecError.invalidArgument("PNG encode: \(image.channels) channels")
        }
        return try image.pixels.withUnsafeBytes { src in
            try write(width: image.width, height: image.height, format: formats[image.channels - 1],
                      pixels: src, rowStride: image.width * image.channels, colormap: nil)
        }
    }

    /// Encodes a palette PNG: `indices` (height × width) into `palette` (RGB triples, ≤ 256).
    public static func encodeIndexed(height: Int, width: Int, indices: [UInt8], palette: [UInt8]) throws -> [UInt8] {
        let entries = palette.count / 3
        guard indices.count == height * width, palette.count % 3 == 0, (1...256).contains(entries),
              indices.allSatisfy({ Int($0) < entries }) else {
            throw CodecError.invalidArgument("PNG encodeIndexed: inconsistent indices/palette")
        }
        return try indices.withUnsafeBytes { src in
            try palette.withUnsafeBytes { map in
                try write(width: width, height: height, format: formatRGBColormap,
                          pixels: src, rowStride: width, colormap: map, colormapEntries: entries)
            }
        }
    }

    /// Encodes 16-bit samples (`channels` 1 or 3) as a linear-light 16-bit PNG (libpng writes a
    /// gAMA 1.0 chunk, so readers convert it to sRGB on the way to 8 bits).
    public static func encodeLinear16(height: Int, width: Int, channels: Int, samples: [UInt16]) throws -> [UInt8] {
        guard channels == 1 || channels == 3, samples.count == height * width * channels else {
            throw CodecError.invalidArgument("PNG encodeLinear16: inconsistent shape")
        }
        let format = channels == 1 ? formatLinearY : formatLinearRGB
        return try samples.withUnsafeBytes { src in
            try write(width: width, height: height, format: format, pixels: src,
                      rowStride: width * channels, colormap: nil)
        }
    }

    /// png_image_write_to_memory twice: once for the size, once into a buffer of that size.
    private static func write(width: Int, height: Int, format: UInt32, pixels: UnsafeRawBufferPointer,
                              rowStride: Int, colormap: UnsafeRawBufferPointer?, colormapEntries: Int = 0) throws -> [UInt8] {
        guard width > 0, height > 0, let base = pixels.baseAddress else {
            throw CodecError.invalidArgument("PNG encode: empty image")
        }
        var image = invprop_png_image_init()
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = format
        image.colormap_entries = UInt32(colormapEntries)
        var size = 0
        guard png_image_write_to_memory(&image, nil, &size, 0, base, Int32(rowStride), colormap?.baseAddress) != 0 else {
            throw CodecError.invalidArgument("PNG encode: \(message(of: &image))")
        }
        var out = [UInt8](repeating: 0, count: size)
        let ok = out.withUnsafeMutableBytes { dst in
            png_image_write_to_memory(&image, dst.baseAddress, &size, 0, base, Int32(rowStride), colormap?.baseAddress)
        }
        guard ok != 0 else { throw CodecError.invalidArgument("PNG encode: \(message(of: &image))") }
        out.removeSubrange(size...)
        return out
    }

    /// The NUL-terminated message libpng left in `png_image.message` (a 64-byte C array).
    private static func message(of image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { raw in
            let bytes = raw.prefix { $0 != 0 }
            let text = String(decoding: bytes, as: UTF8.self)
            return text.isEmpty ? "unknown libpng error" : text
        }
    }
}
