import Testing
@testable import Codecs

/// Hostile JPEG headers and EXIF segments: a file that claims a huge frame is refused before its
/// pixels are allocated, and a broken EXIF segment never traps: the orientation falls back to
/// none (the image decodes as stored) or the file is refused as corrupt.
@Suite struct HostileJPEGTests {
    /// A small non-square JPEG, so an applied rotation would show as swapped dimensions.
    static let jpeg = try! JPEGCodec.encode(TestImages.gradientRGB(height: 16, width: 24), quality: 90)

    /// "Exif\0\0" + a TIFF header with byte-order mark `order` and IFD0 at `ifdOffset` (both as
    /// given, little-endian numbers) + `entryCount` + `entries` (tag, type, count, value) + `tail`.
    static func exif(order: [UInt8] = [0x49, 0x49], ifdOffset: UInt32 = 8, entryCount: UInt16? = nil,
                     entries: [(tag: UInt16, type: UInt16, count: UInt32, value: UInt32)], tail: [UInt8] = [0, 0, 0, 0]) -> [UInt8] {
        func u16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
        func u32(_ v: UInt32) -> [UInt8] { [0, 8, 16, 24].map { UInt8(truncatingIfNeeded: v >> $0) } }
        var tiff = order + u16(42) + u32(ifdOffset) + u16(entryCount ?? UInt16(entries.count))
        for entry in entries { tiff += u16(entry.tag) + u16(entry.type) + u32(entry.count) + u32(entry.value) }
        return Array("Exif".utf8) + [0, 0] + tiff + tail
    }

    /// The orientation the EXIF reader finds in `bytes`.
    static func orientation(_ bytes: [UInt8]) -> Int? {
        bytes.withUnsafeBytes { ExifOrientation.read(fromJPEG: $0) }
    }

    /// Decodes `bytes` and checks the image came out as stored (16 × 24, not rotated).
    static func expectDecodesUnrotated(_ bytes: [UInt8], _ comment: Comment) throws {
        let image = try JPEGCodec.decode(bytes, channels: 3)
        #expect(image.height == 16 && image.width == 24, comment)
    }

    // MARK: frame size

