import Testing
@testable import NN

/// Schedule refusals name the options of `train` and `eval semisup` that set them.
@Suite struct ScheduleTests {
    /// The message of the refusal of a multi-step schedule with `milestones` and `gamma`.
    func refusal(milestones: [Int], gamma: Float) -> String? {
        do {
            _ = try LearningRateSchedule(base: 0.1, decay: .multiStep(milestones: milestones, gamma: gamma), totalEpochs: 10)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func badMultiStepSettingsNameTheirOption() {
        #expect(refusal(milestones: [], gamma: -1)?.contains("--gamma (the multistep factor) must be a finite number ≥ 0, got -1.0") == true)
        #expect(refusal(milestones: [2], gamma: .nan)?.contains("--gamma") == true, "NaN used to be accepted")
        #expect(refusal(milestones: [2], gamma: .infinity)?.contains("--gamma") == true)
        #expect(refusal(milestones: [5, 3], gamma: 0.1)?.contains("--milestones must be increasing epochs, got 5,3") == true)
        #expect(refusal(milestones: [3, 5], gamma: 0) == nil)
    }
}
