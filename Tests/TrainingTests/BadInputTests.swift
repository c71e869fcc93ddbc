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

    // MARK: - Items 2 and 3: a checkpoint's configuration and progress are checked on resume

    /// A saved configuration asking for a million loader threads is refused, naming the file.
    @Test func savedConfigurationIsValidatedOnResume() throws {
        let folder = try HostileCheckpointTests.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var config = shapesConfig()
        config.workers = 1_000_000
        let path = try HostileCheckpointTests.checkpoint(config, in: folder)
        let error = #expect(throws: TrainingError.self) {
            try Trainer(config: shapesConfig(), runDirectory: URL(fileURLWithPath: folder), resume: true)
        }
        #expect(error?.description.contains(path) == true && error?.description.contains("--workers") == true, "\(String(describing: error))")
    }

    /// Progress records that no run of the configuration can hold are refused by `header`.
    @Test func impossibleProgressIsRefusedByTheHeader() throws {
        let folder = try HostileCheckpointTests.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let config = shapesConfig(epochs: 3)
        func progress(_ change: (inout TrainingProgress) -> Void) -> TrainingProgress {
            var p = TrainingProgress()
            p.epoch = 1; p.stepInEpoch = 2; p.globalStep = 6; p.bestEpoch = 1; p.bestKNNTop1 = 50
            change(&p)
            return p
        }
        let cases: [(String, TrainingProgress, String)] = [
            ("negative step", progress { $0.stepInEpoch = -1 }, "step in epoch -1"),     // trapped the progress bar
            ("negative epoch", progress { $0.epoch = -1 }, "epoch -1"),                  // emptied metrics.jsonl
            ("epoch past the run", progress { $0.epoch = .max }, "outside 0…3"),         // "finished" untrained
            ("step in a finished run", progress { $0.epoch = 3; $0.stepInEpoch = 1 }, "inside epoch 4"),
            ("global step behind", progress { $0.globalStep = 1 }, "global step 1"),
            ("best epoch ahead", progress { $0.bestEpoch = 2 }, "best epoch 2"),
            ("negative seconds", progress { $0.wallSeconds = -5 }, "wall seconds"),
            ("budget step ahead", progress { $0.budgetEndedAtStep = 7 }, "budget ended at step 7"),
        ]
        for (label, record, naming) in cases {
            let (archive, path) = try HostileCheckpointTests.header(
                format: Checkpoint.format, config: try config.json(),
                progress: String(decoding: try JSONEncoder().encode(record), as: UTF8.self), in: folder)
            do {
                _ = try Checkpoint.header(archive, path: path)
                Issue.record("\(label): accepted")
            } catch TrainingError.corrupt(let file, let reason) {
                #expect(file == path && reason.contains(naming), "\(label): \(reason)")
            }
        }
        let good = progress { _ in }
        #expect(throws: Never.self) { try good.validate(for: config, path: "x") }
        // With the data open: at most one epoch's steps, the global step at most what they add up to.
        #expect(throws: Never.self) { try good.validate(stepsPerEpoch: 4, path: "x") }
        #expect(throws: Never.self) { try progress { $0.stepInEpoch = 4; $0.globalStep = 8 }.validate(stepsPerEpoch: 4, path: "x") }
        #expect(throws: TrainingError.self) { try progress { $0.stepInEpoch = 5; $0.globalStep = 9 }.validate(stepsPerEpoch: 4, path: "x") }
        #expect(throws: TrainingError.self) { try progress { $0.globalStep = 7 }.validate(stepsPerEpoch: 4, path: "x") }
    }

    /// On a real run, a resume refuses a step beyond the epoch (it used to skip the epoch) or a
    /// negative epoch (it used to empty metrics.jsonl first), and the run's files stay as they were.
    @Test func resumeRefusesProgressOutsideTheRunAndKeepsMetrics() throws {
        var config = shapesConfig(images: 256, epochs: 2)   // 4 steps an epoch
        config.knnEvery = 0
        config.healthSample = 0
        let run = temporaryRunDirectory("progress")
        defer { try? FileManager.default.removeItem(at: run) }
        var steps = 0
        _ = try Trainer(config: config, runDirectory: run, resume: false).run { steps += 1; return steps == 6 ? .saveAndStop : .none }
        let last = run.appendingPathComponent(RunFileName.lastCheckpoint)
        let metrics = run.appendingPathComponent(RunFileName.metrics)
        let (savedMetrics, savedCheckpoint) = (try Data(contentsOf: metrics), try Data(contentsOf: last))
        for (label, change) in [("step beyond the epoch", { (p: inout TrainingProgress) in p.stepInEpoch = 1_000_000_000 }),
                                ("negative epoch", { (p: inout TrainingProgress) in p.epoch = -1 }),
                                ("global step beyond", { (p: inout TrainingProgress) in p.globalStep = 99 })] {
            var archive = try TensorArchive(decoding: [UInt8](savedCheckpoint), source: last.path)
            var progress = try JSONDecoder().decode(TrainingProgress.self, from: Data(archive.metadata["progress"]!.utf8))
            #expect(progress.epoch == 1 && progress.stepInEpoch == 2)
            change(&progress)
            archive.metadata["progress"] = String(decoding: try JSONEncoder().encode(progress), as: UTF8.self)
            try archive.write(to: last.path)
            do {
                _ = try Trainer(config: config, runDirectory: run, resume: true)
                Issue.record("\(label): resumed")
            } catch {
                #expect("\(error)".contains(last.path) && "\(error)".contains("progress record"), "\(label): \(error)")
            }
            #expect(try Data(contentsOf: metrics) == savedMetrics, "\(label): metrics.jsonl changed")
        }
        try savedCheckpoint.write(to: last)
        #expect(try Trainer(config: config, runDirectory: run, resume: true).run().finished)
        #expect(try readMetrics(run).map(\.epoch) == [1, 2])
    }

    // MARK: - Items 5 and 6: the run directory

    /// Without checkpoint-last a directory holding another run's files is refused, with or
    /// without --resume, and its files are kept; config.json alone (a setup that stopped) is no run.
    @Test func anotherRunsFilesAreNeverReplaced() throws {
        var config = shapesConfig(images: 256, epochs: 1)
        config.healthSample = 0
        let run = temporaryRunDirectory("other-run")
        defer { try? FileManager.default.removeItem(at: run) }
        _ = try Trainer(config: config, runDirectory: run, resume: false).run()
        try FileManager.default.removeItem(at: run.appendingPathComponent(RunFileName.lastCheckpoint))
        try Data("{}".utf8).write(to: run.appendingPathComponent("eval-knn.json"))
        let kept = try [RunFileName.bestCheckpoint, RunFileName.metrics, "eval-knn.json"].map {
            ($0, try Data(contentsOf: run.appendingPathComponent($0)))
        }
        for resume in [false, true] {
            let error = #expect(throws: TrainingError.self) { try Trainer(config: config, runDirectory: run, resume: resume) }
            let message = error?.description ?? ""
            // With --resume the metrics lines alone would not stop it (below), so they need not be named.
            for name in kept.map(\.0) where !(resume && name == RunFileName.metrics) {
                #expect(message.contains(name), "resume \(resume): \(message)")
            }
            #expect(message.contains("--output"), "\(message)")
        }
        for (name, data) in kept { #expect(try Data(contentsOf: run.appendingPathComponent(name)) == data, "\(name) changed") }
        let fresh = temporaryRunDirectory("config-only")
        defer { try? FileManager.default.removeItem(at: fresh) }
        try FileManager.default.createDirectory(at: fresh, withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: fresh.appendingPathComponent(RunFileName.config))
        #expect(throws: Never.self) { try Trainer(config: config, runDirectory: fresh, resume: false) }
        // Metrics lines alone are what a run killed before its first checkpoint leaves: --resume
        // starts it over, a new run without --resume is refused.
        try Data(#"{"epoch": 1}"#.utf8).write(to: fresh.appendingPathComponent(RunFileName.metrics))
        #expect(throws: TrainingError.self) { try Trainer(config: config, runDirectory: fresh, resume: false) }
        #expect(throws: Never.self) { try Trainer(config: config, runDirectory: fresh, resume: true) }
        #expect(!FileManager.default.fileExists(atPath: fresh.appendingPathComponent(RunFileName.metrics).path),
                "the lines of epochs no checkpoint holds are dropped")
    }

    /// An --output that cannot be a directory is named before any data is read (the dataset
    /// here does not exist, so a data error would mean the order is wrong).
    @Test func unusableOutputIsNamedBeforeTheData() throws {
        var config = shapesConfig()
        config.dataset = "fashion-mnist"
        config.dataDir = "/nonexistent/invprop-data"
        let file = temporaryRunDirectory("a-file")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data([1]).write(to: file)
        for (output, naming) in [(file, "is a file"), (file.appendingPathComponent("run"), "Not a directory")] {
            let error = #expect(throws: TrainingError.self) { try Trainer(config: config, runDirectory: output, resume: false) }
            let message = error?.description ?? ""
            #expect(message.contains("--output \(output.path)") && message.contains(naming), "\(message)")
        }
        // A directory created for a run whose setup then fails is removed again.
        let run = temporaryRunDirectory("no-data")
        #expect(throws: (any Error).self) { try Trainer(config: config, runDirectory: run, resume: false) }
        #expect(!FileManager.default.fileExists(atPath: run.path))
    }

    /// Foundation's file errors read as one line naming the path and the system's reason.
    @Test func fileErrorsReadAsOneLine() {
        let missing = "/nonexistent/invprop-\(UUID().uuidString)/file"
        do {
            try Data([1]).write(to: URL(fileURLWithPath: missing))
            Issue.record("wrote into a missing directory")
        } catch {
            #expect(readableFileError(error) == "\(missing): No such file or directory", "\(error)")
        }
        #expect(readableFileError(TrainingError.invalidOption("x")) == nil)
    }

    /// The progress bar draws positions outside 0…steps (which the trainer no longer reports)
    /// without trapping on a negative repeat count.
    @Test func progressBarClampsItsPosition() {
        let printer = ProgressPrinter()
        for step in [-5, 0, 9, Int.max] {
            printer.step(StepReport(epoch: 1, epochs: 1, step: step, steps: 4, loss: 1, terms: [], learningRate: 0.1,
                                    imagesPerSecond: 1, etaSeconds: 0))
        }
        printer.finishLine()
    }
}
