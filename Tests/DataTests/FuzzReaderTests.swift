import Codecs
import Foundation
import Testing
@testable import Data

/// Random byte mutations and truncations of valid files, for every reader: each case must either
/// read cleanly (every image and label in range) or throw DataError.malformed naming the file.
@Suite struct FuzzReaderTests {
    /// A SplitMix64 generator so every failure is reproducible from its seed.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// One corruption: truncation, a few byte flips anywhere, a header byte, or a random run.
    static func mutate(_ bytes: [UInt8], headerLength: Int, using rng: inout Generator) -> [UInt8] {
        var out = bytes
        guard !out.isEmpty else { return out }
        switch Int.random(in: 0..<5, using: &rng) {
        case 0:
            out.removeSubrange(Int.random(in: 0..<out.count, using: &rng)...)
        case 1:
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                out[Int.random(in: 0..<out.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
            }
        case 2, 3:
            let limit = min(out.count, headerLength)
            out[Int.random(in: 0..<limit, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
        default:
            let start = Int.random(in: 0..<out.count, using: &rng)
            for i in start..<min(out.count, start + Int.random(in: 1...16, using: &rng)) { out[i] = UInt8.random(in: 0...255, using: &rng) }
        }
        return out
    }

    /// Runs `cases` mutations of `valid` written to `path`; `open` builds the dataset.
    /// Returns (clean reads, DataErrors) and records an issue for anything else.
    @discardableResult
    static func fuzz(_ valid: [UInt8], at path: String, headerLength: Int, cases: Int, seed: UInt64,
                     open: (String) throws -> any ImageDataset) throws -> (ok: Int, rejected: Int) {
        var rng = Generator(state: seed)
        var ok = 0, rejected = 0
        for i in 0..<cases {
            let bytes = mutate(valid, headerLength: headerLength, using: &rng)
            try writeFile(path, bytes)
            do {
                try readAll(try open(path))
                ok += 1
            } catch let error as DataError {
                rejected += 1
                if !malformedNames(error, path) { Issue.record("case \(i) (seed \(seed)): error does not name the file: \(error)") }
            } catch {
                Issue.record("case \(i) (seed \(seed)): not a DataError: \(error)")
            }
        }
        return (ok, rejected)
    }

    @Test func idxRawAndGzipped() throws {
        let temp = try TempFolder(); defer { temp.remove() }
        let images = Fixture.idxImages(count: 3, side: 8), labels = Fixture.idxLabels([1, 2, 3])
        let goodImages = try temp.write("good-images", images), goodLabels = try temp.write("good-labels", labels)
        let target = try temp.file("fuzzed")
        try Self.fuzz(images, at: target, headerLength: 16, cases: 400, seed: 1) {
            try IDXDataset(imagesPath: $0, labelsPath: goodLabels, name: "f")
        }
        try Self.fuzz(labels, at: target, headerLength: 8, cases: 300, seed: 2) {
            try IDXDataset(imagesPath: goodImages, labelsPath: $0, name: "f")
        }
        let (_, rejected) = try Self.fuzz(try Zlib.deflate(images, container: .gzip), at: target, headerLength: 40, cases: 400, seed: 3) {
            try IDXDataset(imagesPath: $0, labelsPath: goodLabels, name: "f")
        }
        #expect(rejected > 200)
    }

    @Test func cifar() throws {
        let temp = try TempFolder(); defer { temp.remove() }
        let target = try temp.file("batch.bin")
        let ten = try Self.fuzz(Fixture.cifar(labels: [[1], [9]]), at: target, headerLength: 3074, cases: 300, seed: 4) {
            try CIFARDataset(files: [$0], variant: .cifar10, name: "f")
        }
        let hundred = try Self.fuzz(Fixture.cifar(labels: [[1, 2], [19, 99]]), at: target, headerLength: 3076, cases: 300, seed: 5) {
            try CIFARDataset(files: [$0], variant: .cifar100(coarse: false), name: "f")
        }
        // Truncations and out-of-range labels must be caught, or the fuzzing proves nothing. The
        // seeds fix the cases: these readers refuse 50 and 69; the bounds leave room for changes
        // to the mutations but not for a reader that accepts everything.
        #expect(ten.rejected > 25, "\(ten)")
        #expect(hundred.rejected > 30, "\(hundred)")
    }

    @Test func stl10() throws {
        let temp = try TempFolder(); defer { temp.remove() }
        let images = try temp.write("x.bin", Fixture.stlImages(count: 1))
        let target = try temp.file("y.bin")
        let labels = try Self.fuzz([3, 10], at: target, headerLength: 2, cases: 200, seed: 6) {
            try STL10Dataset(imagesPath: images, labelsPath: $0, name: "f")
        }
        // Truncations of the images file (flips inside pixels are always valid).
        let pixels = try Self.fuzz(Fixture.stlImages(count: 1), at: target, headerLength: 8, cases: 100, seed: 7) {
            try STL10Dataset(imagesPath: $0, labelsPath: nil, name: "f")
        }
        // Seeded cases: 185 label files and 19 image files (the truncations) are refused today.
        #expect(labels.rejected > 100, "\(labels)")
        #expect(pixels.rejected > 10, "\(pixels)")
    }

    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func svhnMATFiles(compressed: Bool, bigEndian: Bool) throws {
        let temp = try TempFolder(); defer { temp.remove() }
        let valid = try MATWriter.svhn(labels: [10, 4], compressed: compressed, bigEndian: bigEndian)
        // Most of an uncompressed file is pixels: aim header mutations at the tags and y.
        let (_, rejected) = try Self.fuzz(valid, at: try temp.file("train_32x32.mat"), headerLength: compressed ? valid.count : 260,
                                          cases: 500, seed: 8 + (compressed ? 1 : 0) + (bigEndian ? 2 : 0)) {
            try SVHNDataset(path: $0, name: "f")
        }
        #expect(rejected > 100)
    }

    @Test(arguments: [false, true])
    func imageFolders(jpeg: Bool) throws {
        let temp = try TempFolder(); defer { temp.remove() }
        let valid = try Fixture.encoded(5, side: 12, channels: 3, jpeg: jpeg)
        let target = try temp.write("root/class/image.\(jpeg ? "jpg" : "png")", valid)
        let dataset = try ImageFolderDataset(root: temp.path + "/root")
        let (_, rejected) = try Self.fuzz(valid, at: target, headerLength: jpeg ? 600 : 60, cases: 400, seed: jpeg ? 20 : 21) { _ in dataset }
        // Seeded cases: 151 JPEGs and 352 PNGs are refused today (a PNG's CRCs catch most flips).
        #expect(rejected > (jpeg ? 75 : 200), "\(rejected) of 400 rejected")
    }
}
