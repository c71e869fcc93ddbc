import Codecs
import Foundation
import Testing
@testable import Data

/// Folders as users have them: the header check, skipping bad files, odd names, link loops,
/// files that vanish, and image files of unusual kinds written by another encoder.
@Suite struct FolderCheckTests {
    /// Writes `name` with raw (possibly non-UTF-8) name bytes into `folder`.
    static func writeRaw(folder: String, nameBytes: [UInt8], contents: [UInt8]) throws {
        let path = Array(folder.utf8) + [UInt8(ascii: "/")] + nameBytes + [0]
        let fd = path.withUnsafeBufferPointer { open(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), O_CREAT | O_WRONLY, 0o644) }
        guard fd >= 0 else { throw DataError.invalidOption("cannot create a file with a raw name") }
        defer { close(fd) }
        _ = contents.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    @Test func headerCheckListsEveryBadFileWithItsReason() throws {
        let temp = try TempFolder(); defer { temp.remove() }
        let good = try Fixture.encoded(0, side: 8, channels: 3, jpeg: false)
        try temp.write("a.png", good)
        try temp.write("b.png", (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 97) })    // random bytes named .png
        try temp.write("c.jpg", Array(try Fixture.encoded(1, side: 16, channels: 3, jpeg: true).prefix(40)))   // header cut short
        try temp.write("d.png", Array(good.prefix(good.count - 20)))                        // damaged after its header
        try temp.write("e.png", [])                                                         // empty
        let folder = try ImageFolderDataset(root: temp.path)
        let bad = folder.checkFiles()
        #expect(bad.map { ($0.path as NSString).lastPathComponent } == ["b.png", "c.jpg", "e.png"])
        #expect(bad[0].reason.contains("neither a PNG nor a JPEG") && bad[1].reason.contains("cut short or damaged"), "\(bad)")
        // A full decode also finds the file damaged after its header.
        #expect(folder.checkFiles(decode: true).map { ($0.path as NSString).lastPathComponent } == ["b.png", "c.jpg", "d.png", "e.png"])
        // Removing the bad files keeps the good ones, and their images.
        let kept = try folder.removing(Set(bad.map(\.path)))
        #expect(kept.count == 2 && (kept.files[0] as NSString).lastPathComponent == "a.png" && kept.checkFiles().isEmpty)
        #expect(throws: DataError.self) { try folder.removing(Set(folder.files)) }
    }

    @Test func removingKeepsLabelsAligned() throws {
        let temp = try TempFolder(); defer { temp.remove() }
        for (name, n) in [("ant/x.png", 0), ("ant/y.png", 1), ("bee/z.png", 2)] {
            try temp.write(name, try Fixture.encoded(n, side: 4, channels: 1, jpeg: false))
        }
        let folder = try ImageFolderDataset(root: temp.path, channels: 1)
        let kept = try folder.removing([folder.files[1]])
        #expect(kept.classNames == ["ant", "bee"] && kept.count == 2)
        #expect(kept.label(at: 0) == 0 && kept.label(at: 1) == 1)
        #expect(try kept.image(at: 1) == Fixture.image(2, side: 4, channels: 1))
    }

    @Test func surveyCountsColourAndSizes() throws {
        let temp = try TempFolder(); defer { temp.remove() }
        try temp.write("a.png", try Fixture.encoded(0, side: 8, channels: 1, jpeg: false))
        try temp.write("b.png", try Fixture.encoded(1, side: 20, channels: 3, jpeg: false))
        try temp.write("c.jpg", try Fixture.encoded(2, side: 12, channels: 3, jpeg: true))
        let survey = try ImageFolderDataset(root: temp.path).survey()
        #expect(survey == FolderSurvey(sampled: 3, colour: 2, medianShorterSide: 12, uniformSize: false))
        let header = try ImageCodec.header(try Fixture.encoded(3, side: 5, channels: 1, jpeg: true))
        #expect(header == ImageHeader(width: 5, height: 5, isColour: false))
        #expect(throws: CodecError.self) { try ImageCodec.header([0x89, 0x50, 0x4E, 0x47]) }
    }

    @Test func linkLoopsAreFollowedOnce() throws {
        let temp = try TempFolder(); defer { temp.remove() }
        try temp.write("flat/a.png", try Fixture.encoded(0, side: 4, channels: 3, jpeg: false))
        try FileManager.default.createSymbolicLink(atPath: temp.path + "/flat/loop", withDestinationPath: ".")
        #expect(try ImageFolderDataset(root: temp.path + "/flat").count == 1)
        try temp.write("classes/cat/b.png", try Fixture.encoded(1, side: 4, channels: 3, jpeg: false))
        try FileManager.default.createSymbolicLink(atPath: temp.path + "/classes/cat/up", withDestinationPath: "..")
        try FileManager.default.createSymbolicLink(atPath: temp.path + "/classes/cat/again", withDestinationPath: ".")
        let classes = try ImageFolderDataset(root: temp.path + "/classes")
        #expect(classes.classNames == ["cat"] && classes.count == 1)
    }

    @Test func oddNamesAndVanishingFiles() throws {
        let temp = try TempFolder(); defer { temp.remove() }
        let png = try Fixture.encoded(0, side: 4, channels: 3, jpeg: false)
        let long = String(repeating: "é", count: 100) + ".png"   // 202 bytes, under the 255-byte limit
        try temp.write(long, png)
        try Self.writeRaw(folder: temp.path, nameBytes: [0xFF, 0xFE] + Array("-latin1.png".utf8), contents: png)
        try temp.write("gone.png", png)
        let folder = try ImageFolderDataset(root: temp.path)
        #expect(folder.count == 3)
        try FileManager.default.removeItem(atPath: temp.path + "/gone.png")
        let reasons = Dictionary(uniqueKeysWithValues: folder.checkFiles().map { (($0.path as NSString).lastPathComponent, $0.reason) })
        #expect(reasons.count == 2 && reasons[long] == nil)
        #expect(reasons["gone.png"]?.contains("cannot read") == true)
        #expect(reasons.first { $0.key.hasSuffix("-latin1.png") }?.value.contains("not valid UTF-8") == true)
        // Reading a vanished file during training names it.
        let index = try #require(folder.files.firstIndex { $0.hasSuffix("gone.png") })
        do { _ = try folder.image(at: index); Issue.record("a vanished file was read") } catch {
            #expect(malformedNames(error, "gone.png"), "\(error)")
        }
    }

    /// Files from another encoder (Pillow; scripts/make_image_fixtures.py): interlaced, grey with
    /// alpha and palette PNGs decode exactly; progressive and CMYK JPEGs within a few levels.
    @Test(arguments: ["interlaced.png", "grey_alpha.png", "palette.png", "progressive.jpg", "cmyk.jpg"])
    func unusualFilesDecode(name: String) throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/images")
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("expected.json"))) as! [String: [String: Any]]
        let entry = try #require(expected[name])
        let decoded = try ImageCodec.decode(Data(contentsOf: folder.appendingPathComponent(name)), channels: 3)
        #expect(decoded.height == entry["height"] as? Int && decoded.width == entry["width"] as? Int)
        let reference = (entry["rgb"] as! [Int])
        let worst = zip(decoded.pixels, reference).map { abs(Int($0) - $1) }.max() ?? 0
        #expect(worst <= (name.hasSuffix(".jpg") ? 6 : 0), "\(name): largest difference \(worst)")
        let header = try ImageCodec.header(Data(contentsOf: folder.appendingPathComponent(name)))
        #expect(header.width == decoded.width && header.isColour == !["interlaced.png", "grey_alpha.png"].contains(name))
    }
}
