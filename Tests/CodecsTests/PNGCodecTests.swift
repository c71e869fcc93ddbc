import Testing
@testable import Codecs

@Suite struct PNGCodecTests {
    @Test func greyRoundTripIsExact() throws {
        let image = TestImages.noiseGrey()
        let png = try PNGCodec.encode(image)
        #expect(PNGCodec.isPNG(png))
        #expect(try PNGCodec.decode(png, channels: 1) == image)
        let rgb = try PNGCodec.decode(png, channels: 3)
        #expect(rgb.channels == 3 && rgb.pixels[3 * 5] == image.pixels[5] && rgb.pixels[3 * 5 + 2] == image.pixels[5])
    }

    @Test func rgbRoundTripAndGreyConversion() throws {
        let image = TestImages.pattern(height: 5, width: 7, channels: 3)
        let png = try PNGCodec.encode(image)
        #expect(try PNGCodec.decode(png, channels: 3) == image)
        let grey = try PNGCodec.decode(png, channels: 1)
        let p = image.pixels
        #expect(grey.pixels[0] == luma(p[0], p[1], p[2]))
    }

    @Test func alphaIsDropped() throws {
        let rgba = TestImages.pattern(height: 4, width: 6, channels: 4)
        let decoded = try PNGCodec.decode(try PNGCodec.encode(rgba), channels: 3)
        for i in 0..<24 { #expect(Array(decoded.pixels[(3 * i)..<(3 * i + 3)]) == Array(rgba.pixels[(4 * i)..<(4 * i + 3)])) }
        let ga = TestImages.pattern(height: 4, width: 6, channels: 2)
        let grey = try PNGCodec.decode(try PNGCodec.encode(ga), channels: 1)
        #expect(grey.pixels == stride(from: 0, to: 48, by: 2).map { ga.pixels[$0] })
    }

    @Test func paletteExpands() throws {
        let palette: [UInt8] = [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30]
        let indices: [UInt8] = [0, 1, 2, 3, 3, 2]
        let png = try PNGCodec.encodeIndexed(height: 2, width: 3, indices: indices, palette: palette)
        let image = try PNGCodec.decode(png, channels: 3)
        #expect(image.pixels == indices.flatMap { Array(palette[(3 * Int($0))..<(3 * Int($0) + 3)]) })
    }

    @Test func sixteenBitWithoutGammaKeepsHighByte() throws {
        // Grey 16-bit samples 0x0000, 0x4080, 0x80FF, 0xFFFF: 8-bit result ≈ round(v / 257).
        let rows: [[UInt8]] = [[0x00, 0x00, 0x40, 0x80], [0x80, 0xFF, 0xFF, 0xFF]]
        let png = try TestImages.rawPNG(width: 2, height: 2, bitDepth: 16, colorType: 0, rows: rows)
        let image = try PNGCodec.decode(png, channels: 1)
        let expected: [Int] = [0, 0x4080, 0x80FF, 0xFFFF].map { ($0 + 128) / 257 }
        for (got, want) in zip(image.pixels, expected) { #expect(abs(Int(got) - want) <= 1) }
    }

    @Test func sixteenBitLinearIsGammaEncoded() throws {
        let png = try PNGCodec.encodeLinear16(height: 1, width: 3, channels: 1, samples: [0, 0x3333, 0xFFFF])
        let image = try PNGCodec.decode(png, channels: 1)
        // Linear 0.2 is sRGB ≈ 0.48 (124): libpng honours the gAMA chunk it wrote.
        #expect(image.pixels[0] == 0 && image.pixels[2] == 255)
        #expect(abs(Int(image.pixels[1]) - 124) <= 2)
    }

    @Test func lowBitDepthIsExpanded() throws {
        // 1-bit grey, one row of 8 pixels 10110010.
        let png = try TestImages.rawPNG(width: 8, height: 1, bitDepth: 1, colorType: 0, rows: [[0b1011_0010]])
        #expect(try PNGCodec.decode(png, channels: 1).pixels == [255, 0, 255, 255, 0, 0, 255, 0])
    }

    @Test func damagedFilesThrow() throws {
        let png = try PNGCodec.encode(TestImages.pattern(height: 8, width: 8, channels: 3))
        for cut in [0, 7, 8, 20, 33, png.count / 2, png.count - 13] {
            #expect(throws: CodecError.self) { try PNGCodec.decode(Array(png[0..<cut]), channels: 3) }
        }
        #expect(throws: CodecError.self) { try PNGCodec.decode([UInt8](repeating: 7, count: 100), channels: 3) }
    }

    @Test func hugeDeclaredSizeIsRefusedBeforeAllocation() throws {
        let png = try TestImages.rawPNG(width: 60_000, height: 60_000, bitDepth: 8, colorType: 0, rows: [[0]])
        #expect(throws: CodecError.self) { try PNGCodec.decode(png, channels: 1) }
    }

    @Test func fuzzNeverTraps() throws {
        let png = try PNGCodec.encode(TestImages.pattern(height: 6, width: 5, channels: 3))
        var rng = SplitMix64(seed: 2)
        for _ in 0..<500 {
            do {
                let image = try PNGCodec.decode(mutate(png, using: &rng), channels: 3, maxPixels: 10_000)
                #expect(image.pixels.count == image.height * image.width * 3)
            } catch is CodecError {}
        }
    }
}
