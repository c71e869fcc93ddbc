import ArgumentParser
import Data
import Evaluation
import Foundation
import RunFormat
import SafeTensors
import Testing
@testable import InvpropCLI
@testable import Training

/// Bad input to `invprop train`, `export` and `bench` (found by an audit): each is refused with
/// a message naming the option or file, before long work starts, and nothing of an earlier run
/// is lost. Before the fixes these trained on silently, hung, crashed or replaced files.
@Suite(.serialized) struct BadInputTests {
    // MARK: - Options refused by validate(), naming the option

    @Test(arguments: [
        // Non-finite numbers used to reach the JSON encoder ("EncodingError.invalidValue: nan").
        (["train", "--temperature", "nan"], "--temperature"),
        (["train", "--temperature", "inf"], "--temperature"),
        (["train", "--lambda", "nan"], "--lambda"),
        (["train", "--bank-momentum", "nan"], "--bank-momentum"),
        (["train", "--method", "npid", "--bank-momentum", "nan"], "--bank-momentum"),
        (["train", "--weight-decay", "inf"], "--weight-decay"),
        (["train", "--knn-temperature", "inf"], "--knn-temperature"),
        (["train", "--schedule", "multistep", "--gamma", "nan"], "--gamma"),
        (["train", "--gamma=-1"], "--gamma"),
        (["train", "--neighbours", "0"], "--neighbours"),
        // Overflowed into "-1.0 total epochs".
        (["train", "--epochs", "9223372036854775807"], "--epochs"),
        // Hung after the epoch: threads past the system's limit never started.
        (["train", "--workers", "40000"], "--workers"),
        (["bench", "data", "--workers", "40000"], "--workers"),
        // Crashed allocating: sizes with lower bounds only.
        (["train", "--dataset", "shapes", "--train-subset", "1000000000000"], "--train-subset"),
        (["export", "run", "--format", "onnx", "--check-samples", "100000000"], "--check-samples"),
        (["export", "run", "--format", "onnx", "--check-size", "100000"], "--check-size"),
        (["export", "run", "--format", "onnx", "--check-samples", "64", "--check-size", "512"], "--check-samples"),
        (["bench", "step", "--image-size", "100000"], "--image-size"),
        (["bench", "step", "--batch-size", "100000"], "--batch-size"),
        (["bench", "loss", "--bank-size", "1000000000000"], "--bank-size"),
        (["bench", "loss", "--dimension", "1000000000"], "--dimension"),
        (["bench", "loss", "--bank-size", "10000000", "--dimension", "1024"], "--bank-size"),
    ])
    func outOfRangeOptionsAreNamed(arguments: [String], mentions: String) {
        do {
            _ = try InvpropCommand.parseAsRoot(arguments)   // validate() runs here, before any work
            Issue.record("\(arguments) was accepted")
        } catch {
            let message = InvpropCommand.message(for: error)
            #expect(message.contains(mentions), "\(arguments): \(message)")
            #expect(!message.contains("EncodingError"), "\(arguments): \(message)")
        }
    }

    /// The limits themselves: the largest accepted value passes, the next is refused.
    @Test func limitsAcceptTheirEdge() throws {
        var config = shapesConfig()
        config.workers = DataLoader.maximumWorkers
        config.epochs = TrainingConfig.maximumEpochs
        config.trainSubset = TrainingConfig.maximumShapesImages
        try config.validate()
        config.workers += 1
        #expect(throws: TrainingError.self) { try config.validate() }
        config.workers = 1
        config.epochs += 1
        #expect(throws: TrainingError.self) { try config.validate() }
        config.epochs = 1
        config.trainSubset! += 1
        #expect(throws: TrainingError.self) { try config.validate() }
        config.dataset = "cifar10"   // a real dataset caps --train-subset at its size itself
        config.augmentation = "cifar-invp"
        try config.validate()
    }

    // MARK: - Item 1: a damaged test split is an error, an absent one is not

    /// A Fashion-MNIST folder of `count` training images (IDX files, 28×28, labels 0…9).
    static func idxFolder(count: Int) throws -> URL {
        let folder = temporaryRunDirectory("idx")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data(idxImages(count: count)).write(to: folder.appendingPathComponent("train-images-idx3-ubyte"))
        try Data(idxLabels(count: count)).write(to: folder.appendingPathComponent("train-labels-idx1-ubyte"))
        return folder
    }

    static func be32(_ v: Int) -> [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: v >> $0) } }
    static func idxImages(count: Int) -> [UInt8] {
        [0, 0, 8, 3] + be32(count) + be32(28) + be32(28) + (0..<count * 784).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 24) }
    }
    static func idxLabels(count: Int) -> [UInt8] { [0, 0, 8, 1] + be32(count) + (0..<count).map { UInt8($0 % 10) } }

    /// A quick Fashion-MNIST run on the folder: one epoch of two steps, monitor and health off.
    static func idxConfig(_ folder: URL) -> TrainingConfig {
        var c = TrainingConfig()
        c.dataDir = folder.path
        c.trainSubset = 64
        c.batchSize = 32
        c.epochs = 1
        c.validation = nil
        c.model.width = 0.125
        c.invp.backgroundCount = 32
        c.bankInitialization = nil
        c.knnEvery = 0
        c.healthSample = 0
        c.threads = 2
        return c
    }

    @Test func damagedTestSplitIsNamedBeforeTraining() throws {
        let folder = try Self.idxFolder(count: 64)
        let run = temporaryRunDirectory("damaged-test")
        defer { for url in [folder, run] { try? FileManager.default.removeItem(at: url) } }
        // No test split at all: training goes on without one, and evaluation opens the run.
        #expect(try DatasetCatalog.openIfPresent(name: "fashion-mnist", root: folder.path, split: .test, channels: 1) == nil)
        _ = try Trainer(config: Self.idxConfig(folder), runDirectory: run, resume: false).run()
        _ = try EvaluationSession(checkpoint: run.path)
        // A test split whose image file is cut short: named by every path that opens it.
        let images = folder.appendingPathComponent("t10k-images-idx3-ubyte")
        try Data(Self.idxImages(count: 16).prefix(1000)).write(to: images)
        try Data(Self.idxLabels(count: 16)).write(to: folder.appendingPathComponent("t10k-labels-idx1-ubyte"))
        let opened = #expect(throws: DataError.self) {
            try DatasetCatalog.openIfPresent(name: "fashion-mnist", root: folder.path, split: .test, channels: 1)
        }
        #expect(opened?.description.contains(images.path) == true, "\(String(describing: opened))")
        let another = temporaryRunDirectory("damaged-test-2")
        defer { try? FileManager.default.removeItem(at: another) }
        do {
            _ = try Trainer(config: Self.idxConfig(folder), runDirectory: another, resume: false)
            Issue.record("training started with a damaged test split")
        } catch {
            #expect("\(error)".contains(images.path), "\(error)")
        }
        #expect(!FileManager.default.fileExists(atPath: another.path), "the failed setup left its run directory behind")
        do {
            _ = try EvaluationSession(checkpoint: run.path)   // eval knn used to find out only after the features
            Issue.record("evaluation opened a damaged test split")
        } catch {
            #expect("\(error)".contains(images.path), "\(error)")
        }
    }

}
