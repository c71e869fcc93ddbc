/// A decoded 8-bit image: `height × width × channels` bytes, row-major, channels interleaved (HWC).
public struct DecodedImage: Equatable, Sendable {
    /// Rows.
    public var height: Int
    /// Columns.
    public var width: Int
    /// Interleaved samples per pixel: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA.
    public var channels: Int
    /// `height * width * channels` bytes.
    public var pixels: [UInt8]

    /// Wraps pixels; throws when the count does not match the shape (so file input never traps).
    public init(height: Int, width: Int, channels: Int, pixels: [UInt8]) throws {
        guard height >= 0, width >= 0, (1...4).contains(channels),
              let count = checkedProduct([height, width, channels]), count == pixels.count else {
            throw CodecError.invalidArgument("DecodedImage: \(pixels.count) bytes do not fit \(height)x\(width)x\(channels)")
        }
        self.height = height
        self.width = width
        self.channels = channels
        self.pixels = pixels
    }

    /// Unchecked initializer for codec internals whose shapes are correct by construction.
    init(uncheckedHeight height: Int, width: Int, channels: Int, pixels: [UInt8]) {
        self.height = height
        self.width = width
        self.channels = channels
        self.pixels = pixels
    }

    /// This image with 1 (grey) or 3 (RGB) channels, as `ChannelConversion.convert` describes.
    public func converted(toChannels target: Int) throws -> DecodedImage {
        guard target == 1 || target == 3 else {
            throw CodecError.invalidArgument("channels must be 1 or 3, not \(target)")
        }
        if channels == target { return self }
        let out = ChannelConversion.convert(pixels, pixelCount: height * width, from: channels, to: target)
        return DecodedImage(uncheckedHeight: height, width: width, channels: target, pixels: out)
    }
}

/// Interleaved-pixel channel conversion shared by the codecs and the data layer.
public enum ChannelConversion {
    /// Converts `pixelCount` pixels of `from` (1-4) channels to `to` (1 or 3): alpha is dropped
    /// (as PIL's `convert` does), grey is replicated, and colour becomes grey by PIL's luma
    /// `L = (19595 R + 38470 G + 7471 B + 32768) >> 16` (exact for grey input).
    /// The caller guarantees `pixels.count == pixelCount * from`.
    public static func convert(_ pixels: [UInt8], pixelCount: Int, from: Int, to target: Int) -> [UInt8] {
        precondition(pixels.count == pixelCount * from && (1...4).contains(from) && (target == 1 || target == 3))
        if from == target { return pixels }
        var out = [UInt8](repeating: 0, count: pixelCount * target)
        let hasColor = from >= 3
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for p in 0..<pixelCount {
                    let s = p * from
                    if target == 3 {
                        let d = p * 3
                        if hasColor {
                            dst[d] = src[s]; dst[d + 1] = src[s + 1]; dst[d + 2] = src[s + 2]
                        } else {
                            dst[d] = src[s]; dst[d + 1] = src[s]; dst[d + 2] = src[s]
                        }
                    } else {
                        dst[p] = hasColor ? luma(src[s], src[s + 1], src[s + 2]) : src[s]
                    }
                }
            }
        }
        return out
    }
}

/// PIL's integer RGB → L conversion (weights sum to 65536, so grey stays exact).
@inline(__always)
func luma(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> UInt8 {
    let l = (19595 * UInt32(r) + 38470 * UInt32(g) + 7471 * UInt32(b) + 32768) >> 16
    return UInt8(truncatingIfNeeded: l)
}

/// Errors of the codecs; the data layer wraps them with the file name.
public enum CodecError: Error, CustomStringConvertible, Equatable {
    /// The bytes are not a valid stream of the format: `reason` says why.
    case corrupt(String)
    /// Decoding would exceed the caller's size limit (hostile or unexpectedly large input).
    case tooLarge(String)
    /// A valid stream using a feature we do not decode.
    case unsupported(String)
    /// The caller passed an impossible argument.
    case invalidArgument(String)

    /// The kind of failure and its detail, for messages.
    public var description: String {
        switch self {
        case .corrupt(let s): return "corrupt data: \(s)"
        case .tooLarge(let s): return "too large: \(s)"
        case .unsupported(let s): return "unsupported: \(s)"
        case .invalidArgument(let s): return "invalid argument: \(s)"
        }
    }
}

/// The product of non-negative factors, nil on overflow (used on every header-derived size).
public func checkedProduct(_ factors: [Int]) -> Int? {
    var result = 1
    for f in factors {
        guard f >= 0 else { return nil }
        let (p, overflow) = result.multipliedReportingOverflow(by: f)
        if overflow { return nil }
        result = p
    }
    return result
}
