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

}
