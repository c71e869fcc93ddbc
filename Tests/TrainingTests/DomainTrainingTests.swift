import Codecs
import Data
import Evaluation
import Foundation
import Report
import RunFormat
import SafeTensors
import Testing
import Training

/// Small multi-domain collections for the command-line tests: a generic folder and a
/// PACS-shaped folder with DomCLP-format split lists, 12×12 images.
enum DomainCollections {
    /// A fresh temporary folder.
    static func folder(_ prefix: String) throws -> String {
        let path = NSTemporaryDirectory() + "invprop-\(prefix)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A 12×12 colour image whose colour depends on the class (so a probe can learn something) and the domain.
    static func writeImage(_ path: String, domain: Int, label: Int, k: Int, jpeg: Bool) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let pixels = (0..<(12 * 12 * 3)).map { i in UInt8(truncatingIfNeeded: (i % 3 == label % 3 ? 200 : 40) &+ domain &* 9 &+ k &* 3 &+ i % 7) }
        let image = try DecodedImage(height: 12, width: 12, channels: 3, pixels: pixels)
        try Data(jpeg ? try JPEGCodec.encode(image, quality: 95) : try PNGCodec.encode(image)).write(to: URL(fileURLWithPath: path))
    }

    /// `root/<domain>/<class>/` with three domains, two classes, eight PNGs a class.
    static func generic() throws -> String {
        let root = try folder("domains")
        for (d, domain) in ["clipart", "photo", "sketch"].enumerated() {
            for (c, name) in ["cat", "dog"].enumerated() {
                for k in 0..<8 { try writeImage("\(root)/\(domain)/\(name)/img\(k).png", domain: d, label: c, k: k, jpeg: false) }
            }
        }
        return root
    }

    /// PACS's 4 domains × 7 classes, three JPEGs a class: two in the train lists, one in the test
    /// list; the 1/5/10 % lists keep the first, 100 % both.
    static func pacs() throws -> String {
        let root = try folder("pacs")
        for (d, domain) in PACSCollection.domains.enumerated() {
            var lists: [String: [String]] = [:]
            for (c, name) in PACSCollection.classes.enumerated() {
                for k in 0..<3 {
                    try writeImage("\(root)/\(domain)/\(name)/pic_\(k).jpg", domain: d, label: c, k: k, jpeg: true)
                    let line = "\(domain)/\(name)/pic_\(k).jpg \(c)"
                    lists[k == 2 ? "test" : "train", default: []].append(line)
                    if k < 2 { lists["train_100p", default: []].append(line) }
                    if k == 0 { for p in [1, 5, 10] { lists["train_\(p)p", default: []].append(line) } }
                }
            }
            for (kind, lines) in lists {
                try (lines.joined(separator: "\n") + "\n").write(toFile: "\(root)/\(domain)_\(kind)_0.txt", atomically: true, encoding: .utf8)
            }
        }
        return root
    }
}

@Suite("invprop train and eval udg on multi-domain data", .serialized)
struct DomainTrainingTests {
    static let tiny = ["--epochs", "1", "--width", "0.125", "--image-size", "16", "--threads", "1", "--health-sample", "0"]

