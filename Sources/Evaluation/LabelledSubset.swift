import Foundation
import Randomness

/// Class-balanced labelled subsets for semi-supervised fine-tuning (1 % / 10 % of the labels).
///
/// Each class draws its own samples from a generator keyed by (seed, class), so the choice for
/// one class never depends on the other classes; indices come back sorted.
public enum LabelledSubset {
    /// Per class, round(fraction × class size) samples (half away from zero), at least 1;
    /// `fraction` in (0, 1]. Returns sorted dataset indices.
    public static func select(labels: [Int], fraction: Double, seed: UInt64) throws -> [Int] {
        guard fraction > 0 && fraction <= 1 else {
            throw EvaluationError(.invalidArgument, "label fraction must be in (0, 1], got \(fraction)")
        }
        return try select(labels: labels, seed: seed) { _, size in
            min(size, max(1, Int((fraction * Double(size)).rounded())))
        }
    }

    /// Exactly `perClass` samples of every class; throws if a class has fewer.
    public static func select(labels: [Int], perClass: Int, seed: UInt64) throws -> [Int] {
        guard perClass >= 1 else {
            throw EvaluationError(.invalidArgument, "samples per class must be >= 1, got \(perClass)")
        }
        return try select(labels: labels, seed: seed) { label, size in
            guard size >= perClass else {
                throw EvaluationError(.invalidArgument,
                    "class \(label) has only \(size) samples, \(perClass) requested per class")
            }
            return perClass
        }
    }

    /// Parses "1%", "10%", "0.01" (a fraction) or "40/class" into a selection; for CLI options.
    public static func select(labels: [Int], specification: String, seed: UInt64) throws -> [Int] {
        let text = specification.trimmingCharacters(in: .whitespaces)
        if text.hasSuffix("%"), let percent = Double(text.dropLast()) {
            return try select(labels: labels, fraction: percent / 100, seed: seed)
        }
        if text.hasSuffix("/class"), let count = Int(text.dropLast(6)) {
            return try select(labels: labels, perClass: count, seed: seed)
        }
        if let fraction = Double(text) {
            return try select(labels: labels, fraction: fraction, seed: seed)
        }
        throw EvaluationError(.invalidArgument,
            "label subset '\(specification)' is not a percentage (\"1%\"), fraction (\"0.1\") or count (\"40/class\")")
    }

    private static func select(labels: [Int], seed: UInt64,
                               count: (_ label: Int, _ size: Int) throws -> Int) throws -> [Int] {
        guard !labels.isEmpty else { throw EvaluationError(.emptyInput, "no labels to choose a subset from") }
        var members: [Int: [Int]] = [:]
        for (index, label) in labels.enumerated() { members[label, default: []].append(index) }
        var chosen: [Int] = []
        for label in members.keys.sorted() {
            var indices = members[label] ?? []
            let take = try count(label, indices.count)
            var generator = SeededGenerator(seed: seed, streams: [0x5355_4253_4554, UInt64(bitPattern: Int64(label))])
            // Partial Fisher–Yates: the first `take` slots become a uniform sample without replacement.
            for i in 0..<take {
                let j = i + generator.int(below: indices.count - i)
                indices.swapAt(i, j)
            }
            chosen.append(contentsOf: indices[0..<take])
        }
        return chosen.sorted()
    }
}
