import Codecs

/// Small deterministic images for codec tests.
enum TestImages {
    /// A smooth RGB gradient (JPEG-friendly): pixel (y, x) = (8y, 8x, 4(x+y)) mod 256.
    static func gradientRGB(height: Int = 16, width: Int = 24) -> DecodedImage {
        var pixels: [UInt8] = []
        for y in 0..<height {
            for x in 0..<width {
                pixels += [UInt8(truncatingIfNeeded: 8 * y), UInt8(truncatingIfNeeded: 8 * x), UInt8(truncatingIfNeeded: 4 * (x + y))]
            }
        }
        return try! DecodedImage(height: height, width: width, channels: 3, pixels: pixels)
    }

    /// A grey image where every pixel differs: (y * width + x) * 7 mod 256.
    static func noiseGrey(height: Int = 9, width: Int = 13) -> DecodedImage {
        let pixels = (0..<(height * width)).map { UInt8(truncatingIfNeeded: $0 * 7) }
        return try! DecodedImage(height: height, width: width, channels: 1, pixels: pixels)
    }

    /// An image with `channels` channels whose samples are a simple hash of their index.
    static func pattern(height: Int, width: Int, channels: Int) -> DecodedImage {
        let n = height * width * channels
        let pixels = (0..<n).map { UInt8(truncatingIfNeeded: ($0 &* 2654435761) >> 7) }
        return try! DecodedImage(height: height, width: width, channels: channels, pixels: pixels)
    }

    /// Mean absolute difference of two same-shaped images.
    static func meanAbsDiff(_ a: DecodedImage, _ b: DecodedImage) -> Double {
        precondition(a.pixels.count == b.pixels.count)
        let total = zip(a.pixels, b.pixels).reduce(0) { $0 + abs(Int($1.0) - Int($1.1)) }
        return Double(total) / Double(max(1, a.pixels.count))
    }

    /// A PNG built chunk by chunk (no gAMA), for bit depths the simplified writer cannot make.
    static func rawPNG(width: Int, height: Int, bitDepth: UInt8, colorType: UInt8, rows: [[UInt8]]) throws -> [UInt8] {
        func be32(_ v: Int) -> [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: v >> $0) } }
        func chunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
            let typed = Array(type.utf8) + body
            return be32(body.count) + typed + be32(Int(Zlib.crc32(typed)))
        }
        let ihdr = be32(width) + be32(height) + [bitDepth, colorType, 0, 0, 0]
        var scanlines: [UInt8] = []
        for row in rows { scanlines.append(0); scanlines += row }  // filter type 0 per row
        let idat = try Zlib.deflate(scanlines)
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var out = signature
        out += chunk("IHDR", ihdr)
        out += chunk("IDAT", idat)
        out += chunk("IEND", [])
        return out
    }

    /// `jpeg` with an APP1 Exif segment carrying Orientation `value`, inserted after SOI.
    static func withOrientation(_ jpeg: [UInt8], _ value: UInt16, bigEndian: Bool = false) -> [UInt8] {
        func u16(_ v: UInt16) -> [UInt8] { bigEndian ? [UInt8(v >> 8), UInt8(v & 0xFF)] : [UInt8(v & 0xFF), UInt8(v >> 8)] }
        func u32(_ v: UInt32) -> [UInt8] { bigEndian ? [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: v >> $0) } : [0, 8, 16, 24].map { UInt8(truncatingIfNeeded: v >> $0) } }
        let tiff = (bigEndian ? [0x4D, 0x4D] : [0x49, 0x49]) + u16(42) + u32(8)
            + u16(1) + u16(0x0112) + u16(3) + u32(1) + u16(value) + u16(0) + u32(0)
        return withAPP1(jpeg, Array("Exif".utf8) + [0, 0] + tiff)
    }

    /// `jpeg` with an APP1 segment holding `payload` inserted after SOI; `declaredLength`
    /// overrides the segment's length field (default: the true length, payload + 2).
    static func withAPP1(_ jpeg: [UInt8], _ payload: [UInt8], declaredLength: Int? = nil) -> [UInt8] {
        let length = declaredLength ?? payload.count + 2
        let segment: [UInt8] = [0xFF, 0xE1, UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length)] + payload
        return Array(jpeg[0..<2]) + segment + Array(jpeg[2...])
    }

    /// `jpeg` with the frame header (the first SOF0-SOF2 segment) declaring `height` × `width`,
    /// the rest untouched: a small file that claims a huge image. Nil when no SOF is found.
    static func withFrameSize(_ jpeg: [UInt8], height: UInt16, width: UInt16) -> [UInt8]? {
        var out = jpeg
        var offset = 2
        while offset + 9 <= out.count, out[offset] == 0xFF {
            let marker = out[offset + 1]
            let length = Int(out[offset + 2]) << 8 | Int(out[offset + 3])
            if (0xC0...0xC2).contains(marker) {
                // FF Cn, length (2), precision (1), height (2), width (2), all big-endian.
                out[offset + 5] = UInt8(height >> 8); out[offset + 6] = UInt8(height & 0xFF)
                out[offset + 7] = UInt8(width >> 8); out[offset + 8] = UInt8(width & 0xFF)
                return out
            }
            offset += 2 + length
        }
        return nil
    }
}

/// A tiny deterministic generator (SplitMix64) so fuzz cases are reproducible.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// One random corruption of `bytes`: truncation, byte flips, or a run of random bytes.
func mutate(_ bytes: [UInt8], using rng: inout SplitMix64) -> [UInt8] {
    var out = bytes
    switch Int.random(in: 0..<4, using: &rng) {
    case 0:
        out.removeSubrange(Int.random(in: 0..<max(1, out.count), using: &rng)...)
    case 1:
        for _ in 0..<Int.random(in: 1...4, using: &rng) where !out.isEmpty {
            out[Int.random(in: 0..<out.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
        }
    case 2:
        // Concentrate on headers, where the interesting checks live.
        let limit = min(out.count, 160)
        if limit > 0 { out[Int.random(in: 0..<limit, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
    default:
        if !out.isEmpty {
            let start = Int.random(in: 0..<out.count, using: &rng)
            let end = min(out.count, start + Int.random(in: 1...16, using: &rng))
            for i in start..<end { out[i] = UInt8.random(in: 0...255, using: &rng) }
        }
    }
    return out
}
