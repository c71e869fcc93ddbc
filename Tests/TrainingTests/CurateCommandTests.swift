import Codecs
import Data
import Evaluation
import ArgumentParser
import Foundation
import InvpropCLI
import Testing

/// `invprop curate` end to end on a folder of `shapes` images with planted copies, and its refusals.
@Suite("invprop curate on a folder with planted duplicates", .serialized)
struct CurateCommandTests {
    /// A flat folder of `count` shapes images as grey PNGs, plus exact copies of images 3 and 11
    /// (`copy-3.png`, `copy-11.png`); `colour` writes them as RGB with a red tint instead.
    static func makeFolder(count: Int = 60, colour: Bool = false) throws -> String {
        let folder = NSTemporaryDirectory() + "invprop-curate-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let shapes = try ShapesDataset(count: count, seed: 21)
        func png(_ index: Int) throws -> [UInt8] {
            let image = try shapes.image(at: index)
            let pixels = colour ? image.pixels.flatMap { [$0, $0 / 2, $0 / 3] } : image.pixels
            return try PNGCodec.encode(DecodedImage(height: image.height, width: image.width, channels: colour ? 3 : 1, pixels: pixels))
        }
        for index in 0..<count {
            try Data(png(index)).write(to: URL(fileURLWithPath: folder + String(format: "/img-%03d.png", index)))
        }
        for index in [3, 11] { try Data(png(index)).write(to: URL(fileURLWithPath: folder + "/copy-\(index).png")) }
        return folder
    }

    /// Rows of a CSV file without its header, split at commas (no field here is quoted).
    static func rows(_ path: String) throws -> [[String]] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").dropFirst().map { $0.split(separator: ",").map(String.init) }
    }

    @Test("every list and the review page are written; the planted copies share a group at similarity 1")
    func curatesAFolder() throws {
        let folder = try Self.makeFolder()
        let output = NSTemporaryDirectory() + "invprop-curation-\(UUID().uuidString)"
        try invprop(["curate", "--checkpoint", TinyRun.lastCheckpoint(), "--folder", folder, "--output", output,
                     "--threshold", "0.9999", "--subset", "12", "--regions", "3", "--per-region", "4", "--neighbors", "5"])
        let images = try Self.rows(output + "/images.csv")
        #expect(images.count == 62 && images.allSatisfy { $0.count == 6 })
        let groupOf = Dictionary(uniqueKeysWithValues: images.map { (URL(fileURLWithPath: $0[1]).lastPathComponent, Int($0[4])!) })
        for index in [3, 11] {
            let group = try #require(groupOf["copy-\(index).png"])
            #expect(group >= 0 && groupOf[String(format: "img-%03d.png", index)] == group, "copy of image \(index)")
        }
        let duplicates = try Self.rows(output + "/duplicates.csv")
        #expect(duplicates.contains { $0[1].hasSuffix("copy-3.png") && Float($0[3])! > 0.9999 })
        let diverse = try Self.rows(output + "/diverse.csv")
        #expect(diverse.count == 12 && Set(diverse.map { $0[2] }).count == 12 && diverse[0][3] == "2.000000")
        #expect(try Self.rows(output + "/typical.csv").count == 12 && Self.rows(output + "/outliers.csv").count == 12)
        let summary = try JSONDecoder().decode(CurationSummary.self, from: Data(contentsOf: URL(fileURLWithPath: output + "/curation.json")))
        #expect(summary.images == 62 && summary.settings.subsetSize == 12 && summary.layer == "head")
        let page = try String(contentsOfFile: output + "/curation.html", encoding: .utf8)
        #expect(page.contains("Near-duplicate groups") && page.contains("data:image/png;base64,") && page.contains("copy-3.png"))
        #expect(!page.contains("<script"))
    }

    @Test("bad input is refused before any work: empty folder, threshold, subset, channels")
    func refusals() throws {
        let checkpoint = try TinyRun.lastCheckpoint()
        let empty = NSTemporaryDirectory() + "invprop-curate-empty-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let output = NSTemporaryDirectory() + "invprop-curation-\(UUID().uuidString)"
        // The library's message (the CLI prints it as "error: …" and exits with status 1).
        func failure(_ folder: String, subset: Int = 5, convert: Bool = false) -> String {
            let curation = FolderCuration(settings: CurationSettings(subsetSize: subset, regions: 2), convertChannels: convert)
            do { _ = try curation.run(checkpoint: checkpoint, folder: folder, output: output); return "" } catch { return "\(error)" }
        }
        #expect(failure(empty).contains("no PNG or JPEG images"))
        #expect(failure(empty + "/absent").contains("does not exist"))
        #expect(throws: ExitCode.self) { try invprop(["curate", "--checkpoint", checkpoint, "--folder", empty]) }
        #expect(validationMessage(["curate", "--checkpoint", checkpoint, "--folder", empty, "--threshold", "1.2"])?.contains("--threshold") == true)
        #expect(validationMessage(["curate", "run", "--folder", empty, "--subset", "0"])?.contains("--subset") == true)
        let folder = try Self.makeFolder(count: 20)
        #expect(failure(folder, subset: 50).contains("the folder has 22"))
        let colour = try Self.makeFolder(count: 20, colour: true)
        #expect(failure(colour).contains("colour images"))
        #expect(!FileManager.default.fileExists(atPath: output), "nothing is written before the checks pass")
        try invprop(["curate", "--checkpoint", checkpoint, "--folder", colour, "--convert-channels", "--output", output, "--regions", "2"])
        #expect(try Self.rows(output + "/images.csv").count == 22)
    }
    @Test("unusable files are listed before the network runs, or skipped with --skip-bad-images")
    func badImagesAreRefusedOrSkipped() throws {
        let checkpoint = try TinyRun.lastCheckpoint()
        let folder = try Self.makeFolder(count: 20)
        // A 0-byte PNG, and one whose header declares 100000×100000 pixels.
        try Data().write(to: URL(fileURLWithPath: folder + "/empty.png"))
        var huge = try PNGCodec.encode(DecodedImage(height: 8, width: 8, channels: 1, pixels: [UInt8](repeating: 7, count: 64)))
        for offset in [16, 20] { huge.replaceSubrange(offset..<offset + 4, with: [0x00, 0x01, 0x86, 0xA0]) }
        try Data(huge).write(to: URL(fileURLWithPath: folder + "/huge.png"))
        let output = NSTemporaryDirectory() + "invprop-curation-\(UUID().uuidString)"
        let curation = FolderCuration(settings: CurationSettings(subsetSize: 5, regions: 2))
        do {
            _ = try curation.run(checkpoint: checkpoint, folder: folder, output: output)
            Issue.record("the bad files were accepted")
        } catch {
            let message = "\(error)"
            #expect(message.contains("2 of 24 files of \(folder)") && message.contains(folder + "/empty.png\t")
                    && message.contains(folder + "/huge.png\t") && message.contains("--skip-bad-images"), "\(message)")
        }
        #expect(!FileManager.default.fileExists(atPath: output), "nothing is written before the checks pass")
        try invprop(["curate", "--checkpoint", checkpoint, "--folder", folder, "--output", output, "--regions", "2", "--skip-bad-images"])
        #expect(try Self.rows(output + "/images.csv").count == 22)
        let skipped = try String(contentsOfFile: output + "/" + FolderCuration.skippedListName, encoding: .utf8)
        #expect(skipped.split(separator: "\n").count == 2 && skipped.contains(folder + "/huge.png\t"))
    }
}
