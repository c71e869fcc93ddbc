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
}
