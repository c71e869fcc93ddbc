import Foundation
import Kernels

/// Checks and transforms for feature matrices stored row-major as `[Float]` of shape [N, D].
public enum FeatureMatrix {
    /// Validates that `features` is [count, dimension] with finite values; returns count (N).
    /// `name` labels the argument in error messages ("train features", ...).
    @discardableResult
    public static func validate(_ features: [Float], dimension: Int, name: String,
                                allowEmpty: Bool = false) throws -> Int {
        guard dimension >= 1 else {
            throw EvaluationError(.invalidArgument, "\(name): feature dimension must be >= 1, got \(dimension)")
        }
        guard features.count % dimension == 0 else {
            throw EvaluationError(.shapeMismatch,
                "\(name): \(features.count) values is not a multiple of the dimension \(dimension)")
        }
        let count = features.count / dimension
        if count == 0 && !allowEmpty {
            throw EvaluationError(.emptyInput, "\(name): no samples")
        }
        if let bad = features.firstIndex(where: { !$0.isFinite }) {
            throw EvaluationError(.nonFinite,
                "\(name): value \(features[bad]) at row \(bad / dimension), column \(bad % dimension)")
        }
        return count
    }

    /// Validates that `labels` has one entry per sample and every label is in 0..<classCount.
    public static func validateLabels(_ labels: [Int], count: Int, classCount: Int, name: String) throws {
        guard labels.count == count else {
            throw EvaluationError(.shapeMismatch, "\(name): \(labels.count) labels for \(count) samples")
        }
        if let bad = labels.first(where: { $0 < 0 || $0 >= classCount }) {
            throw EvaluationError(.invalidArgument, "\(name): label \(bad) outside 0..<\(classCount)")
        }
    }

    /// The class count implied by `labels` (largest label + 1), or `explicit` when given.
    static func classCount(explicit: Int?, _ labelSets: [Int]...) throws -> Int {
        if let explicit {
            guard explicit >= 1 else {
                throw EvaluationError(.invalidArgument, "class count must be >= 1, got \(explicit)")
            }
            return explicit
        }
        let largest = labelSets.compactMap { $0.max() }.max() ?? -1
        guard largest >= 0 else {
            throw EvaluationError(.invalidArgument, "cannot infer a class count from empty or negative labels")
        }
        return largest + 1
    }

    /// Rows scaled to unit L2 norm (as `F.normalize`: divides by max(norm, 1e-12)); [N, D] -> [N, D].
    public static func l2Normalized(_ features: [Float], dimension: Int) -> [Float] {
        var out = features
        l2Normalize(&out, dimension: dimension)
        return out
    }

    /// In-place version of `l2Normalized`; norms are accumulated in Double so long rows stay exact.
    public static func l2Normalize(_ features: inout [Float], dimension: Int) {
        guard dimension > 0 else { return }
        let rows = features.count / dimension
        features.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            parallelRanges(count: rows, minimumPerTask: 512) { range in
                for row in range {
                    let p = base + row * dimension
                    var sum: Double = 0
                    for j in 0..<dimension { sum += Double(p[j]) * Double(p[j]) }
                    let scale = Float(1 / max(sum.squareRoot(), 1e-12))
                    for j in 0..<dimension { p[j] *= scale }
                }
            }
        }
    }
}
