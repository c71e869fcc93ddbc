/// Counts behind positive purity: how many propagated candidates (and chosen positives) share
/// the anchor's label. Never used for training; it shows whether propagation stays in-class.
/// Counts add up over steps (`+`), so an epoch's purity is the ratio of the summed counts.
public struct PurityCounts: Sendable, Equatable, Codable {
    /// Candidate entries (with repeats, as the loss sees them) with the anchor's label.
    public var candidatesMatching = 0
    /// All candidate entries.
    public var candidates = 0
    /// Chosen positives with the anchor's label.
    public var positivesMatching = 0
    /// All chosen positives.
    public var positives = 0

    /// All counts zero.
    public init() {}

    /// Share of candidates with the anchor's label (nil with no candidates).
    public var candidatePurity: Double? { candidates == 0 ? nil : Double(candidatesMatching) / Double(candidates) }
    /// Share of chosen positives with the anchor's label (nil with none).
    public var positivePurity: Double? { positives == 0 ? nil : Double(positivesMatching) / Double(positives) }

    /// The counts by name, as `MethodLoss.counts` carries them (they add up over an epoch).
    public var asCounts: [String: Double] {
        ["purity_candidates_matching": Double(candidatesMatching), "purity_candidates": Double(candidates),
         "purity_positives_matching": Double(positivesMatching), "purity_positives": Double(positives)]
    }

    /// The counts from summed `asCounts` (absent names count 0).
    public init(counts: [String: Double]) {
        candidatesMatching = Int(counts["purity_candidates_matching"] ?? 0)
        candidates = Int(counts["purity_candidates"] ?? 0)
        positivesMatching = Int(counts["purity_positives_matching"] ?? 0)
        positives = Int(counts["purity_positives"] ?? 0)
    }

    /// Element-wise sum (accumulating over steps).
    public static func + (a: PurityCounts, b: PurityCounts) -> PurityCounts {
        var c = a
        c.candidatesMatching += b.candidatesMatching; c.candidates += b.candidates
        c.positivesMatching += b.positivesMatching; c.positives += b.positives
        return c
    }

    /// Counts for one batch: `anchors`: [B] dataset indices, `diagnostics` from the same step,
    /// `labels`: [N] the label of every training image.
    public static func measure(anchors: [Int], diagnostics: InvPDiagnostics, labels: [Int32]) throws -> PurityCounts {
        guard diagnostics.candidates.count == anchors.count, diagnostics.positives.count == anchors.count else {
            throw MethodsError.invalidInput("diagnostics cover \(diagnostics.candidates.count) anchors, batch has \(anchors.count)")
        }
        var c = PurityCounts()
        for (r, a) in anchors.enumerated() {
            guard a >= 0 && a < labels.count else {
                throw MethodsError.invalidInput("anchor \(a) outside the \(labels.count) labels")
            }
            let label = labels[a]
            for (list, isPositive) in [(diagnostics.candidates[r], false), (diagnostics.positives[r], true)] {
                for q in list {
                    guard q >= 0 && Int(q) < labels.count else {
                        throw MethodsError.invalidInput("candidate \(q) outside the \(labels.count) labels")
                    }
                    let match = labels[Int(q)] == label ? 1 : 0
                    if isPositive { c.positives += 1; c.positivesMatching += match }
                    else { c.candidates += 1; c.candidatesMatching += match }
                }
            }
        }
        return c
    }
}
