/// Reads the EXIF Orientation tag of a JPEG and applies it to decoded pixels.
public enum ExifOrientation {
    /// The Orientation value (1-8) from the first APP1 "Exif" segment, nil when absent or invalid.
    /// Bounds-checked throughout: a hostile segment yields nil, never a trap.
    public static func read(fromJPEG bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= 4, bytes[0] == 0xFF, bytes[1] == 0xD8 else { return nil }
        var offset = 2
        // Walk marker segments until the image data starts (SOS) or APP1/Exif is found.
        while offset + 4 <= bytes.count {
            guard bytes[offset] == 0xFF else { return nil }
            let marker = bytes[offset + 1]
            if marker == 0xFF { offset += 1; continue }  // fill byte
            if marker == 0xDA || marker == 0xD9 { return nil }  // SOS / EOI
            let length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            guard length >= 2, offset + 2 + length <= bytes.count else { return nil }
            let segment = UnsafeRawBufferPointer(rebasing: bytes[(offset + 4)..<(offset + 2 + length)])
            if marker == 0xE1, let value = orientation(inExifSegment: segment) { return value }
            offset += 2 + length
        }
        return nil
    }

    /// Parses "Exif\0\0" + TIFF header + IFD0 and returns tag 0x0112 (SHORT) when in 1...8.
    static func orientation(inExifSegment segment: UnsafeRawBufferPointer) -> Int? {
        let exifHeader: [UInt8] = [0x45, 0x78, 0x69, 0x66, 0, 0]
        guard segment.count >= 14, zip(segment.prefix(6), exifHeader).allSatisfy({ $0 == $1 }) else { return nil }
        let tiff = UnsafeRawBufferPointer(rebasing: segment[6...])
        let littleEndian: Bool
        switch (tiff[0], tiff[1]) {
        case (0x49, 0x49): littleEndian = true
        case (0x4D, 0x4D): littleEndian = false
        default: return nil
        }
        func u16(_ at: Int) -> Int? {
            guard at >= 0, at + 2 <= tiff.count else { return nil }
            return littleEndian ? Int(tiff[at]) | Int(tiff[at + 1]) << 8 : Int(tiff[at]) << 8 | Int(tiff[at + 1])
        }
        func u32(_ at: Int) -> Int? {
            guard let a = u16(at), let b = u16(at + 2) else { return nil }
            return littleEndian ? a | b << 16 : a << 16 | b
        }
        guard u16(2) == 42, let ifd = u32(4), let entries = u16(ifd) else { return nil }
        for i in 0..<entries {
            let entry = ifd + 2 + i * 12
            guard let tag = u16(entry) else { return nil }
            if tag == 0x0112 {
                guard u16(entry + 2) == 3, let value = u16(entry + 8), (1...8).contains(value) else { return nil }
                return value
            }
        }
        return nil
    }

    /// The image as displayed for EXIF orientation 1-8 (2 mirror, 3 rotate 180, 4 flip,
    /// 5 transpose, 6 rotate 90° clockwise, 7 transverse, 8 rotate 90° counter-clockwise).
    public static func apply(_ orientation: Int, to image: DecodedImage) -> DecodedImage {
        guard (2...8).contains(orientation) else { return image }
        let h = image.height, w = image.width, c = image.channels
        let swaps = orientation >= 5
        let outH = swaps ? w : h, outW = swaps ? h : w
        var out = [UInt8](repeating: 0, count: image.pixels.count)
        image.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<outH {
                    for x in 0..<outW {
                        // (sy, sx): the source pixel shown at output (y, x).
                        let (sy, sx): (Int, Int)
                        switch orientation {
                        case 2: (sy, sx) = (y, w - 1 - x)
                        case 3: (sy, sx) = (h - 1 - y, w - 1 - x)
                        case 4: (sy, sx) = (h - 1 - y, x)
                        case 5: (sy, sx) = (x, y)
                        case 6: (sy, sx) = (h - 1 - x, y)
                        case 7: (sy, sx) = (h - 1 - x, w - 1 - y)
                        default: (sy, sx) = (x, w - 1 - y)
                        }
                        let s = (sy * w + sx) * c, d = (y * outW + x) * c
                        for k in 0..<c { dst[d + k] = src[s + k] }
                    }
                }
            }
        }
        return DecodedImage(uncheckedHeight: outH, width: outW, channels: c, pixels: out)
    }
}