    @Test func frameDeclaring65500SquaredIsRefusedBeforeAllocation() throws {
        let forged = try #require(TestImages.withFrameSize(Self.jpeg, height: 65500, width: 65500))
        // 65 500² × 3 bytes would be 12.9 GB: the size check comes before the pixel buffer, so the
        // error below (not an allocation failure) shows the buffer was never requested.
        #expect(throws: CodecError.tooLarge("JPEG of 65500x65500 exceeds \(JPEGCodec.defaultMaxPixels) pixels")) {
            try JPEGCodec.decode(forged, channels: 3)
        }
        #expect(throws: CodecError.tooLarge("65500x65500 exceeds \(JPEGCodec.defaultMaxPixels) pixels")) {
            try ImageCodec.header(forged)
        }
        #expect(throws: CodecError.tooLarge("JPEG of 65500x65500 exceeds 1000 pixels")) {
            try ImageCodec.decode(forged, channels: 1, maxPixels: 1000)
        }
    }

    /// 65 535 × 65 535 is past libjpeg's own 65 500 limit: its header reader refuses it first.
    @Test func frameDeclaring65535SquaredIsRefusedWithAClearError() throws {
        let forged = try #require(TestImages.withFrameSize(Self.jpeg, height: 65535, width: 65535))
        for attempt in [{ _ = try JPEGCodec.decode(forged, channels: 3) }, { _ = try ImageCodec.header(forged) }] {
            do {
                try attempt()
                Issue.record("a 65535x65535 frame was accepted")
            } catch let error as CodecError {
                #expect(error.description.contains("65500"), "\(error)")
            }
        }
    }

    @Test func headerRefusesWhatExceedsTheCallersLimit() throws {
        #expect(try ImageCodec.header(Self.jpeg, maxPixels: 16 * 24) == ImageHeader(width: 24, height: 16, isColour: true))
        #expect(throws: CodecError.tooLarge("24x16 exceeds 383 pixels")) { try ImageCodec.header(Self.jpeg, maxPixels: 16 * 24 - 1) }
        let png = try TestImages.rawPNG(width: 60_000, height: 60_000, bitDepth: 8, colorType: 0, rows: [[0]])
        #expect(throws: CodecError.tooLarge("60000x60000 exceeds \(PNGCodec.defaultMaxPixels) pixels")) { try ImageCodec.header(png) }
    }

    @Test func frameDeclaringZeroHeightIsRefused() throws {
        let forged = try #require(TestImages.withFrameSize(Self.jpeg, height: 0, width: 24))
        #expect(throws: CodecError.self) { try JPEGCodec.decode(forged, channels: 3) }
        #expect(throws: CodecError.self) { try ImageCodec.header(forged) }
    }

    // MARK: EXIF

    @Test func validSegmentIsTheBaseline() throws {
        let bytes = TestImages.withAPP1(Self.jpeg, Self.exif(entries: [(0x0112, 3, 1, 6)]))
        #expect(Self.orientation(bytes) == 6)
        #expect(try JPEGCodec.decode(bytes, channels: 3).height == 24)  // rotated: the builder is right
    }

    @Test func ifdOffsetPastTheEndFallsBackToNoOrientation() throws {
        for offset: UInt32 in [26, 1000, 0xFFFF_FFFF] {
            let bytes = TestImages.withAPP1(Self.jpeg, Self.exif(ifdOffset: offset, entries: [(0x0112, 3, 1, 6)]))
            #expect(Self.orientation(bytes) == nil, "IFD at \(offset)")
            try Self.expectDecodesUnrotated(bytes, "IFD at \(offset)")
        }
    }

    @Test func entryCountBeyondTheSegmentNeverReadsPastIt() throws {
        // 65 535 entries declared, none present (only the 4-byte next-IFD link follows).
        let none = TestImages.withAPP1(Self.jpeg, Self.exif(entryCount: 0xFFFF, entries: []))
        #expect(Self.orientation(none) == nil)
        try Self.expectDecodesUnrotated(none, "no entries")
        // The entries that are present are still read: an Orientation among them counts.
        let first = TestImages.withAPP1(Self.jpeg, Self.exif(entryCount: 0xFFFF, entries: [(0x0100, 3, 1, 24), (0x0112, 3, 1, 3)]))
        #expect(Self.orientation(first) == 3)
    }

    @Test func truncatedSegmentsFallBackOrAreRefused() throws {
        let full = Self.exif(entries: [(0x0112, 3, 1, 6)])
        // Segments cut short (their length says so): too short for a TIFF header, or cut inside
        // the entry before its value. Nothing past the segment is read as EXIF.
        for keep in [0, 4, 6, 10, 13, 14, 20, 25] {
            let bytes = TestImages.withAPP1(Self.jpeg, Array(full[0..<keep]))
            #expect(Self.orientation(bytes) == nil, "kept \(keep) bytes")
            try Self.expectDecodesUnrotated(bytes, "kept \(keep) bytes")
        }
        // A length field that runs past the end of the file, or below the 2 bytes of itself.
        for declared in [full.count + 2 + Self.jpeg.count, 0xFFFF, 0, 1] {
            let bytes = TestImages.withAPP1(Self.jpeg, full, declaredLength: declared)
            #expect(Self.orientation(bytes) == nil, "declared \(declared)")
            #expect(throws: CodecError.self, "declared \(declared)") { try JPEGCodec.decode(bytes, channels: 3) }
        }
        // The file itself cut inside the APP1 segment.
        let whole = TestImages.withAPP1(Self.jpeg, full)
        for cut in [3, 5, 12, 25, 4 + full.count - 1] {
            let bytes = Array(whole[0..<cut])
            #expect(Self.orientation(bytes) == nil, "cut at \(cut)")
            #expect(throws: CodecError.self, "cut at \(cut)") { try JPEGCodec.decode(bytes, channels: 3) }
        }
    }

    @Test func badByteOrderMarkFallsBackToNoOrientation() throws {
        for order: [UInt8] in [[0x49, 0x4D], [0x4D, 0x49], [0x00, 0x00], [0x58, 0x58]] {
            let bytes = TestImages.withAPP1(Self.jpeg, Self.exif(order: order, entries: [(0x0112, 3, 1, 6)]))
            #expect(Self.orientation(bytes) == nil, "mark \(order)")
            try Self.expectDecodesUnrotated(bytes, "mark \(order)")
        }
    }

    @Test func orientationOfAnotherTypeOrOutOfRangeFallsBackToNoOrientation() throws {
        // Types: 1 BYTE, 4 LONG, 5 RATIONAL, 0 and 0xFFFF not TIFF types; values outside 1...8.
        let cases: [(type: UInt16, value: UInt32)] = [(1, 6), (4, 6), (5, 6), (0, 6), (0xFFFF, 6), (3, 0), (3, 9), (3, 0xFFFF)]
        for (type, value) in cases {
            let bytes = TestImages.withAPP1(Self.jpeg, Self.exif(entries: [(0x0112, type, 1, value)]))
            #expect(Self.orientation(bytes) == nil, "type \(type) value \(value)")
            try Self.expectDecodesUnrotated(bytes, "type \(type) value \(value)")
        }
    }

    @Test func randomTIFFBytesNeverTrap() throws {
        var rng = SplitMix64(seed: 11)
        let valid = Self.exif(entries: [(0x0100, 3, 1, 24), (0x0112, 3, 1, 6)])
        var fellBack = 0
        for _ in 0..<2000 {
            var payload = valid
            for _ in 0..<Int.random(in: 1...6, using: &rng) {
                payload[Int.random(in: 6..<payload.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            if Bool.random(using: &rng) { payload.removeLast(Int.random(in: 0..<(payload.count - 6), using: &rng)) }
            let found = Self.orientation(TestImages.withAPP1(Self.jpeg, payload))
            #expect(found == nil || (1...8).contains(found!), "orientation \(String(describing: found)) out of range")
            if found == nil { fellBack += 1 }
        }
        #expect(fellBack > 0)  // the mutations did reach the checks
    }
}
