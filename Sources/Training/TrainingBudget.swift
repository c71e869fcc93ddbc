/// `--max-minutes`: how far a run is through its time budget, and whether one more step fits.
/// All times are seconds of wall-clock time. What follows the last step (the final scoring,
/// the last checkpoint, the health signals) is reserved from the budget; `Trainer` estimates it
/// from the measured cost of a feature pass per image.
struct TrainingBudget: Equatable {
    /// Seconds the whole run may take (`--max-minutes` × 60).
    var totalSeconds: Double
    /// Seconds this process spent before training began (data, the initial feature pass).
    var setupSeconds: Double
    /// Seconds kept for what follows the last step.
    var reserveSeconds: Double

    /// Seconds that training itself may use (never negative).
    var trainingSeconds: Double { max(0, totalSeconds - setupSeconds - reserveSeconds) }

    /// The share of the training time spent after `spent` seconds of training, in 0…1; the
    /// learning-rate schedule is at least this far along.
    func fraction(spent: Double) -> Double {
        trainingSeconds <= 0 ? 1 : min(1, max(0, spent / trainingSeconds))
    }

    /// Training seconds left after `spent` seconds of training (never negative): the progress
    /// line's ETA when the clock, not the epochs, ends the run.
    func remainingSeconds(spent: Double) -> Double { max(0, trainingSeconds - spent) }

    /// Whether one more step of about `stepSeconds` ends within the training time.
    func fits(anotherStepOf stepSeconds: Double, spent: Double) -> Bool { spent + stepSeconds <= trainingSeconds }

    /// The reserve for a final scoring that passes `images` images through the network at
    /// `secondsPerImage`: a quarter more than that estimate (the kNN itself, a slower minute),
    /// plus 2 s for the last checkpoint and the health signals.
    static func reserve(scoringImages images: Int, secondsPerImage: Double) -> Double {
        1.25 * Double(images) * secondsPerImage + 2
    }
}
