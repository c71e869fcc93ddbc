#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import SafeTensors

/// Corrupt and hostile inputs: each must fail with a `SafeTensorsError` naming the source, never trap.
@Suite struct HostileInputTests {
    /// A minimal valid entry for building variants: one F32 of shape [2].
    let data8: [UInt8] = [0, 0, 128, 63, 0, 0, 0, 64]

    @Test func validHandMadeFileIsAccepted() throws {
        let bytes = rawFile(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}   "#, data: data8)
        #expect(try TensorArchive(decoding: bytes).floats("a") == [1, 2])
        // Escapes, surrogate pairs, whitespace and an empty metadata object as other writers may emit them.
        let escaped = rawFile(header: #" { "__metadata__" : { "k\/\u00e9" : "\ud83d\ude00\t\"" } , "a\u0062" : { "shape" : [ 2 ] , "data_offsets" : [ 0 , 8 ] , "dtype" : "F32" } }"#, data: data8)
        let archive = try TensorArchive(decoding: escaped)
        #expect(archive.metadata == ["k/é": "😀\t\""])
        #expect(try archive.floats("ab", shape: [2]) == [1, 2])
    }

    @Test func shorterThanTheLengthField() {
        for count in 0..<8 {
            expectRejected([UInt8](repeating: 0, count: count), .truncated, mentioning: "shorter than")
        }
    }

    @Test func everyPrefixOfAValidFileIsRejected() throws {
        let full = try sampleArchive().encoded()
        // The sample ends with a non-empty tensor's bytes, so every strict prefix is damaged.
        for length in 0..<full.count {
            do {
                _ = try TensorArchive(decoding: Array(full[..<length]), source: "prefix")
                Issue.record("accepted a prefix of \(length) of \(full.count) bytes")
            } catch let error as SafeTensorsError {
                #expect(error.path == "prefix")
                #expect([.truncated, .malformedHeader, .invalidRange].contains(error.kind), "\(error)")
            } catch {
                Issue.record("wrong error type: \(error)")
            }
        }
        #expect(try TensorArchive(decoding: full) == sampleArchive())
    }

    @Test func headerLengthBeyondTheFileOrTheCap() {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        let beyond = UInt64(header.utf8.count + data8.count + 1)
        expectRejected(rawFile(header: header, data: data8, declaredLength: beyond), .truncated, mentioning: "header length")
        expectRejected(rawFile(header: header, data: data8, declaredLength: 100_000_001), .headerTooLarge)
        expectRejected(rawFile(header: header, data: data8, declaredLength: 1 << 40), .headerTooLarge)
        expectRejected(rawFile(header: header, data: data8, declaredLength: .max), .headerTooLarge,
                       mentioning: "\(UInt64.max)")
        expectRejected(rawFile(header: header, data: data8, declaredLength: UInt64(Int.max) + 1), .headerTooLarge)
    }

    @Test func headerThatIsNotJSONOrNotAnObject() {
        expectRejected(rawFile(header: "not json at all!"), .malformedHeader, mentioning: "not valid JSON")
        expectRejected(rawFile(header: ""), .malformedHeader)
        expectRejected(rawFile(header: "{\"a\":"), .malformedHeader)
        expectRejected(rawFile(header: "{} {}"), .malformedHeader, mentioning: "after the JSON value")
        expectRejected(rawFile(header: "[1, 2, 3]"), .malformedHeader, mentioning: "an array")
        expectRejected(rawFile(header: "\"text\""), .malformedHeader, mentioning: "a string")
        expectRejected(rawFile(header: "42"), .malformedHeader)
        expectRejected(rawFile(header: "null"), .malformedHeader)
        expectRejected(rawFile(headerBytes: Array("{\"a\u{1}\":1}".utf8)), .malformedHeader)
        expectRejected(rawFile(headerBytes: [0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D]), .malformedHeader,
                       mentioning: "UTF-8")
        expectRejected(rawFile(headerBytes: [0x7B, 0x22, 0xED, 0xA0, 0x80, 0x22, 0x3A, 0x31, 0x7D]), .malformedHeader)
        expectRejected(rawFile(header: #"{"\ud800":1}"#), .malformedHeader, mentioning: "surrogate")
        // Deep nesting must be refused by the depth limit, not by overflowing the stack.
        expectRejected(rawFile(header: String(repeating: "[", count: 200_000)), .malformedHeader, mentioning: "nesting")
        expectRejected(rawFile(header: "{\"a\":" + String(repeating: "{\"b\":", count: 50_000)), .malformedHeader)
    }

    @Test func valueBudgetBoundsTheParsedTree() throws {
        let many = Array(("[" + Array(repeating: "0", count: 1000).joined(separator: ",") + "]").utf8)
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(many, maxValues: 1000) }
        #expect(throws: Never.self) { try JSONParser.parse(many, maxValues: 1001) }
    }

    @Test func badEntries() {
        func entry(_ body: String, data: [UInt8] = []) -> [UInt8] { rawFile(header: "{\"t\":\(body)}", data: data) }
        expectRejected(entry(#"{"dtype":"F33","shape":[2],"data_offsets":[0,8]}"#, data: data8), .invalidEntry,
                       mentioning: "unknown dtype \"F33\"")
        expectRejected(entry(#"{"dtype":"f32","shape":[2],"data_offsets":[0,8]}"#, data: data8), .invalidEntry)
        expectRejected(entry(#"{"dtype":4,"shape":[2],"data_offsets":[0,8]}"#, data: data8), .invalidEntry)
        expectRejected(entry(#"{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}"#, data: data8), .invalidEntry,
                       mentioning: "non-negative integer")
        expectRejected(entry(#"{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}"#, data: data8), .invalidEntry)
        expectRejected(entry(#"{"dtype":"F32","shape":[2e0],"data_offsets":[0,8]}"#, data: data8), .invalidEntry)
        expectRejected(entry(#"{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}"#, data: data8), .invalidEntry)
        expectRejected(entry(#"{"dtype":"F32","shape":2,"data_offsets":[0,8]}"#, data: data8), .invalidEntry)
        expectRejected(entry(#"{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,8]}"#, data: data8),
                       .invalidEntry)
        // 2^62 * 4 elements overflows Int; 2^61 * 2 elements fits but its F32 byte size does not.
        expectRejected(entry(#"{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}"#, data: data8),
                       .invalidEntry, mentioning: "more elements than Int")
        expectRejected(entry(#"{"dtype":"F32","shape":[2305843009213693952,2],"data_offsets":[0,8]}"#, data: data8),
                       .invalidEntry, mentioning: "more bytes than Int")
        expectRejected(entry(#"{"dtype":"F32","shape":[3],"data_offsets":[0,8]}"#, data: data8), .invalidEntry,
                       mentioning: "needs 12")
        expectRejected(entry(#"{"dtype":"F32","shape":[2],"data_offsets":[0,8,16]}"#, data: data8), .invalidEntry,
                       mentioning: "expected 2")
        expectRejected(entry(#"{"dtype":"F32","shape":[2],"data_offsets":[8]}"#, data: data8), .invalidEntry)
        expectRejected(entry(#"{"dtype":"F32","shape":[2],"data_offsets":[8,0]}"#, data: data8), .invalidEntry,
                       mentioning: "ends before it begins")
        expectRejected(entry(#"{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}"#, data: data8), .invalidEntry)
        expectRejected(entry(#"{"dtype":"F32","shape":[2]}"#, data: data8), .invalidEntry)
        expectRejected(entry(#"{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":1}"#, data: data8),
                       .invalidEntry, mentioning: "unexpected field")
        expectRejected(entry(#"[1,2]"#), .invalidEntry, mentioning: "expected an object")
        expectRejected(entry(#""F32""#), .invalidEntry)
    }

    @Test func rangesOutsideTheDataAreaOrOverlapping() {
        expectRejected(rawFile(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, data: data8),
                       .invalidRange, mentioning: "exceed the 8-byte data area")
        expectRejected(rawFile(header: #"{"a":{"dtype":"U8","shape":[0],"data_offsets":[9,9]}}"#, data: data8),
                       .invalidRange)
        let huge = #"{"a":{"dtype":"U8","shape":[9223372036854775807],"data_offsets":[0,9223372036854775807]}}"#
        expectRejected(rawFile(header: huge, data: data8), .invalidRange)
        let overlap = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        expectRejected(rawFile(header: overlap, data: data8), .invalidRange, mentioning: "overlap")
        let same = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}"#
        expectRejected(rawFile(header: same, data: data8), .invalidRange, mentioning: "overlap")
        // Empty ranges overlap nothing, so a zero-size tensor inside another's range is fine.
        let empty = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"z":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}}"#
        #expect(throws: Never.self) { try TensorArchive(decoding: rawFile(header: empty, data: data8)) }
    }

    @Test func metadataAndNames() {
        expectRejected(rawFile(header: #"{"__metadata__":{"k":1}}"#), .invalidMetadata, mentioning: "\"k\"")
        expectRejected(rawFile(header: #"{"__metadata__":{"k":null}}"#), .invalidMetadata)
        expectRejected(rawFile(header: #"{"__metadata__":["k"]}"#), .invalidMetadata)
        expectRejected(rawFile(header: #"{"__metadata__":{"k":"v","k":"w"}}"#), .malformedHeader, mentioning: "duplicate")
        let dup = #"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}"#
        expectRejected(rawFile(header: dup, data: [1, 2]), .malformedHeader, mentioning: "duplicate key \"a\"")
    }

    @Test func fileErrorsNameThePath() throws {
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        let missing = dir.file("missing.safetensors")
        do {
            _ = try TensorArchive(contentsOf: missing)
            Issue.record("read a missing file")
        } catch let error as SafeTensorsError {
            #expect(error.kind == .io && error.description.contains(missing))
        }
        do {
            _ = try TensorArchive(contentsOf: dir.path)
            Issue.record("read a directory")
        } catch let error as SafeTensorsError {
            #expect(error.kind == .io && error.description.contains("not a regular file"))
        }
        let bad = dir.file("bad.safetensors")
        try writeBytes(rawFile(header: "[]"), to: bad)
        do {
            _ = try TensorArchive(contentsOf: bad)
            Issue.record("read a bad file")
        } catch let error as SafeTensorsError {
            #expect(error.kind == .malformedHeader && error.path == bad)
        }
    }

    /// A FIFO with no writer used to block `open` forever; it (and a device) must be refused at once.
    @Test func fifoAndDeviceAreRefusedWithoutBlocking() throws {
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        let fifo = dir.file("pipe.safetensors")
        #expect(mkfifo(fifo, 0o600) == 0)
        // A watchdog: if the reader is stuck in open, a writer opening after 5 s lets it go on
        // (and proves it was stuck) instead of hanging the test run.
        let unblocked = SharedFlag()
        let watchdog = Thread {
            Thread.sleep(forTimeInterval: 5)
            let fd = open(fifo, O_WRONLY | O_NONBLOCK)
            if fd >= 0 { unblocked.set(); close(fd) }
        }
        watchdog.start()
        do {
            _ = try TensorArchive(contentsOf: fifo)
            Issue.record("read a FIFO")
        } catch let error as SafeTensorsError {
            #expect(error.kind == .io && error.path == fifo && error.description.contains("FIFO"), "\(error)")
        }
        #expect(!unblocked.isSet, "open blocked on the FIFO until a writer came")
        do {
            _ = try TensorArchive(contentsOf: "/dev/zero")
            Issue.record("read /dev/zero")
        } catch let error as SafeTensorsError {
            #expect(error.kind == .io && error.description.contains("/dev/zero") && error.description.contains("a device"), "\(error)")
        }
    }

    @Test func randomMutationsNeverTrap() throws {
        let valid = try sampleArchive().encoded()
        var headerLength = 0
        for i in 0..<8 { headerLength |= Int(valid[i]) << (8 * i) }
        let alphabet = Array("{}[]\",:-0123456789.eE \\u_FBI".utf8)
        var rng = SplitMix64(state: 0x5AFE_7E45)
        var accepted = 0
        var kinds: [SafeTensorsError.Kind: Int] = [:]
        let cases = 4000
        for caseIndex in 0..<cases {
            var bytes = valid
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                guard !bytes.isEmpty else { break }
                let at = Int.random(in: 0..<bytes.count, using: &rng)
                // Most edits hit the header, where the validation logic lives.
                let inHeader = min(8 + Int.random(in: 0..<max(headerLength, 1), using: &rng), bytes.count - 1)
                switch Int.random(in: 0..<8, using: &rng) {
                case 0: bytes[at] ^= 1 << UInt8.random(in: 0..<8, using: &rng)
                case 1: bytes[at] = UInt8.random(in: 0...255, using: &rng)
                case 2: bytes.removeSubrange(Int.random(in: 0...bytes.count, using: &rng)...)
                case 3, 4: bytes[inHeader] = alphabet.randomElement(using: &rng) ?? 0
                case 5: bytes.insert(alphabet.randomElement(using: &rng) ?? 0, at: inHeader)
                case 6: bytes.remove(at: inHeader)
                default:
                    // Rewrite the length field, sometimes to match a header edit, sometimes wildly.
                    var length = UInt64.random(in: 0...UInt64.max, using: &rng) >> UInt64.random(in: 0...63, using: &rng)
                    if Bool.random(using: &rng) { length = UInt64(headerLength) &+ UInt64.random(in: 0...2, using: &rng) &- 1 }
                    for i in 0..<min(8, bytes.count) { bytes[i] = UInt8(truncatingIfNeeded: length >> (8 * UInt64(i))) }
                }
            }
            do {
                let archive = try TensorArchive(decoding: bytes, source: "fuzz-\(caseIndex)")
                accepted += 1
                // Anything accepted must be a consistent archive that survives a round trip.
                #expect(try TensorArchive(decoding: archive.encoded()) == archive)
            } catch let error as SafeTensorsError {
                kinds[error.kind, default: 0] += 1
                #expect(error.path == "fuzz-\(caseIndex)")
            } catch {
                Issue.record("case \(caseIndex): wrong error type \(error)")
            }
        }
        print("fuzz: \(cases) cases, \(accepted) accepted, rejections by kind: \(kinds.sorted { $0.key.rawValue < $1.key.rawValue })")
        #expect(kinds.count >= 5)  // the mutations reach many distinct checks
    }
}
