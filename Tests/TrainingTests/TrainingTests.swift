import Data
import Evaluation
import Foundation
import Methods
import Models
import NN
import SafeTensors
import Tensors
import Testing
@testable import Training

/// A small InvP run on the synthetic `shapes` data, sized for a debug build on 2 cores.
func shapesConfig(images: Int = 1024, epochs: Int = 8) -> TrainingConfig {
    var c = TrainingConfig()
    c.preset = "test"
    c.dataset = "shapes"
    c.trainSubset = images
    c.epochs = epochs
    c.batchSize = 64
    c.learningRate = 0.1
    c.model.width = 0.125
    c.invp.backgroundCount = 256
    c.invp.warmUpEpochs = 2
    c.knnK = 20
    c.workers = 1
    c.threads = 2
    c.healthSample = 256   // the signals run every epoch; a small sample keeps the suite quick
    return c
}

/// A fresh temporary run directory.
func temporaryRunDirectory(_ name: String) -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("invprop-tests-\(name)-\(UUID().uuidString)")
    try? FileManager.default.removeItem(at: url)
    return url
}

/// Reads metrics.jsonl back.
func readMetrics(_ run: URL) throws -> [EpochRecord] {
    let text = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
    return try text.split(separator: "\n").map { try JSONDecoder().decode(EpochRecord.self, from: Data($0.utf8)) }
}

@Suite(.serialized) struct TrainingIntegrationTests {
    /// On clustered synthetic data the loss falls, purity rises above chance (4 classes: 0.25)
    /// and the kNN monitor climbs well above its first epoch.
    @Test func invpLearnsClusteredData() throws {
        let run = temporaryRunDirectory("learn")
        defer { try? FileManager.default.removeItem(at: run) }
        let trainer = try Trainer(config: shapesConfig(), runDirectory: run, resume: false)
        let summary = try trainer.run()
        #expect(summary.finished && summary.completedEpochs == 8)
        let metrics = try readMetrics(run)
        #expect(metrics.count == 8)
        #expect(metrics.last!.lossTerms["instance"]! < metrics.first!.lossTerms["instance"]!, "instance loss \(metrics.map(\.lossTerms))")
        let purity = try #require(metrics.last?.diagnostics["purity_candidates"])
        #expect(purity > 0.35, "candidate purity \(purity) should be well above chance 0.25")

        // The monitor (test features against the memory bank) climbs far above its first epoch.
        // (On these bars an untrained network's recomputed features already score ~99 %, so the
        // untrained-network baseline is measured on Fashion-MNIST instead: docs/results.md.)
        let first = try #require(metrics.first?.knnTop1), last = try #require(metrics.last?.knnTop1)
        #expect(last > first + 30, "kNN monitor \(metrics.map { $0.knnTop1 ?? 0 })")
        #expect(last > 80, "kNN monitor \(metrics.map { $0.knnTop1 ?? 0 })")
        for file in ["config.json", "metrics.jsonl", "checkpoint-last.safetensors", "checkpoint-best.safetensors"] {
            #expect(FileManager.default.fileExists(atPath: run.appendingPathComponent(file).path), "missing \(file)")
        }
    }

    /// Stopping (Ctrl-C: save and stop) or dying after a mid-epoch checkpoint (SIGKILL: no save),
    /// then resuming, ends with the same weights, bank and table, bit for bit, as one
    /// uninterrupted run with the same seed and threads.
    @Test func resumeIsBitIdentical() throws {
        var config = shapesConfig(images: 512, epochs: 3)
        config.checkpointEverySteps = 3
        config.knnEvery = 0
        func finalState(_ run: URL) throws -> TensorArchive {
            var a = try TensorArchive(contentsOf: run.appendingPathComponent("checkpoint-last.safetensors").path)
            a.metadata = [:]   // progress holds wall-clock seconds, which differ
            return a
        }
        let reference = temporaryRunDirectory("reference")
        defer { try? FileManager.default.removeItem(at: reference) }
        _ = try Trainer(config: config, runDirectory: reference, resume: false).run()
        let expected = try finalState(reference)

        for (name, request, atStep) in [("saved", StopRequest.saveAndStop, 5), ("killed", StopRequest.abandon, 14)] {
            let run = temporaryRunDirectory(name)
            defer { try? FileManager.default.removeItem(at: run) }
            var steps = 0
            let first = try Trainer(config: config, runDirectory: run, resume: false).run { steps += 1; return steps == atStep ? request : .none }
            #expect(!first.finished)
            let resumed = try Trainer(config: config, runDirectory: run, resume: true)
            #expect(resumed.progress.globalStep > 0)
            let second = try resumed.run()
            #expect(second.finished)
            let actual = try finalState(run)
            #expect(actual.names == expected.names)
            for tensor in expected.names {
                #expect(actual[tensor] == expected[tensor], "\(name): \(tensor) differs after resuming")
            }
            #expect(try readMetrics(run).count == 3)
        }
    }

