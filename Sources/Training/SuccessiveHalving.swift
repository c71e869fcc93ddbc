import Foundation

/// One recipe under screening: a name and the `invprop train` options it changes.
public struct TuneCandidate: Equatable, Sendable, Codable {
    /// A short label, e.g. "lr 0.12" or "base".
    public var name: String
    /// Option name (without dashes) → value, applied over the base recipe.
    public var overrides: [String: String]

    /// A candidate named `name` changing `overrides`.
    public init(name: String, overrides: [String: String]) {
        self.name = name
        self.overrides = overrides
    }
}

/// One short training run of the screening and what it scored.
public struct TuneTrial: Equatable, Sendable, Codable {
    /// Rung (0 first), epochs trained, and the candidate.
    public var rung: Int, epochs: Int, candidate: TuneCandidate
    /// Validation kNN top-1 in percent, and the run's wall seconds.
    public var score: Double, seconds: Double

    /// A trial's record.
    public init(rung: Int, epochs: Int, candidate: TuneCandidate, score: Double, seconds: Double) {
        self.rung = rung; self.epochs = epochs; self.candidate = candidate; self.score = score; self.seconds = seconds
    }
}

/// Successive halving (Jamieson and Talwalkar, 2016) under a wall-clock budget: every candidate
/// trains `firstEpochs` epochs; the best 1/η go on with η times the epochs; and so on until one
/// is left or the budget would be exceeded. A trial starts only when the time per epoch seen so
/// far says it ends within the budget; candidates are tried best-first, so a rung cut short has
/// still tried its strongest. After the first rung an optional combination of the winners (one
/// change per lever) joins the second.
public struct SuccessiveHalving {
    /// The candidates of the first rung (the base among them).
    public let candidates: [TuneCandidate]
    /// Epochs of the first rung, and the factor η (kept and multiplied).
    public let firstEpochs: Int, eta: Int
    /// Wall-clock budget of the whole screening, seconds.
    public let budgetSeconds: Double

    /// Checks and keeps the settings.
    public init(candidates: [TuneCandidate], firstEpochs: Int, eta: Int = 2, budgetSeconds: Double) throws {
        guard !candidates.isEmpty else { throw TrainingError.invalidOption("tune: no candidate recipes to screen") }
        guard firstEpochs >= 1 else { throw TrainingError.invalidOption("--first-epochs must be ≥ 1, got \(firstEpochs)") }
        guard eta >= 2 else { throw TrainingError.invalidOption("--eta must be ≥ 2, got \(eta)") }
        guard budgetSeconds > 0 else { throw TrainingError.invalidOption("--minutes must be > 0") }
        self.candidates = candidates
        self.firstEpochs = firstEpochs
        self.eta = eta
        self.budgetSeconds = budgetSeconds
    }

    /// Runs the screening. `trial` trains a candidate for some epochs (in a rung) and returns its
    /// score and wall seconds; `combine` may propose one more candidate from the first rung's results;
    /// `clock` gives elapsed seconds (injected for tests). Returns every trial and the winner:
    /// the best of the highest rung reached (a rung of one is not run: its candidate has won).
    public func run(trial: (_ candidate: TuneCandidate, _ epochs: Int, _ rung: Int) throws -> (score: Double, seconds: Double),
                    combine: ([TuneTrial]) -> TuneCandidate? = { _ in nil },
                    elapsed clock: () -> Double) throws -> (trials: [TuneTrial], winner: TuneTrial) {
        var trials: [TuneTrial] = []
        var rungCandidates = candidates
        var epochs = firstEpochs
        var rung = 0
        var best: TuneTrial?
        rungLoop: while !rungCandidates.isEmpty {
            var scored: [TuneTrial] = []
            for candidate in rungCandidates {
                let epochsDone = trials.reduce(0) { $0 + $1.epochs }
                let secondsPerEpoch = epochsDone == 0 ? 0 : trials.reduce(0) { $0 + $1.seconds } / Double(epochsDone)
                if !trials.isEmpty && clock() + secondsPerEpoch * Double(epochs) > budgetSeconds { break rungLoop }
                let (score, seconds) = try trial(candidate, epochs, rung)
                let result = TuneTrial(rung: rung, epochs: epochs, candidate: candidate, score: score, seconds: seconds)
                trials.append(result)
                scored.append(result)
                // The highest rung wins; within it, the best score (ties: the earlier, i.e. better-ranked).
                if best == nil || result.rung > best!.rung || result.score > best!.score { best = result }
            }
            if scored.count <= 1 { break }
            let ranked = scored.sorted { $0.score > $1.score }
            var next = ranked.prefix(max(1, ranked.count / eta)).map(\.candidate)
            if rung == 0, let combined = combine(trials), !candidates.contains(combined), !next.contains(combined) {
                next.insert(combined, at: 1)   // after the first rung's best, which a cut-short rung must still try
            }
            if next.count <= 1 { break }
            rungCandidates = next
            epochs *= eta
            rung += 1
        }
        guard let best else { throw TrainingError.invalidOption("tune: the budget ended before any trial") }
        return (trials, best)
    }
}
