import Codecs
import Foundation
import Testing
@testable import Data

/// Small multi-domain collections written by the tests: a generic `root/<domain>/<class>/` folder
/// and a PACS-shaped folder with split lists in DomCLP's format.
enum DomainFixture {
    /// `root/<domain>/<class>/img<k>.png`, `perClass` 8×8 PNGs in every class of every domain.
    static func genericFolder(domains: [String] = ["clipart", "photo", "sketch"], classes: [String] = ["cat", "dog"],
                              perClass: Int = 4) throws -> TempFolder {
        let root = try TempFolder()
        for (d, domain) in domains.enumerated() {
            for (c, name) in classes.enumerated() {
                for k in 0..<perClass {
                    try root.write("\(domain)/\(name)/img\(k).png", try Fixture.encoded(d * 100 + c * 10 + k, side: 8, channels: 3, jpeg: false))
                }
            }
        }
        return root
    }

    /// PACS's four domains × seven classes, three 8×8 JPEGs a class: `pic_0` and `pic_1` in the
    /// train list, `pic_2` in the test list; the 1/5/10 % lists keep `pic_0`, 100 % both.
    static func pacs() throws -> TempFolder {
        let root = try TempFolder()
        for (d, domain) in PACSCollection.domains.enumerated() {
            var train: [String] = [], test: [String] = [], few: [String] = []
            for (c, name) in PACSCollection.classes.enumerated() {
                for k in 0..<3 {
                    let relative = "\(domain)/\(name)/pic_\(k).jpg"
                    try root.write(relative, try Fixture.encoded(d * 100 + c * 10 + k, side: 8, channels: 3, jpeg: true))
                    let line = "\(relative) \(c)"
                    if k == 2 { test.append(line) } else { train.append(line) }
                    if k == 0 { few.append(line) }
                }
            }
            try writeList(root, "\(domain)_train_0.txt", train)
            try writeList(root, "\(domain)_test_0.txt", test)
            try writeList(root, "\(domain)_train_100p_0.txt", train)
            for percent in [1, 5, 10] { try writeList(root, "\(domain)_train_\(percent)p_0.txt", few) }
        }
        return root
    }

    /// Writes `lines` as a split list (newline-terminated, as DomCLP's are).
    static func writeList(_ root: TempFolder, _ name: String, _ lines: [String]) throws {
        try root.write(name, Array((lines.joined(separator: "\n") + "\n").utf8))
    }

    /// Sources art_painting, cartoon, photo; target sketch.
    static let leaveSketchOut = DomainSelection(sourceDomains: ["art_painting", "cartoon", "photo"], targetDomain: "sketch")
}

/// The `DataError` message of `body`'s error ("" when it throws none or another kind).
func dataErrorMessage(_ body: () throws -> Void) -> String {
    do { try body(); return "" } catch let error as DataError { return error.description } catch { return "" }
}

@Suite("Multi-domain readers: PACS with its split lists, and root/<domain>/<class>/ folders")
struct MultiDomainReaderTests {
    @Test("a generic folder keeps every image's domain; sources, target and a seeded per-class labelled draw")
    func genericFolder() throws {
        let root = try DomainFixture.genericFolder(perClass: 10)
        defer { root.remove() }
        let folder = try MultiDomainFolder(root: root.path)
        #expect(folder.domainNames == ["clipart", "photo", "sketch"] && folder.all.count == 60 && folder.all.classNames == ["cat", "dog"])
        let selection = DomainSelection(sourceDomains: ["clipart", "photo"], targetDomain: "sketch", split: 3)
        let sources = try folder.open(.sources, selection: selection)
        #expect(sources.count == 40 && sources.imagesPerDomain == ["clipart": 20, "photo": 20])
        #expect(sources.domain(at: 0) == 0 && sources.domain(at: 39) == 1 && sources.domain(at: 40) == nil)
        let target = try folder.open(.target, selection: selection)
        #expect(target.count == 20 && (0..<20).allSatisfy { target.domainName(at: $0) == "sketch" })
        let tenth = try folder.open(.labelledSources(percent: 10), selection: selection)
        #expect(tenth.count == 4)   // one image per class and domain
        #expect(try folder.open(.labelledSources(percent: 10), selection: selection).files == tenth.files)
        let half = try folder.open(.labelledSources(percent: 50), selection: selection)
        #expect(half.count == 20 && half.imagesPerDomain == ["clipart": 10, "photo": 10])
        try readAll(half)
    }

