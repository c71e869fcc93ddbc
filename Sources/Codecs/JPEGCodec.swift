import CImageLibs
import Foundation

/// JPEG decoding and encoding through libjpeg-turbo's TurboJPEG API (its error handling stays
/// inside C, so no longjmp crosses Swift frames). EXIF orientation is applied on decode.
public enum JPEGCodec {
    /// Default cap on `width * height` for decoding: 100 megapixels.
    public static let defaultMaxPixels = 100_000_000

    /// True when `bytes` starts with the JPEG SOI marker FF D8 FF.
    public static func isJPEG(_ bytes: some ContiguousBytes) -> Bool {
        bytes.withUnsafeBytes { $0.count >= 3 && $0[0] == 0xFF && $0[1] == 0xD8 && $0[2] == 0xFF }
    }

    /// Decodes a baseline or progressive JPEG (grey, YCbCr, CMYK/YCCK) to 8-bit `channels` (1 or 3).
    /// `applyOrientation` rotates/flips by the EXIF Orientation tag (1-8), as viewers display it.
    /// Recoverable libjpeg warnings (e.g. extraneous bytes) are tolerated; a truncated file is not.
    public static func decode(_ data: some ContiguousBytes, channels: Int, applyOrientation: Bool = true,
                              maxPixels: Int = defaultMaxPixels) throws -> DecodedImage {
        guard channels == 1 || channels == 3 else {
            throw CodecError.invalidArgument("channels must be 1 or 3, not \(channels)")
        }
        return try data.withUnsafeBytes { buffer -> DecodedImage in
            guard let base = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), buffer.count > 0 else {
                throw CodecError.corrupt("empty JPEG")
            }
            guard let handle = tjInitDecompress() else { throw CodecError.corrupt("tjInitDecompress failed") }
            defer { tjDestroy(handle) }
            let (width, height, colorspace) = try frameHeader(handle, base, buffer.count)
            guard width > 0, height > 0 else { throw CodecError.corrupt("JPEG: zero size") }
            guard let pixelCount = checkedProduct([Int(width), Int(height)]), pixelCount <= maxPixels else {
                throw CodecError.tooLarge("JPEG of \(width)x\(height) exceeds \(maxPixels) pixels")
            }
            let isCMYK = colorspace == Int32(TJCS_CMYK.rawValue) || colorspace == Int32(TJCS_YCCK.rawValue)
            let isGrey = colorspace == Int32(TJCS_GRAY.rawValue)
            let (format, decodedChannels): (TJPF, Int) = isCMYK ? (TJPF_CMYK, 4) : isGrey ? (TJPF_GRAY, 1) : (TJPF_RGB, 3)
            var pixels = [UInt8](repeating: 0, count: pixelCount * decodedChannels)
            let status = pixels.withUnsafeMutableBufferPointer { dst in
                tjDecompress2(handle, base, UInt(buffer.count), dst.baseAddress, width,
                              width * Int32(decodedChannels), height, format.rawValue, 0)
            }
            if status != 0 {
                // A warning leaves a complete image; premature end means grey-filled rows.
                let text = errorText(handle)
                let isWarning = tjGetErrorCode(handle) == Int32(TJERR_WARNING.rawValue)
                if !isWarning || text.localizedCaseInsensitiveContains("premature end") {
                    throw CodecError.corrupt("JPEG: \(text)")
                }
            }
            var image = DecodedImage(uncheckedHeight: Int(height), width: Int(width), channels: decodedChannels, pixels: pixels)
            if isCMYK { image = cmykToRGB(image) }
            if applyOrientation, let orientation = ExifOrientation.read(fromJPEG: UnsafeRawBufferPointer(buffer)) {
                image = ExifOrientation.apply(orientation, to: image)
            }
            return try image.converted(toChannels: channels)
        }
    }

    /// The size and colour space from the frame header (TurboJPEG's header reader; the size is as
    /// stored, before any EXIF rotation).
    static func header(_ data: some ContiguousBytes) throws -> ImageHeader {
        try data.withUnsafeBytes { buffer -> ImageHeader in
            guard let base = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), buffer.count > 0 else {
                throw CodecError.corrupt("empty JPEG")
            }
            guard let handle = tjInitDecompress() else { throw CodecError.corrupt("tjInitDecompress failed") }
            defer { tjDestroy(handle) }
            let (width, height, colorspace) = try frameHeader(handle, base, buffer.count)
            return ImageHeader(width: Int(width), height: Int(height), isColour: colorspace != Int32(TJCS_GRAY.rawValue))
        }
    }

    /// Width, height and colour space (TJCS) of the `count` JPEG bytes at `base`, read by `handle`.
    private static func frameHeader(_ handle: tjhandle, _ base: UnsafePointer<UInt8>, _ count: Int) throws -> (Int32, Int32, Int32) {
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
        guard tjDecompressHeader3(handle, base, UInt(count), &width, &height, &subsampling, &colorspace) == 0 else {
            throw CodecError.corrupt("JPEG: \(errorText(handle))")
        }
        return (width, height, colorspace)
    }

    /// Encodes a grey (1) or RGB (3) 8-bit image as a JPEG of `quality` 1-100 (4:4:4 for colour).
    public static func encode(_ image: DecodedImage, quality: Int = 95) throws -> [UInt8] {
        guard image.channels == 1 || image.channels == 3, image.width > 0, image.height > 0 else {
            throw CodecError.invalidArgument("JPEG encode: needs 1 or 3 channels and a non-empty image")
        }
        guard let handle = tjInitCompress() else { throw CodecError.invalidArgument("tjInitCompress failed") }
        defer { tjDestroy(handle) }
        let format = image.channels == 1 ? TJPF_GRAY : TJPF_RGB
        let subsampling = image.channels == 1 ? TJSAMP_GRAY : TJSAMP_444
        var jpegBuffer: UnsafeMutablePointer<UInt8>? = nil
        var jpegSize: UInt = 0
        defer { if let jpegBuffer { tjFree(jpegBuffer) } }
        let status = image.pixels.withUnsafeBufferPointer { src in
            tjCompress2(handle, src.baseAddress, Int32(image.width), Int32(image.width * image.channels),
                        Int32(image.height), format.rawValue, &jpegBuffer, &jpegSize,
                        Int32(subsampling.rawValue), Int32(max(1, min(100, quality))), TJFLAG_ACCURATEDCT)
        }
        guard status == 0, let jpegBuffer else { throw CodecError.invalidArgument("JPEG encode: \(errorText(handle))") }
        return Array(UnsafeBufferPointer(start: jpegBuffer, count: Int(jpegSize)))
    }

    /// Adobe CMYK JPEGs store inverted ink values, so R = C·K/255 (and likewise G, B).
    private static func cmykToRGB(_ image: DecodedImage) -> DecodedImage {
        let n = image.height * image.width
        var rgb = [UInt8](repeating: 0, count: n * 3)
        for p in 0..<n {
            let k = UInt32(image.pixels[p * 4 + 3])
            for c in 0..<3 {
                rgb[p * 3 + c] = UInt8((UInt32(image.pixels[p * 4 + c]) * k + 127) / 255)
            }
        }
        return DecodedImage(uncheckedHeight: image.height, width: image.width, channels: 3, pixels: rgb)
    }

    /// TurboJPEG's per-handle error string.
    private static func errorText(_ handle: tjhandle) -> String {
        guard let text = tjGetErrorStr2(handle) else { return "unknown libjpeg-turbo error" }
        return String(cString: text)
    }
}
