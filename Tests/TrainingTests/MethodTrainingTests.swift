import Foundation
import Data
import Methods
import RunFormat
import SafeTensors
import Testing
@testable import Training

/// The clustering methods on the method interface, trained end to end on synthetic shapes:
/// their layers reach the checkpoint, a resumed run is bit-identical, and the options and
/// combinations that cannot work are refused before training.
@Suite(.serialized) struct MethodTrainingTests {
    /// A tiny run of `method`; "coke-encoder-norm" is CoKe with `--coke-encoder-norm`.
    func config(_ method: String) -> TrainingConfig {
        var c = shapesConfig(images: 384, epochs: 2)
        c.method = method == "coke-encoder-norm" ? "coke" : method
        c.knnEvery = 0
        c.checkpointEverySteps = 2
        var odc = ODCConfig()
        odc.clusters = 8
        odc.minimumClusterSize = 4
        odc.centroidInterval = 3
        var options = MethodOptions()
        options.odc = odc
        var coke = CoKeConfig()
        coke.clusters = [6, 10]
        coke.encoderNorm = method == "coke-encoder-norm" ? true : nil
        options.coke = coke
        c.methodOptions = options
        return c
    }

    /// The checkpoint without its metadata (which holds wall-clock seconds).
    func finalState(_ run: URL) throws -> TensorArchive {
        var a = try TensorArchive(contentsOf: run.appendingPathComponent("checkpoint-last.safetensors").path)
        a.metadata = [:]
        return a
    }

    @Test(arguments: ["odc", "coke", "coke-encoder-norm", "supervised"]) func resumeIsBitIdentical(method: String) throws {
        let reference = temporaryRunDirectory("\(method)-reference")
        defer { try? FileManager.default.removeItem(at: reference) }
        _ = try Trainer(config: config(method), runDirectory: reference, resume: false).run()
        let expected = try finalState(reference)
        #expect(expected.names.contains { $0.hasPrefix("method_module.") }, "the method's layers are in the checkpoint")
        #expect(expected.names.contains("method_module.encoder_norm.running_mean") == (method == "coke-encoder-norm"))
        let run = temporaryRunDirectory("\(method)-resumed")
        defer { try? FileManager.default.removeItem(at: run) }
        var steps = 0
        _ = try Trainer(config: config(method), runDirectory: run, resume: false).run { steps += 1; return steps == 7 ? .abandon : .none }
        #expect(try Trainer(config: config(method), runDirectory: run, resume: true).run().finished)
        let actual = try finalState(run)
        #expect(actual.names == expected.names)
        for name in expected.names { #expect(actual[name] == expected[name], "\(method): \(name) differs after resuming") }
        let records = try readMetrics(run)
        #expect(records.count == 2)
        #expect(records.last?.diagnostics[method == "supervised" ? "train_accuracy" : "labels_changed"] != nil)
        #expect(records.last?.knnRecomputedTop1 == nil && records.last?.knnTop1 == nil, "knnEvery 0: no monitor")
    }

    @Test func odcTrainsItsHeadAndRefusesWhatCannotWork() throws {
        let run = temporaryRunDirectory("odc-head")
        defer { try? FileManager.default.removeItem(at: run) }
        let trainer = try Trainer(config: config("odc"), runDirectory: run, resume: false)
        let before = (trainer.method.module!.layer.namedParameters.first!.1).toArray()
        _ = try trainer.run()
        #expect(trainer.method.module!.layer.namedParameters.first!.1.toArray() != before, "the head is optimised")
        // The method's units reach the run directory for the report.
        let units = try JSONDecoder().decode([String: String].self,
                                             from: Data(contentsOf: run.appendingPathComponent(RunFileName.metricUnits)))
        #expect(units["cluster_size_min"] == "images" && units["labels_changed"] == "fraction" && units["health_seconds"] == "s")

        var unmix = config("odc")
        unmix.unmix = UnMixOptions()
        #expect(throws: TrainingError.self) { try Trainer(config: unmix, runDirectory: temporaryRunDirectory("odc-unmix"), resume: false) }
        var tooMany = config("odc")
        tooMany.methodOptions?.odc?.clusters = 1000
        do {
            _ = try Trainer(config: tooMany, runDirectory: temporaryRunDirectory("odc-k"), resume: false)
            Issue.record("K above N was accepted")
        } catch {
            #expect("\(error)".contains("--clusters 1000 is larger than the number of training images"))
        }
    }

    /// A method without a memory bank (CoKe) is monitored on recomputed features, whatever
    /// --knn-features says, and checkpoint-best follows them.
    @Test func aMethodWithoutBankIsMonitoredOnRecomputedFeatures() throws {
        var c = config("coke")
        c.knnEvery = 1
        c.monitorFeatures = .both
        c.validation = try ValidationSize(parsing: "64")
        let run = temporaryRunDirectory("coke-monitor")
        defer { try? FileManager.default.removeItem(at: run) }
        let summary = try Trainer(config: c, runDirectory: run, resume: false).run()
        #expect(summary.bestKNNTop1 != nil)
        #expect(FileManager.default.fileExists(atPath: run.appendingPathComponent("checkpoint-best.safetensors").path))
        let last = try readMetrics(run).last
        #expect(last?.knnTop1 == nil && last?.knnRecomputedTop1 != nil)
        // `invprop eval knn` on it recomputes the training features instead of asking for a bank.
        try invprop(["eval", "knn", run.path, "--k", "20"])
        #expect(FileManager.default.fileExists(atPath: run.appendingPathComponent("eval-knn.json").path))
    }
}