    @Test("a generic folder: trains on the sources only, eval udg probes each fraction on the target, udg-table and the report read it")
    func genericEndToEnd() throws {
        let data = try DomainCollections.generic()
        let run = try DomainCollections.folder("domains-run")
        try invprop(["train", "--dataset", "domains", "--data-dir", data, "--target-domain", "sketch", "--output", run] + Self.tiny)
        let c = try FolderTrainingTests.config(run)
        #expect(c.domains == DomainSelection(sourceDomains: ["clipart", "photo"], targetDomain: "sketch"))
        #expect(c.augmentation == "folder-invp-rgb-16" && c.model.inputChannels == 3)
        let bank = try #require(try TensorArchive(contentsOf: run + "/checkpoint-last.safetensors")[CheckpointKey.bank])
        #expect(bank.shape[0] == 29)   // the 32 source images less 10 % for validation, never the target's 16
        #expect(c.validation == .percent(10))

        try invprop(["eval", "udg", run, "--fractions", "10,100", "--epochs", "5"])
        let result = try EvaluationReport.read(UDGResult.self, from: run + "/eval-udg.json")
        #expect(result.targetDomain == "sketch" && result.testCount == 16 && result.fractions.map(\.percent) == [10, 100])
        #expect(result.fractions.map(\.trainCount) == [4, 32] && result.fractions[0].trainCountPerDomain == ["clipart": 2, "photo": 2])
        #expect(result.top1 == result.fractions[1].accuracy.top1 && result.scoredOn == .target)
        // Scored on the source images training held out (3 of 32), which every fraction then leaves out.
        try invprop(["eval", "udg", run, "--fractions", "100", "--epochs", "5", "--score-on", "source-validation"])
        let held = try EvaluationReport.read(UDGResult.self, from: run + "/eval-udg-sourceval.json")
        #expect(held.protocolName == "udg-linear-source-validation" && held.scoredOn == .sourceValidation)
        #expect(held.testCount == 3 && held.fractions.map(\.trainCount) == [29] && held.targetDomain == "sketch")
        try invprop(["eval", "udg-table", run, run + "/eval-udg.json"])
        let report = try RunReport.load(runDirectory: URL(fileURLWithPath: run))
        #expect(report.evaluations.contains { $0.fileName == "eval-udg.json" && $0.metrics.contains { $0.name == "top1" } })
        // Fine-tuning: eval semisup's recipe on each fraction's images, scored on the target.
        try invprop(["eval", "udg", run, "--fine-tune", "--fractions", "50", "--epochs", "1", "--batch-size", "8"])
        let tuned = try EvaluationReport.read(UDGResult.self, from: run + "/eval-udg-finetune.json")
        #expect(tuned.protocolName == "udg-finetune" && tuned.probe == nil && tuned.fineTuning?.epochs == 1)
        #expect(tuned.fractions.map(\.trainCount) == [16] && tuned.testCount == 16)
        #expect(tuned.fractions[0].finalLoss.map { $0.isFinite && $0 > 0 } == true)
        // Fine-tuning settings are chosen on the held-out source images, as the probe's are.
        try invprop(["eval", "udg", run, "--fine-tune", "--fractions", "100", "--epochs", "1", "--batch-size", "8",
                     "--classifier-lr-scale", "10", "--score-on", "source-validation"])
        let tunedHeld = try EvaluationReport.read(UDGResult.self, from: run + "/eval-udg-finetune-sourceval.json")
        #expect(tunedHeld.protocolName == "udg-finetune-source-validation" && tunedHeld.scoredOn == .sourceValidation)
        #expect(tunedHeld.testCount == 3 && tunedHeld.fractions.map(\.trainCount) == [29] && tunedHeld.fineTuning?.classifierScale == 10)
        #expect(validationMessage(["eval", "udg", run, "--classifier-lr-scale", "10"])?.contains("--classifier-lr-scale") == true)
        #expect(validationMessage(["eval", "udg", run, "--fine-tune", "--classifier-lr-scale", "0"])?.contains("--classifier-lr-scale") == true)
        #expect(validationMessage(["eval", "udg", run, "--fine-tune", "--standardize"])?.contains("--standardize") == true)
        // eval semisup on such a run draws from the sources' training images and tests on the target.
        try invprop(["eval", "semisup", run, "--labels", "50%", "--epochs", "1", "--batch-size", "8"])
    }

