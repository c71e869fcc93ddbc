import Data
import Evaluation
import Foundation
import Methods
import RunFormat
import SafeTensors
import Testing
@testable import Training

/// DARLING end to end on a tiny multi-domain folder the test writes: training on the source
/// domains with the domain head, `invprop eval udg` on the run, a bit-identical resume, and the
/// refusals before training.
@Suite("DARLING trains on multi-domain data", .serialized)
struct DARLINGTrainingTests {
    static let arguments = ["--method", "darling", "--target-domain", "sketch", "--epochs", "2", "--batch-size", "8",
                            "--width", "0.125", "--image-size", "16", "--threads", "1", "--health-sample", "0", "--knn-every", "0",
                            "--checkpoint-every", "2"]

    /// The checkpoint without its metadata (which holds wall-clock seconds).
    static func finalState(_ run: String) throws -> TensorArchive {
        var a = try TensorArchive(contentsOf: run + "/checkpoint-last.safetensors")
        a.metadata = [:]
        return a
    }

    @Test("trains with its domain head on the sources, logs its terms and diagnostics, and eval udg scores the target")
    func trainsAndEvaluates() throws {
        let data = try DomainCollections.generic()
        let run = try DomainCollections.folder("darling-run")
        try invprop(["train", "--dataset", "domains", "--data-dir", data, "--output", run] + Self.arguments)
        let state = try Self.finalState(run)
        let head = try #require(state["method_module.domain_head.weight"])
        #expect(head.shape[0] == 2, "one logit per source domain (clipart, photo)")
        #expect(state[CheckpointKey.bank]?.shape[0] == 29)
        let records = try readMetrics(URL(fileURLWithPath: run))
        #expect(records.count == 2)
        let last = try #require(records.last)
        #expect(Set(last.lossTerms.keys) == ["darling", "domain"] && last.lossTerms.values.allSatisfy(\.isFinite))
        #expect(last.diagnostics["domain_accuracy"] != nil && last.diagnostics["domain_entropy"] != nil)

        try invprop(["eval", "udg", run, "--fractions", "100", "--epochs", "3"])
        let result = try EvaluationReport.read(UDGResult.self, from: run + "/eval-udg.json")
        #expect(result.targetDomain == "sketch" && result.testCount == 16 && result.fractions.map(\.percent) == [100])
        #expect((0...100).contains(result.top1))
    }

    @Test("a run interrupted inside an epoch and resumed ends bit-identical to an uninterrupted one")
    func resumeIsBitIdentical() throws {
        let data = try DomainCollections.generic()
        let reference = try DomainCollections.folder("darling-reference")
        try invprop(["train", "--dataset", "domains", "--data-dir", data, "--output", reference] + Self.arguments)
        let config = try FolderTrainingTests.config(reference)
        let run = URL(fileURLWithPath: try DomainCollections.folder("darling-resumed"))
        var steps = 0
        _ = try Trainer(config: config, runDirectory: run, resume: false).run { steps += 1; return steps == 4 ? .abandon : .none }
        #expect(try Trainer(config: config, runDirectory: run, resume: true).run().finished)
        let expected = try Self.finalState(reference), actual = try Self.finalState(run.path)
        #expect(actual.names == expected.names)
        for name in expected.names { #expect(actual[name] == expected[name], "\(name) differs after resuming") }
    }

    @Test("two ranks as threads share each batch and end with the same network, bank and domain head")
    func twoRanksAgree() throws {
        var c = TrainingConfig()
        c.dataset = "domains"; c.dataDir = try DomainCollections.generic(); c.method = "darling"
        c.domains = DomainSelection(sourceDomains: ["clipart", "photo"], targetDomain: "sketch")
        c.augmentation = "folder-invp-rgb-16"; c.evalTransform = "folder-eval-rgb-16"
        c.model.inputChannels = 3; c.model.width = 0.125
        c.epochs = 1; c.batchSize = 8; c.precision = "fp32"; c.healthSample = 0; c.knnEvery = 0; c.workers = 1
        let directory = temporaryRunDirectory("darling-parallel")
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = c
        let hashes = try onRanks(2) { _, communicator -> [UInt64] in
            let trainer = try Trainer(config: config, runDirectory: directory, resume: false, communicator: communicator)
            _ = try trainer.run()
            return [StateChecksum.model(trainer.model), StateChecksum.method(trainer.method)]
        }
        #expect(hashes[0] == hashes[1])
    }

    @Test("darling without domain labels, and options out of range, are refused before training")
    func refusals() throws {
        var c = shapesConfig(images: 128, epochs: 1)
        c.method = "darling"
        let run = temporaryRunDirectory("darling-no-domains")
        #expect { _ = try Trainer(config: c, runDirectory: run, resume: false) } throws: { "\($0)".contains("needs domain labels") }
        #expect(!FileManager.default.fileExists(atPath: run.path + "/checkpoint-last.safetensors"))
        let data = try DomainCollections.generic()
        let base = ["train", "--dataset", "domains", "--data-dir", data, "--target-domain", "sketch"]
        #expect(validationMessage(base + ["--method", "darling", "--domain-weight", "-1"])?.contains("--domain-weight") == true)
        #expect(validationMessage(base + ["--method", "npid", "--domain-weight", "2"])?.contains("darling") == true)
        // One source domain: nothing to weigh.
        var one = TrainingConfig()
        one.dataset = "domains"; one.dataDir = data; one.model.inputChannels = 3; one.method = "darling"
        one.augmentation = "folder-invp-rgb-16"
        one.domains = DomainSelection(sourceDomains: ["photo"], targetDomain: "sketch")
        #expect { _ = try Trainer(config: one, runDirectory: temporaryRunDirectory("darling-one"), resume: false) }
            throws: { "\($0)".contains("2 domains or more") }
    }
}
