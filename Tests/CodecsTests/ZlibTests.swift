import Testing
@testable import Codecs

@Suite struct ZlibTests {
    let payload: [UInt8] = (0..<50_000).map { UInt8(truncatingIfNeeded: $0 % 251 ^ ($0 >> 5)) }

    @Test func zlibRoundTrip() throws {
        let packed = try Zlib.deflate(payload)
        #expect(packed.count < payload.count)
        #expect(try Zlib.inflate(packed, maxOutput: payload.count) == payload)
        #expect(try Zlib.inflate(packed, maxOutput: 10 * payload.count) == payload)
    }

    @Test func gzipRoundTripAndMembers() throws {
        let a = try Zlib.deflate(payload, container: .gzip)
        #expect(Zlib.isGzip(a))
        #expect(try Zlib.gunzip(a, maxOutput: 1 << 20) == payload)
        let b = try Zlib.deflate([1, 2, 3], container: .gzip)
        #expect(try Zlib.gunzip(a + b, maxOutput: 1 << 20) == payload + [1, 2, 3])
    }

    @Test func outputLimitIsEnforced() throws {
        let packed = try Zlib.deflate(payload)
        #expect(throws: CodecError.self) { try Zlib.inflate(packed, maxOutput: payload.count - 1) }
        // A "zip bomb": 64 MiB of zeros must not be allocated when the cap is 1 MiB.
        let bomb = try Zlib.deflate([UInt8](repeating: 0, count: 64 << 20), level: 9, container: .gzip)
        do {
            _ = try Zlib.gunzip(bomb, maxOutput: 1 << 20)
            Issue.record("bomb accepted")
        } catch let error as CodecError {
            guard case .tooLarge = error else { Issue.record("wrong error \(error)"); return }
        }
    }

    @Test func prefixReadsOnlyTheStart() throws {
        let packed = try Zlib.deflate(payload)
        #expect(try Zlib.inflatePrefix(packed, length: 8) == Array(payload[0..<8]))
        #expect(try Zlib.inflatePrefix(try Zlib.deflate([9, 9]), length: 8) == [9, 9])
    }

    @Test func truncatedAndCorruptStreamsThrow() throws {
        let packed = try Zlib.deflate(payload)
        for cut in [0, 1, 2, 10, packed.count / 2, packed.count - 1] {
            #expect(throws: CodecError.self) { try Zlib.inflate(Array(packed[0..<cut]), maxOutput: 1 << 20) }
        }
        var bad = packed
        bad[0] = 0x00  // invalid zlib header
        #expect(throws: CodecError.self) { try Zlib.inflate(bad, maxOutput: 1 << 20) }
        let gz = try Zlib.deflate(payload, container: .gzip)
        var badCRC = gz
        badCRC[gz.count - 6] ^= 0xFF
        #expect(throws: CodecError.self) { try Zlib.gunzip(badCRC, maxOutput: 1 << 20) }
    }

    @Test func crc32MatchesKnownValue() {
        #expect(Zlib.crc32(Array("123456789".utf8)) == 0xCBF4_3926)
    }

    @Test func fuzzNeverTraps() throws {
        let packed = try Zlib.deflate(Array(payload[0..<4000]), container: .gzip)
        var rng = SplitMix64(seed: 1)
        for _ in 0..<500 {
            let bytes = mutate(packed, using: &rng)
            do {
                let out = try Zlib.gunzip(bytes, maxOutput: 8000)
                #expect(out.count <= 8000)
            } catch is CodecError {}
        }
    }
}