    @Test("PACS: --source-domains trains on those domains' train lists; eval udg reads the published fraction lists")
    func pacsEndToEnd() throws {
        let data = try DomainCollections.pacs()
        let run = try DomainCollections.folder("pacs-run")
        try invprop(["train", "--dataset", "pacs", "--data-dir", data, "--source-domains", "art_painting,cartoon,photo",
                     "--target-domain", "sketch", "--output", run] + Self.tiny)
        let bank = try #require(try TensorArchive(contentsOf: run + "/checkpoint-last.safetensors")[CheckpointKey.bank])
        #expect(bank.shape[0] == 3 * 7 * 2 - 4)
        try invprop(["eval", "udg", run, "--epochs", "3"])
        let result = try EvaluationReport.read(UDGResult.self, from: run + "/eval-udg.json")
        #expect(result.fractions.map(\.percent) == [1, 5, 10, 100] && result.fractions.map(\.trainCount) == [21, 21, 21, 42])
        #expect(result.testCount == 21 && result.sourceDomains == ["art_painting", "cartoon", "photo"])
    }

    @Test("bad selections are refused before training, naming the known domains")
    func badSelections() throws {
        let data = try DomainCollections.generic()
        let base = ["train", "--dataset", "domains", "--data-dir", data]
        let unknown = validationMessage(base + ["--target-domain", "paintings"])
        #expect(unknown?.contains("paintings") == true && unknown?.contains("clipart, photo, sketch") == true)
        #expect(validationMessage(base + ["--source-domains", "photo,sketch", "--target-domain", "sketch"])?.contains("also a source") == true)
        #expect(validationMessage(base)?.contains("--target-domain") == true)
        #expect(validationMessage(["train", "--dataset", "shapes", "--target-domain", "sketch"])?.contains("multi-domain") == true
                || validationMessage(["train", "--dataset", "shapes", "--target-domain", "sketch"])?.contains("pacs or domains") == true)
        #expect(validationMessage(base + ["--source-domains", "photo,,clipart", "--target-domain", "sketch"])?.contains("comma-separated") == true)
    }

    @Test("a split list naming a missing file and differing class folders stop the run before it starts")
    func badDataStopsTheRun() throws {
        let pacs = try DomainCollections.pacs()
        try FileManager.default.removeItem(atPath: pacs + "/cartoon/horse/pic_1.jpg")
        var c = TrainingConfig()
        c.dataset = "pacs"; c.dataDir = pacs; c.model.inputChannels = 3
        c.domains = DomainSelection(sourceDomains: ["art_painting", "cartoon", "photo"], targetDomain: "sketch")
        let run = URL(fileURLWithPath: try DomainCollections.folder("pacs-bad-run"))
        #expect { _ = try Trainer(config: c, runDirectory: run, resume: false) } throws: { error in
            "\(error)".contains("cartoon_train_0.txt") && "\(error)".contains("cartoon/horse/pic_1.jpg")
        }
        let generic = try DomainCollections.generic()
        try DomainCollections.writeImage(generic + "/photo/bird/img0.png", domain: 1, label: 0, k: 0, jpeg: false)
        let message = validationMessage(["train", "--dataset", "domains", "--data-dir", generic, "--target-domain", "sketch"])
        #expect(message?.contains("class folders differ") == true && message?.contains("bird") == true)
        #expect(!FileManager.default.fileExists(atPath: run.path + "/checkpoint-last.safetensors"))
    }

    @Test("invprop datasets check --dataset pacs checks every listed image and fails on a broken one")
    func datasetsCheck() throws {
        let data = try DomainCollections.pacs()
        try invprop(["datasets", "check", "--dataset", "pacs", "--data-dir", data, "--decode"])
        try Data([0x89, 0x50, 0x4E, 0x47, 1, 2, 3]).write(to: URL(fileURLWithPath: data + "/sketch/dog/pic_2.jpg"))
        #expect(throws: (any Error).self) { try invprop(["datasets", "check", "--dataset", "pacs", "--data-dir", data]) }
        try invprop(["datasets", "check", "--dataset", "domains", "--data-dir", try DomainCollections.generic()])
    }

    @Test("eval udg on a run without domains says what it needs")
    func udgNeedsDomains() throws {
        let session = try EvaluationSession(checkpoint: TinyRun.lastCheckpoint())
        #expect { _ = try UDGProtocol(fractions: [100]).run(session) } throws: { "\($0)".contains("--target-domain") }
    }
}