    @Test("PACS: source train lists, the whole target domain, and the published fraction lists")
    func pacsLists() throws {
        let root = try DomainFixture.pacs()
        defer { root.remove() }
        let pacs = try PACSCollection(root: root.path)
        let selection = DomainFixture.leaveSketchOut
        let sources = try pacs.open(.sources, selection: selection)
        #expect(sources.count == 3 * 7 * 2 && sources.classCount == 7)
        #expect(sources.imagesPerDomain == ["art_painting": 14, "cartoon": 14, "photo": 14])
        #expect(sources.domain(at: 14) == 1 && sources.label(at: 2) == 1)
        let target = try pacs.open(.target, selection: selection)
        #expect(target.count == 21 && target.imagesPerDomain == ["sketch": 21])
        #expect(try pacs.open(.labelledSources(percent: 1), selection: selection).count == 21)
        #expect(try pacs.open(.labelledSources(percent: 100), selection: selection).count == 42)
        try readAll(target)
        let message = dataErrorMessage { _ = try pacs.open(.labelledSources(percent: 20), selection: selection) }
        #expect(message.contains("1 %, 5 %, 10 %, 100 %"))
    }

    @Test("the catalog finds PACS in DIR, DIR/images or DIR/pacs/images and opens its split 0 without a selection")
    func catalog() throws {
        let root = try DomainFixture.pacs()
        defer { root.remove() }
        let parent = try TempFolder()
        defer { parent.remove() }
        try FileManager.default.createDirectory(atPath: parent.path + "/pacs", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: parent.path + "/pacs/images", withDestinationPath: root.path)
        for dir in [root.path, parent.path] {
            #expect(try DatasetCatalog.open(name: "pacs", root: dir, split: .train).count == 4 * 7 * 2)
            #expect(try DatasetCatalog.open(name: "pacs", root: dir, split: .test).count == 4 * 7)
        }
        let status = try #require(DatasetCatalog.status(root: root.path).first { $0.name == "pacs" })
        #expect(status.installed && status.howToGet.contains("JINSUBY/DomCLP") && status.classes == 7)
        let missing = dataErrorMessage { _ = try MultiDomainCatalog.open(name: "pacs", root: parent.path + "/nothing",
                                                                          selection: DomainFixture.leaveSketchOut, part: .sources) }
        #expect(missing.contains("JINSUBY/DomCLP"))
    }

    @Test("a domain name that does not exist names the known ones; a target that is also a source is refused")
    func badSelections() throws {
        let root = try DomainFixture.genericFolder()
        defer { root.remove() }
        let folder = try MultiDomainFolder(root: root.path)
        let unknown = dataErrorMessage { _ = try folder.open(.sources, selection: DomainSelection(sourceDomains: ["paintings"], targetDomain: "sketch")) }
        #expect(unknown.contains("\"paintings\"") && unknown.contains("clipart, photo, sketch"))
        let overlap = dataErrorMessage { _ = try folder.open(.sources, selection: DomainSelection(sourceDomains: ["photo", "sketch"], targetDomain: "sketch")) }
        #expect(overlap.contains("also a source"))
        let twice = dataErrorMessage { _ = try folder.open(.sources, selection: DomainSelection(sourceDomains: ["photo", "photo"], targetDomain: "sketch")) }
        #expect(twice.contains("twice"))
        let pacs = try DomainFixture.pacs()
        defer { pacs.remove() }
        let cartoons = dataErrorMessage { _ = try PACSCollection(root: pacs.path).open(.sources, selection: DomainSelection(sourceDomains: ["cartoons"], targetDomain: "sketch")) }
        #expect(cartoons.contains("art_painting, cartoon, photo, sketch"))
    }

    @Test("class folders that differ between domains are refused, naming the difference")
    func differingClasses() throws {
        let root = try DomainFixture.genericFolder()
        defer { root.remove() }
        try root.write("sketch/bird/img0.png", try Fixture.encoded(0, side: 8, channels: 3, jpeg: false))
        let message = dataErrorMessage { _ = try MultiDomainFolder(root: root.path) }
        #expect(message.contains("class folders differ") && message.contains("bird"))
        let pacs = try DomainFixture.pacs()
        defer { pacs.remove() }
        try FileManager.default.removeItem(atPath: pacs.path + "/photo/guitar")
        let lacking = dataErrorMessage { _ = try PACSCollection(root: pacs.path) }
        #expect(lacking.contains("photo lacks guitar"))
    }

    @Test("an empty domain is refused: no class folder, an empty class folder, or an empty split list")
    func emptyDomains() throws {
        let root = try DomainFixture.genericFolder()
        defer { root.remove() }
        try FileManager.default.createDirectory(atPath: root.path + "/cartoon", withIntermediateDirectories: true)
        #expect(dataErrorMessage { _ = try MultiDomainFolder(root: root.path) }.contains("domain cartoon is empty"))
        try FileManager.default.createDirectory(atPath: root.path + "/cartoon/cat", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root.path + "/cartoon/dog", withIntermediateDirectories: true)
        #expect(dataErrorMessage { _ = try MultiDomainFolder(root: root.path) }.contains("domain cartoon is empty"))
        let bare = try TempFolder()
        defer { bare.remove() }
        #expect(dataErrorMessage { _ = try MultiDomainFolder(root: bare.path) }.contains("no domain folders"))
        let pacs = try DomainFixture.pacs()
        defer { pacs.remove() }
        try DomainFixture.writeList(pacs, "photo_train_0.txt", [])
        let empty = dataErrorMessage { _ = try PACSCollection(root: pacs.path).open(.sources, selection: DomainFixture.leaveSketchOut) }
        #expect(empty.contains("photo_train_0.txt") && empty.contains("names no image"))
    }

