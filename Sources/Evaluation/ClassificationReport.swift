/// Top-1 / top-5 accuracy, predictions and per-class accuracy of a classifier on a labelled set.
public struct ClassificationReport: Codable, Equatable, Sendable {
    /// Fraction of samples whose highest-scoring class is the label, in [0, 1].
    public var top1: Double
    /// Fraction of samples whose label is among the `topKRank` highest-scoring classes, in [0, 1].
    public var top5: Double
    /// The rank used for `top5`: min(5, class count), so top-5 is 1.0 when there are ≤ 5 classes.
    public var topKRank: Int
    /// The predicted (highest-scoring) class of every sample, [N].
    public var predictions: [Int]
    /// Correct top-1 predictions per class, [C].
    public var perClassCorrect: [Int]
    /// Samples per class, [C].
    public var perClassTotal: [Int]

    /// Top-1 accuracy of each class, [C]; 0 for classes without samples (see `perClassTotal`).
    public var perClassAccuracy: [Double] {
        zip(perClassCorrect, perClassTotal).map { $1 == 0 ? 0 : Double($0) / Double($1) }
    }

    /// Mean of the per-class accuracies over classes that have samples (balanced accuracy).
    public var meanClassAccuracy: Double {
        let present = zip(perClassCorrect, perClassTotal).filter { $0.1 > 0 }
        guard !present.isEmpty else { return 0 }
        return present.map { Double($0.0) / Double($0.1) }.reduce(0, +) / Double(present.count)
    }

    /// A report from per-sample predictions and top-5 hits; labels are in 0..<classCount.
    init(labels: [Int], predictions: [Int], topKHits: [Bool], classCount: Int, topKRank: Int) {
        var correct = [Int](repeating: 0, count: classCount)
        var total = [Int](repeating: 0, count: classCount)
        var top1Count = 0
        var topKCount = 0
        for i in labels.indices {
            total[labels[i]] += 1
            if predictions[i] == labels[i] {
                correct[labels[i]] += 1
                top1Count += 1
            }
            if topKHits[i] { topKCount += 1 }
        }
        let n = Double(max(labels.count, 1))
        self.top1 = Double(top1Count) / n
        self.top5 = Double(topKCount) / n
        self.topKRank = topKRank
        self.predictions = predictions
        self.perClassCorrect = correct
        self.perClassTotal = total
    }

    /// A report from class scores [N, C] (row-major): the ranking that `rankClasses` defines.
    public init(scores: [Float], labels: [Int], classCount: Int) throws {
        guard classCount >= 1 else {
            throw EvaluationError(.invalidArgument, "class count must be >= 1, got \(classCount)")
        }
        guard scores.count == labels.count * classCount else {
            throw EvaluationError(.shapeMismatch,
                "\(scores.count) scores for \(labels.count) samples x \(classCount) classes")
        }
        try FeatureMatrix.validateLabels(labels, count: labels.count, classCount: classCount, name: "labels")
        let rank = min(5, classCount)
        var predictions = [Int](repeating: 0, count: labels.count)
        var hits = [Bool](repeating: false, count: labels.count)
        scores.withUnsafeBufferPointer { s in
            guard let base = s.baseAddress else { return }
            var ranked = [Int](repeating: 0, count: rank)
            for i in labels.indices {
                rankClasses(base + i * classCount, classCount: classCount, into: &ranked)
                predictions[i] = ranked[0]
                hits[i] = ranked.contains(labels[i])
            }
        }
        self.init(labels: labels, predictions: predictions, topKHits: hits,
                  classCount: classCount, topKRank: rank)
    }
}

/// Writes the `ranked.count` best classes of `scores` [C] into `ranked`, best first; ties go to
/// the lower class index, so results are deterministic. O(C · ranked.count), ranked.count ≤ 5.
@inline(__always)
func rankClasses(_ scores: UnsafePointer<Float>, classCount: Int, into ranked: inout [Int]) {
    for r in 0..<ranked.count {
        var best = -1
        var bestScore = -Float.infinity
        for c in 0..<classCount {
            var taken = false
            for q in 0..<r where ranked[q] == c { taken = true; break }
            if taken { continue }
            if best < 0 || scores[c] > bestScore {
                best = c
                bestScore = scores[c]
            }
        }
        ranked[r] = best
    }
}
