import Data
import Evaluation
import Foundation
import Testing
@testable import Training

/// The label-free health signals in a training run: logged every epoch (neighbour stability
/// from the second), the same after a resume, absent when switched off.
@Suite(.serialized) struct HealthTrainingTests {
    func config(sample: Int) -> TrainingConfig {
        var c = shapesConfig(images: 384, epochs: 2)
        c.knnEvery = 0
        c.healthSample = sample
        c.checkpointEverySteps = 2
        return c
    }

    @Test func signalsAreLoggedAndSurviveAResume() throws {
        let reference = temporaryRunDirectory("health-reference")
        defer { try? FileManager.default.removeItem(at: reference) }
        _ = try Trainer(config: config(sample: 128), runDirectory: reference, resume: false).run()
        let records = try readMetrics(reference)
        for key in ["health_spread", "health_effective_rank", "health_uniformity", "health_alignment"] {
            #expect(records.allSatisfy { $0.diagnostics[key] != nil }, "\(key) missing")
        }
        #expect(records[0].diagnostics["health_neighbour_stability"] == nil)
        let stability = try #require(records[1].diagnostics["health_neighbour_stability"])
        #expect(stability > 0 && stability <= 1)

        let resumed = temporaryRunDirectory("health-resumed")
        defer { try? FileManager.default.removeItem(at: resumed) }
        var steps = 0
        _ = try Trainer(config: config(sample: 128), runDirectory: resumed, resume: false).run { steps += 1; return steps == 8 ? .abandon : .none }
        _ = try Trainer(config: config(sample: 128), runDirectory: resumed, resume: true).run()
        let again = try readMetrics(resumed)
        for key in ["health_spread", "health_effective_rank", "health_uniformity", "health_alignment", "health_neighbour_stability"] {
            #expect(again[1].diagnostics[key] == records[1].diagnostics[key], "\(key) differs after resuming")
        }
    }

    @Test func zeroSwitchesThemOffAndOneIsRefused() throws {
        let run = temporaryRunDirectory("health-off")
        defer { try? FileManager.default.removeItem(at: run) }
        var c = config(sample: 0)
        c.epochs = 1
        _ = try Trainer(config: c, runDirectory: run, resume: false).run()
        #expect(try readMetrics(run)[0].diagnostics.keys.allSatisfy { !$0.hasPrefix("health_") })
        c.healthSample = 1
        #expect(throws: TrainingError.self) { try c.validate() }
    }

    /// With a rule loose enough to fire whenever it may look, --stop-when-stable ends the run at
    /// epoch 4 (stability is first measured at epoch 2 and compared two epochs later), scores
    /// the test split then, and a resume does not train on.
    @Test func stopWhenStableEndsAFlatRunAndScoresTest() throws {
        var c = config(sample: 128)
        c.epochs = 10
        c.stopWhenStable = true
        c.knnEvery = 1
        c.validation = try ValidationSize(parsing: "64")
        let run = temporaryRunDirectory("health-stop")
        defer { try? FileManager.default.removeItem(at: run) }
        let trainer = try Trainer(config: c, runDirectory: run, resume: false)
        trainer.stoppingRule.minimumGain = 1
        trainer.stoppingRule.uniformityTolerance = 100
        let summary = try trainer.run()
        #expect(summary.finished && summary.completedEpochs == 4)
        let records = try readMetrics(run)
        #expect(records.count == 4 && records.last?.testKnnTop1 != nil && records.dropLast().allSatisfy { $0.testKnnTop1 == nil })
        let again = try Trainer(config: c, runDirectory: run, resume: true).run()
        let linesAfterResume = try readMetrics(run).count
        #expect(again.completedEpochs == 4 && linesAfterResume == 4)
        var off = c
        off.healthSample = 0
        #expect(throws: TrainingError.self) { try off.validate() }
    }

    /// The rule on hand-made histories: flat signals stop, a rising stability or a moving
    /// uniformity does not, and nothing stops before the third epoch.
    @Test func stoppingRuleReadsTheLastEpochs() {
        func history(_ stability: [Double?], uniformity: [Double]) -> [HealthSignals] {
            zip(stability, uniformity).map { HealthSignals(spread: 1, effectiveRank: 10, uniformity: $1, neighbourStability: $0) }
        }
        let rule = StabilityStoppingRule()
        #expect(rule.decide(history([nil, 0.80, 0.805], uniformity: [-3, -3, -3])) == nil)              // epoch 1 has no stability
        #expect(rule.decide(history([nil, 0.80, 0.802, 0.805], uniformity: [-3, -3, -3, -3.01])) != nil)
        #expect(rule.decide(history([nil, 0.70, 0.75, 0.80], uniformity: [-3, -3, -3, -3])) == nil)      // still rising
        #expect(rule.decide(history([nil, 0.80, 0.80, 0.80], uniformity: [-3, -3, -3.1, -3.2])) == nil)  // uniformity moving
    }
}