    @Test("a split list naming a missing file is refused with the list and the entry")
    func missingFile() throws {
        let pacs = try DomainFixture.pacs()
        defer { pacs.remove() }
        try FileManager.default.removeItem(atPath: pacs.path + "/sketch/horse/pic_2.jpg")
        let message = dataErrorMessage { _ = try PACSCollection(root: pacs.path).open(.target, selection: DomainFixture.leaveSketchOut) }
        #expect(message.contains("sketch_test_0.txt") && message.contains("sketch/horse/pic_2.jpg") && message.contains("not a file"))
        let list = dataErrorMessage { _ = try PACSCollection(root: pacs.path).open(.target, selection: DomainSelection(sourceDomains: ["photo"], targetDomain: "sketch", split: 2)) }
        #expect(list.contains("sketch_train_2.txt") && list.contains("not found"))
    }

    @Test("hostile split lists are refused naming the line: bad labels, paths leaving the root or the domain, binary garbage",
          arguments: [
              ("photo/dog/pic_0.jpg", "line 1"),                    // no label
              ("photo/dog/pic_0.jpg seven", "not a class index"),
              ("photo/dog/pic_0.jpg 7", "not a class index"),
              ("photo/dog/pic_0.jpg -1", "not a class index"),
              ("photo/dog/pic_0.jpg 0 x", "not a domain number"),
              ("photo/dog/pic_0.jpg 0 1 2", "4 fields"),
              ("/etc/passwd 0", "not a relative"),
              ("photo/../../../etc/passwd 0", "not a relative"),
              ("photo//pic_0.jpg 0", "not a relative"),
              ("photo/pic_0.jpg 0", "not a relative"),
              ("sketch/dog/pic_0.jpg 0", "not in domain photo"),
              ("photo/dog/pic_0.jpg 1", "lies in class folder dog"),
          ])
    func hostileLists(line: String, expected: String) throws {
        let pacs = try DomainFixture.pacs()
        defer { pacs.remove() }
        try DomainFixture.writeList(pacs, "photo_train_0.txt", [line])
        let message = dataErrorMessage { _ = try PACSCollection(root: pacs.path).open(.sources, selection: DomainFixture.leaveSketchOut) }
        #expect(message.contains("photo_train_0.txt") && message.contains(expected), "\(message)")
    }

    @Test("a split list that is not text, or absurdly large, is refused; blank lines, CRLF and DomCLP's third column are read")
    func listEncodings() throws {
        let pacs = try DomainFixture.pacs()
        defer { pacs.remove() }
        try pacs.write("photo_train_0.txt", [0x89, 0x50, 0x4E, 0x47, 0, 0, 0xFF, 0xFE])
        #expect(dataErrorMessage { _ = try PACSCollection(root: pacs.path).open(.sources, selection: DomainFixture.leaveSketchOut) }.contains("not UTF-8"))
        let path = try pacs.file("photo_train_0.txt")
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: UInt64(DomainSplitList.maximumBytes + 1))
        try handle.close()
        #expect(dataErrorMessage { _ = try PACSCollection(root: pacs.path).open(.sources, selection: DomainFixture.leaveSketchOut) }.contains("limit"))
        try pacs.write("photo_train_0.txt", Array("\r\nphoto/dog/pic_0.jpg 0 2\r\n\n   \nphoto/house/pic_1.jpg\t5\r\n".utf8))
        let entries = try DomainSplitList.read(path, domain: "photo", classNames: PACSCollection.classes)
        #expect(entries == [SplitListEntry(relativePath: "photo/dog/pic_0.jpg", label: 0), SplitListEntry(relativePath: "photo/house/pic_1.jpg", label: 5)])
    }

    @Test("fuzzed split lists read cleanly or are refused naming the list")
    func fuzzedLists() throws {
        let pacs = try DomainFixture.pacs()
        defer { pacs.remove() }
        let path = try pacs.file("photo_train_0.txt")
        let valid = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let (ok, rejected) = try FuzzReaderTests.fuzz(valid, at: path, headerLength: valid.count, cases: 300, seed: 16) { _ in
            try PACSCollection(root: pacs.path).open(.sources, selection: DomainFixture.leaveSketchOut)
        }
        #expect(ok + rejected == 300 && rejected > 0)
    }
}