    /// Killed after an epoch's metrics line was written but before its checkpoint (here: the
    /// checkpoint of epoch 1 restored under an epoch-2 line and a line cut short), a resumed run
    /// brings metrics.jsonl back to the checkpoint's epoch, so every epoch appears exactly once.
    @Test func resumeNeverRepeatsAMetricsLine() throws {
        var config = shapesConfig(images: 256, epochs: 2)
        config.knnEvery = 0
        let run = temporaryRunDirectory("metrics-once")
        defer { try? FileManager.default.removeItem(at: run) }
        // 4 steps an epoch: dying at step 5 leaves epoch 1's checkpoint and metrics line.
        var steps = 0
        _ = try Trainer(config: config, runDirectory: run, resume: false).run { steps += 1; return steps == 5 ? .abandon : .none }
        let metrics = run.appendingPathComponent("metrics.jsonl")
        let epochOne = try String(contentsOf: metrics, encoding: .utf8)
        try (epochOne + epochOne.replacingOccurrences(of: "\"epoch\":1", with: "\"epoch\":2") + "{\"epoch\":3,\"lo")
            .write(to: metrics, atomically: true, encoding: .utf8)
        // A killed checkpoint write leaves its temporary file; the resumed run removes it.
        let abandoned = run.appendingPathComponent(".checkpoint-last.safetensors.tmp-4242-ab")
        try Data([1, 2, 3]).write(to: abandoned)
        #expect(try Trainer(config: config, runDirectory: run, resume: true).run().finished)
        #expect(!FileManager.default.fileExists(atPath: abandoned.path))
        let text = try String(contentsOf: metrics, encoding: .utf8)
        #expect(try readMetrics(run).map(\.epoch) == [1, 2], "\(text)")
        #expect(try String(contentsOf: metrics, encoding: .utf8).hasPrefix(epochOne))
    }

    /// A run directory with a checkpoint is not overwritten without --resume, and a corrupt
    /// checkpoint is reported with its path.
    @Test func protectsExistingRunsAndRejectsCorruptCheckpoints() throws {
        var config = shapesConfig(images: 256, epochs: 1)
        config.knnEvery = 0
        let run = temporaryRunDirectory("protect")
        defer { try? FileManager.default.removeItem(at: run) }
        _ = try Trainer(config: config, runDirectory: run, resume: false).run()
        #expect(throws: TrainingError.self) { try Trainer(config: config, runDirectory: run, resume: false) }
        let path = run.appendingPathComponent("checkpoint-last.safetensors")
        let bytes = try Data(contentsOf: path)
        try bytes.prefix(bytes.count / 2).write(to: path)
        do {
            _ = try Trainer(config: config, runDirectory: run, resume: true)
            Issue.record("a truncated checkpoint was accepted")
        } catch {
            #expect("\(error)".contains(path.lastPathComponent), "error does not name the file: \(error)")
        }
    }

    /// A loss that becomes NaN or infinite stops the run with a clear message and leaves the
    /// last good checkpoint as it was.
    @Test func divergenceStopsAndKeepsTheLastGoodCheckpoint() throws {
        var config = shapesConfig(images: 256, epochs: 3)
        config.knnEvery = 0
        config.decay = .multistep
        config.milestones = [1]
        config.gamma = 1e12   // epoch 2 trains at lr 1e11: the weights explode
        let run = temporaryRunDirectory("diverge")
        defer { try? FileManager.default.removeItem(at: run) }
        let trainer = try Trainer(config: config, runDirectory: run, resume: false)
        var before: Data?   // the checkpoint as it was after the last step that went well
        do {
            _ = try trainer.run { before = try? Data(contentsOf: trainer.lastCheckpoint); return .none }
            Issue.record("training at lr 1e11 did not diverge")
        } catch let error as TrainingError {
            guard case .diverged(let message) = error else { Issue.record("unexpected \(error)"); return }
            #expect(message.contains("NaN") || message.contains("inf"), "\(message)")
            #expect(message.contains("checkpoint-last.safetensors"), "\(message)")
        }
        let saved = try #require(before, "no checkpoint after the first epoch")
        #expect(try Data(contentsOf: trainer.lastCheckpoint) == saved)
        #expect(try readMetrics(run).count == trainer.progress.epoch)
        #expect(trainer.progress.epoch >= 1)
    }

