import Testing
@testable import Codecs

@Suite struct JPEGCodecTests {
    @Test func rgbRoundTripWithinTolerance() throws {
        let image = TestImages.gradientRGB()
        let jpeg = try JPEGCodec.encode(image, quality: 95)
        #expect(JPEGCodec.isJPEG(jpeg))
        let decoded = try JPEGCodec.decode(jpeg, channels: 3)
        #expect(decoded.height == image.height && decoded.width == image.width && decoded.channels == 3)
        #expect(TestImages.meanAbsDiff(decoded, image) < 3)
    }

    @Test func greyRoundTripAndChannelConversion() throws {
        let image = try DecodedImage(height: 8, width: 8, channels: 1, pixels: (0..<64).map { UInt8($0 * 3) })
        let jpeg = try JPEGCodec.encode(image, quality: 100)
        let grey = try JPEGCodec.decode(jpeg, channels: 1)
        #expect(TestImages.meanAbsDiff(grey, image) < 2)
        let rgb = try JPEGCodec.decode(jpeg, channels: 3)
        #expect(rgb.pixels[30] == rgb.pixels[31] && rgb.pixels[31] == rgb.pixels[32])
    }

    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8])
    func exifOrientationIsApplied(orientation: Int) throws {
        // A 2×3 image with distinct, JPEG-stable blocks is too small; use 16×24 with 8×8 blocks.
        let blocks: [[UInt8]] = [[0, 255], [128, 64], [255, 0]]  // 2 rows × 3 columns of grey levels
        var pixels: [UInt8] = []
        for y in 0..<16 { for x in 0..<24 { pixels.append(blocks[x / 8][y / 8]) } }
        let image = try DecodedImage(height: 16, width: 24, channels: 1, pixels: pixels)
        let jpeg = TestImages.withOrientation(try JPEGCodec.encode(image, quality: 100), UInt16(orientation),
                                              bigEndian: orientation % 2 == 0)
        let decoded = try JPEGCodec.decode(jpeg, channels: 1)
        let expected = ExifOrientation.apply(orientation, to: image)
        #expect(decoded.height == (orientation >= 5 ? 24 : 16))
        #expect(TestImages.meanAbsDiff(decoded, expected) < 3)
        let raw = try JPEGCodec.decode(jpeg, channels: 1, applyOrientation: false)
        #expect(raw.height == 16)
    }

    @Test func orientationSixRotatesClockwise() throws {
        // 2×3 → 3×2: the bottom-left source pixel becomes the top-left.
        let image = try DecodedImage(height: 2, width: 3, channels: 1, pixels: [1, 2, 3, 4, 5, 6])
        #expect(ExifOrientation.apply(6, to: image).pixels == [4, 1, 5, 2, 6, 3])
        #expect(ExifOrientation.apply(8, to: image).pixels == [3, 6, 2, 5, 1, 4])
        #expect(ExifOrientation.apply(3, to: image).pixels == [6, 5, 4, 3, 2, 1])
    }

    @Test func damagedFilesThrow() throws {
        let jpeg = try JPEGCodec.encode(TestImages.gradientRGB())
        for cut in [0, 2, 3, 20, jpeg.count / 2, jpeg.count - 2] {
            #expect(throws: CodecError.self) { try JPEGCodec.decode(Array(jpeg[0..<cut]), channels: 3) }
        }
        #expect(throws: CodecError.self) { try ImageCodec.decode(Array("GIF89a....".utf8), channels: 3) }
    }

    @Test func fuzzNeverTraps() throws {
        let jpeg = try JPEGCodec.encode(TestImages.gradientRGB(height: 8, width: 8))
        var rng = SplitMix64(seed: 3)
        for _ in 0..<500 {
            do {
                let image = try ImageCodec.decode(mutate(jpeg, using: &rng), channels: 3, maxPixels: 1 << 20)
                #expect(image.pixels.count == image.height * image.width * 3)
            } catch is CodecError {}
        }
    }
}
