import Codecs
import Foundation
import InvpropCLI
import Testing
import Training

/// `invprop train --dataset folder` on a folder as a user has one: colour images of mixed sizes,
/// fewer than a batch and than the background M, and one file that is not an image.
@Suite("invprop train on an image folder", .serialized)
struct FolderTrainingTests {
    /// 40 colour PNGs of 20–35 pixels a side, plus `broken.png` (random bytes) when `broken`.
    static func makeFolder(broken: Bool) throws -> String {
        let folder = NSTemporaryDirectory() + "invprop-folder-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for n in 0..<40 {
            let (height, width) = (20 + n % 11, 22 + (n * 7) % 14)
            let pixels = (0..<(height * width * 3)).map { UInt8(truncatingIfNeeded: $0 &* (n + 3) &+ n * 17) }
            let png = try PNGCodec.encode(DecodedImage(height: height, width: width, channels: 3, pixels: pixels))
            try Data(png).write(to: URL(fileURLWithPath: folder + String(format: "/photo-%02d.png", n)))
        }
        if broken { try Data((0..<200).map { UInt8(truncatingIfNeeded: $0 &* 131) }).write(to: URL(fileURLWithPath: folder + "/broken.png")) }
        return folder
    }

    static func config(_ run: String) throws -> TrainingConfig {
        try JSONDecoder().decode(TrainingConfig.self, from: Data(contentsOf: URL(fileURLWithPath: run + "/config.json")))
    }

    @Test("a bad file stops the run before it starts; --skip-bad-images trains without it and lists it")
    func badFilesAreRefusedOrSkipped() throws {
        let folder = try Self.makeFolder(broken: true)
        let run = NSTemporaryDirectory() + "invprop-folder-run-\(UUID().uuidString)"
        let arguments = ["train", "--dataset", "folder", "--data-dir", folder, "--epochs", "1", "--width", "0.125", "--output", run]
        #expect(throws: (any Error).self) { try invprop(arguments) }
        for file in ["checkpoint-last.safetensors", "config.json"] { #expect(!FileManager.default.fileExists(atPath: run + "/" + file)) }
        try invprop(arguments + ["--skip-bad-images"])
        let skipped = try String(contentsOfFile: run + "/skipped-images-train.txt", encoding: .utf8)
        #expect(skipped.hasPrefix(folder + "/broken.png\t") && skipped.split(separator: "\n").count == 1)
        // Chosen from the images: colour, the median shorter side (22 px), a folder augmentation;
        // M and the batch capped to the 40 images.
        let c = try Self.config(run)
        #expect(c.model.inputChannels == 3 && c.augmentation == "folder-invp-rgb-22" && c.evalTransform == "folder-eval-rgb-22")
        #expect(c.invp.backgroundCount == 20 && c.batchSize == 32)
        #expect(FileManager.default.fileExists(atPath: run + "/checkpoint-last.safetensors"))
    }

    @Test("--image-size and explicit options win over the folder's choices; --image-size elsewhere is refused")
    func optionsOverrideTheChoices() throws {
        let folder = try Self.makeFolder(broken: false)
        let run = NSTemporaryDirectory() + "invprop-folder-run-\(UUID().uuidString)"
        try invprop(["train", "--dataset", "folder", "--data-dir", folder, "--epochs", "1", "--width", "0.125", "--image-size", "16",
                     "--in-channels", "1", "--batch-size", "8", "--output", run])
        let c = try Self.config(run)
        #expect(c.model.inputChannels == 1 && c.augmentation == "folder-invp-grey-16" && c.batchSize == 8)
        #expect(validationMessage(["train", "--image-size", "32"])?.contains("--image-size") == true)
        #expect(validationMessage(["train", "--dataset", "folder", "--data-dir", folder, "--image-size", "4"])?.contains("--image-size") == true)
    }

    @Test("invprop datasets check lists the bad files and fails; a clean folder passes")
    func datasetsCheck() throws {
        #expect(throws: (any Error).self) { try invprop(["datasets", "check", "--data-dir", try Self.makeFolder(broken: true)]) }
        try invprop(["datasets", "check", "--data-dir", try Self.makeFolder(broken: false), "--decode"])
    }
}