    @Test func invalidOptionsAreRejected() throws {
        var c = shapesConfig()
        c.epochs = 0
        #expect(throws: TrainingError.self) { try c.validate() }
        c = shapesConfig(); c.precision = "fp16"
        #expect(throws: TrainingError.self) { try c.validate() }
        for bad in [0.0, -0.1, 1.5] {
            c = shapesConfig(); c.cropScaleMinimum = bad
            #expect(throws: TrainingError.self) { try c.validate() }
        }
        c = shapesConfig(); c.validation = .percent(60)
        let tooLarge = #expect(throws: TrainingError.self) { try Trainer(config: c, runDirectory: temporaryRunDirectory("bad"), resume: false) }
        #expect(tooLarge?.description.contains("at most half") == true)
        c = shapesConfig(); c.invp.backgroundCount = 5000
        #expect(throws: (any Error).self) { try Trainer(config: c, runDirectory: temporaryRunDirectory("bad"), resume: false) }
    }

    /// `--bank-init features` starts the bank from the initial network's outputs (unit rows that
    /// already tell the classes apart) and the table from that bank; the monitor then reports
    /// both kNN variants, and a configuration saved before these options existed still decodes.
    @Test func featureStartedBankAndBothMonitors() throws {
        var config = shapesConfig(images: 256, epochs: 1)
        config.bankInitialization = .features
        config.monitorFeatures = .both
        config.cropScaleMinimum = 0.5
        let run = temporaryRunDirectory("bank-init")
        defer { try? FileManager.default.removeItem(at: run) }
        let trainer = try Trainer(config: config, runDirectory: run, resume: false)
        let memoryBank = try #require(trainer.method.memoryBank)
        let bank = memoryBank.storage, d = memoryBank.dimension, n = memoryBank.count
        for i in 0..<n {
            let norm = (0..<d).reduce(Float(0)) { $0 + bank[i * d + $1] * bank[i * d + $1] }
            #expect(abs(norm - 1) < 1e-4, "row \(i) has squared norm \(norm)")
        }
        let table = try #require((trainer.method as? InvariancePropagation)?.table)
        #expect(Set(table.storage).count > n / 4, "the table should point all over the bank, not at entry 0")
        for i in 0..<8 { #expect(!table.row(i).contains(Int32(i))) }
        _ = try trainer.run()
        let record = try #require(try readMetrics(run).last)
        #expect(record.knnTop1 != nil && record.knnRecomputedTop1 != nil && (record.monitorSeconds ?? 0) > 0)

        var old = try JSONSerialization.jsonObject(with: Data(try config.json().utf8)) as! [String: Any]
        for key in ["bankInitialization", "monitorFeatures", "cropScaleMinimum"] { old[key] = nil }
        let decoded = try TrainingConfig.decode(String(decoding: try JSONSerialization.data(withJSONObject: old), as: UTF8.self), source: "old")
        #expect(decoded.bankInitialization == nil && decoded.monitorFeatures == nil && decoded.cropScaleMinimum == nil)
    }

    /// With `--validation` the held-out images leave training and the bank, the monitor and
    /// checkpoint-best score them, the test split is scored once (last epoch), evaluation lines
    /// its training images up with the bank, and T counts instance-only epochs as the authors do.
    @Test func validationSplitDrivesTheMonitorAndTestIsScoredOnce() throws {
        var config = shapesConfig(images: 256, epochs: 3)
        config.validation = .count(64)
        config.monitorFeatures = .both
        config.invp.warmUpEpochs = 1
        config.invp.backgroundCount = 128
        let run = temporaryRunDirectory("validation")
        defer { try? FileManager.default.removeItem(at: run) }
        let trainer = try Trainer(config: config, runDirectory: run, resume: false)
        let split = try TrainValidationSplit(total: 256, validation: .count(64), seed: 0)
        #expect(trainer.method.memoryBank?.count == 192 && trainer.train.indices == split.training && trainer.validation?.indices == split.validation)
        let summary = try trainer.run()
        let records = try readMetrics(run)
        #expect(records.allSatisfy { $0.monitorSplit == "validation" && $0.knnTop1 != nil && $0.knnRecomputedTop1 != nil })
        #expect(records.dropLast().allSatisfy { $0.testKnnTop1 == nil } && records.last?.testKnnTop1 != nil && records.last?.testKnnRecomputedTop1 != nil)
        #expect(summary.bestKNNTop1 == records.compactMap(\.knnTop1).max())
        #expect(records.map { $0.diagnostics["invariance_weight"] } == [0, 0.6, 0.6].map { Double(Float($0)) })

        let session = try EvaluationSession(checkpoint: run.path)
        #expect(session.trainIndices == split.training)
        var old = try JSONSerialization.jsonObject(with: Data(try config.json().utf8)) as! [String: Any]
        for key in ["validation", "validationSeed"] { old[key] = nil }
        let decoded = try TrainingConfig.decode(String(decoding: try JSONSerialization.data(withJSONObject: old), as: UTF8.self), source: "old")
        #expect(decoded.validation == nil && decoded.validationSeed == nil)
    }

    /// `--knn-recompute-every N` thins out the monitor's costly half: with both monitors the bank
    /// scores every epoch, the recomputed features only epochs that are multiples of N and the
    /// last; a value below 1 is refused.
    @Test func recomputedMonitorRunsEveryNthEpochAndAtTheLast() throws {
        var config = shapesConfig(images: 256, epochs: 3)
        config.monitorFeatures = .both
        config.knnRecomputeEvery = 2
        let run = temporaryRunDirectory("recompute-every")
        defer { try? FileManager.default.removeItem(at: run) }
        _ = try Trainer(config: config, runDirectory: run, resume: false).run()
        let records = try readMetrics(run)
        #expect(records.map { $0.knnTop1 != nil } == [true, true, true])
        #expect(records.map { $0.knnRecomputedTop1 != nil } == [false, true, true])
        config.knnRecomputeEvery = 0
        #expect(throws: TrainingError.self) { try config.validate() }
    }

    /// `--max-steps` ends training inside an epoch: the cut epoch is the last (scored, the test
    /// split with it), the cosine schedule spans exactly those steps, and resuming the finished
    /// run trains no further.
    @Test func maxStepsEndsTrainingInsideAnEpoch() throws {
        var config = shapesConfig(images: 256, epochs: 3)
        config.validation = .count(64)   // 192 training images: 3 steps of 64 an epoch
        config.knnEvery = 100
        config.maxSteps = 7              // two epochs and one step
        config.invp.backgroundCount = 128
        let run = temporaryRunDirectory("max-steps")
        defer { try? FileManager.default.removeItem(at: run) }
        let trainer = try Trainer(config: config, runDirectory: run, resume: false)
        #expect(trainer.stepLimit == 7)
        let summary = try trainer.run()
        #expect(summary.finished && summary.completedEpochs == 3 && trainer.progress.globalStep == 7)
        let records = try readMetrics(run)
        #expect(records.count == 3 && records.last?.testKnnTop1 != nil && records.dropLast().allSatisfy { $0.knnTop1 == nil })
        // The last step (epoch 3, step 1) runs at the schedule's point 2 of 7/3 epochs.
        let schedule = try LearningRateSchedule(base: config.learningRate, decay: .cosine(minimum: 0), warmupEpochs: 0, totalEpochs: 7.0 / 3)
        let lastRate = try #require(records.last?.learningRate)
        #expect(abs(lastRate - Double(schedule.rate(atEpoch: 2))) < 1e-7, "\(lastRate)")

        let resumed = try Trainer(config: config, runDirectory: run, resume: true)
        #expect(try resumed.run().finished && resumed.progress.globalStep == 7 && (try readMetrics(run)).count == 3)

        config.maxSteps = 0
        #expect(throws: TrainingError.self) { try config.validate() }
        config.maxSteps = 7; config.warmupEpochs = 2.5
        let warmup = #expect(throws: TrainingError.self) { try Trainer(config: config, runDirectory: temporaryRunDirectory("bad"), resume: false) }
        #expect(warmup?.description.contains("--max-steps") == true)
    }

    /// `--max-minutes` with a budget far shorter than the epochs asked for: training ends by
    /// the clock inside the run, the final scoring still runs, the learning rate has decayed
    /// with the clock (below where the steps alone would put it), and resuming trains no more.
    /// (Nothing here depends on how fast the machine is: any pace ends before 1 000 epochs.)
    @Test func maxMinutesEndsTrainingByTheClock() throws {
        var config = shapesConfig(images: 256, epochs: 1000)
        config.validation = .count(64)
        config.invp.backgroundCount = 128
        config.knnEvery = 1000
        config.healthSample = 0
        config.maxMinutes = 0.05   // 3 s
        let run = temporaryRunDirectory("max-minutes")
        defer { try? FileManager.default.removeItem(at: run) }
        let trainer = try Trainer(config: config, runDirectory: run, resume: false)
        let summary = try trainer.run()
        let ended = try #require(trainer.progress.budgetEndedAtStep)
        #expect(summary.finished && ended == trainer.progress.globalStep && ended >= 1 && ended < 1000 * 3)
        let records = try readMetrics(run)
        let last = try #require(records.last)
        #expect(last.knnTop1 != nil && last.testKnnTop1 != nil && last.diagnostics["budget_ended_at_step"] == Double(ended))
        let stepsOnly = try LearningRateSchedule(base: config.learningRate, decay: .cosine(minimum: 0), warmupEpochs: 0, totalEpochs: 1000)
            .rate(atEpoch: Double(ended - 1) / 3)
        #expect(last.learningRate < Double(stepsOnly), "the rate should follow the clock: \(last.learningRate) against \(stepsOnly)")

        let resumed = try Trainer(config: config, runDirectory: run, resume: true)
        #expect(try resumed.run().finished && resumed.progress.globalStep == ended && (try readMetrics(run)).count == records.count)
        for bad in [0.0, -1, .nan, .infinity] {
            config.maxMinutes = bad
            #expect(throws: TrainingError.self) { try config.validate() }
        }
    }

    /// The budget's arithmetic: the training time is what setup and the reserve leave, the
    /// schedule's share is clamped to 0…1, a step fits only if it ends in time, and the time left
    /// (the progress line's ETA) never goes below zero.
    @Test func timeBudgetArithmetic() {
        let budget = TrainingBudget(totalSeconds: 180, setupSeconds: 15, reserveSeconds: 25)
        #expect(budget.trainingSeconds == 140)
        #expect(budget.remainingSeconds(spent: 100) == 40 && budget.remainingSeconds(spent: 150) == 0)
        #expect(budget.fraction(spent: 70) == 0.5 && budget.fraction(spent: 500) == 1 && budget.fraction(spent: -1) == 0)
        #expect(budget.fits(anotherStepOf: 0.1, spent: 139.9) && !budget.fits(anotherStepOf: 0.2, spent: 139.9))
        #expect(TrainingBudget(totalSeconds: 10, setupSeconds: 20, reserveSeconds: 5).fraction(spent: 0) == 1)
        #expect(abs(TrainingBudget.reserve(scoringImages: 70_000, secondsPerImage: 0.0002) - 19.5) < 1e-9)
    }

    /// Un-Mix on InvP and NPID: the mixed term is logged as `loss_unmix`, the clean terms as
    /// before, and a run stopped mid-epoch resumes to the same weights (the mixtures are drawn
    /// from the seed and the global step, not from a generator's state).
    @Test(arguments: [("invp", UnMixTargets.clean), ("npid", .clean), ("invp", .own)])
    func unmixTrainsAndResumesBitIdentically(method: String, targets: UnMixTargets) throws {
        var config = shapesConfig(images: 256, epochs: 2)
        config.method = method
        config.invp.backgroundCount = 128
        config.invp.warmUpEpochs = 1
        config.unmix = UnMixOptions()
        config.unmix?.targets = targets
        config.knnEvery = 0
        let reference = temporaryRunDirectory("unmix-\(method)-\(targets)")
        defer { try? FileManager.default.removeItem(at: reference) }
        _ = try Trainer(config: config, runDirectory: reference, resume: false).run()
        let records = try readMetrics(reference)
        #expect(records.allSatisfy { ($0.lossTerms["unmix"] ?? 0) > 0 && $0.lossTerms["instance"] != nil })
        #expect(records.allSatisfy { abs($0.loss - $0.lossTerms.filter { $0.key != "invariance" }.values.reduce(0, +)
                                         - ($0.lossTerms["invariance"] ?? 0) * ($0.diagnostics["invariance_weight"] ?? 0)) < 1e-3 })

        let run = temporaryRunDirectory("unmix-resumed-\(method)-\(targets)")
        defer { try? FileManager.default.removeItem(at: run) }
        var steps = 0
        _ = try Trainer(config: config, runDirectory: run, resume: false).run { steps += 1; return steps == 3 ? .saveAndStop : .none }
        _ = try Trainer(config: config, runDirectory: run, resume: true).run()
        let hash = { (url: URL) in try MethodRefactorTests.checkpointHash(url.appendingPathComponent("checkpoint-last.safetensors")) }
        #expect(try hash(run) == hash(reference))
    }
}
