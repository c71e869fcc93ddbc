/// Principal component analysis of a feature matrix, for the report's 2-D map of the embeddings.
///
/// The covariance C = (X − μ)ᵀ(X − μ) / (N − 1) [D, D] is formed in Double; its leading
/// eigenvectors come from power iteration with deflation (C ← C − λ v vᵀ), each started from a
/// fixed vector, so the result is deterministic. The sign of each axis is fixed so that its
/// largest-magnitude coordinate is positive (as sklearn's `svd_flip` fixes signs by the largest
/// loading), which keeps maps of the same run comparable.
public struct PrincipalComponents: Equatable, Sendable {
    /// Feature mean μ [D].
    public var mean: [Double]
    /// Principal axes, unit vectors [components][D], by decreasing variance.
    public var axes: [[Double]]
    /// The variance along each axis (the eigenvalues of C).
    public var variances: [Double]
    /// The total variance (trace of C): `variances[i] / totalVariance` is the share explained.
    public var totalVariance: Double

    /// Fits `components` axes to `features` [N, D] (N ≥ 2).
    public init(features: [Float], dimension: Int, components: Int = 2, iterations: Int = 500) throws {
        let count = try FeatureMatrix.validate(features, dimension: dimension, name: "features")
        guard count >= 2 else { throw EvaluationError(.emptyInput, "PCA needs at least 2 samples, got \(count)") }
        guard (1...dimension).contains(components) else {
            throw EvaluationError(.invalidArgument, "PCA components must be in 1…\(dimension), got \(components)")
        }
        var mean = [Double](repeating: 0, count: dimension)
        for row in 0..<count { for d in 0..<dimension { mean[d] += Double(features[row * dimension + d]) } }
        for d in 0..<dimension { mean[d] /= Double(count) }
        // covariance [D, D], upper triangle accumulated then mirrored.
        var covariance = [Double](repeating: 0, count: dimension * dimension)
        var centred = [Double](repeating: 0, count: dimension)
        for row in 0..<count {
            for d in 0..<dimension { centred[d] = Double(features[row * dimension + d]) - mean[d] }
            for i in 0..<dimension where centred[i] != 0 {
                for j in i..<dimension { covariance[i * dimension + j] += centred[i] * centred[j] }
            }
        }
        for i in 0..<dimension {
            for j in i..<dimension {
                covariance[i * dimension + j] /= Double(count - 1)
                covariance[j * dimension + i] = covariance[i * dimension + j]
            }
        }
        self.mean = mean
        totalVariance = (0..<dimension).reduce(0) { $0 + covariance[$1 * dimension + $1] }
        axes = []
        variances = []
        for _ in 0..<components {
            let (axis, variance) = Self.leadingEigenvector(covariance, dimension: dimension, iterations: iterations)
            axes.append(axis)
            variances.append(variance)
            for i in 0..<dimension { for j in 0..<dimension { covariance[i * dimension + j] -= variance * axis[i] * axis[j] } }
        }
    }

    /// Coordinates of `features` [N, D] on the axes: [N][components].
    public func project(_ features: [Float], dimension: Int) -> [[Double]] {
        stride(from: 0, to: features.count, by: dimension).map { start -> [Double] in
            axes.map { axis -> Double in
                var sum = 0.0
                for d in 0..<dimension { sum += (Double(features[start + d]) - mean[d]) * axis[d] }
                return sum
            }
        }
    }

    /// The unit eigenvector of the largest eigenvalue of the symmetric positive semi-definite
    /// `matrix` [D, D] and that eigenvalue, by power iteration from a fixed start.
    static func leadingEigenvector(_ matrix: [Double], dimension: Int, iterations: Int) -> ([Double], Double) {
        // A start that no axis is orthogonal to in practice: 1, 1/2, 1/3, … normalised.
        var v = (0..<dimension).map { 1 / Double($0 + 1) }
        normalize(&v)
        var eigenvalue = 0.0
        for _ in 0..<iterations {
            var w = [Double](repeating: 0, count: dimension)
            for i in 0..<dimension { for j in 0..<dimension { w[i] += matrix[i * dimension + j] * v[j] } }
            let norm = (w.reduce(0) { $0 + $1 * $1 }).squareRoot()
            guard norm > 0 else { break }   // nothing left: the remaining variance is zero
            w = w.map { $0 / norm }
            let change = zip(w, v).reduce(0.0) { max($0, abs($1.0 - $1.1)) }
            (v, eigenvalue) = (w, norm)
            if change < 1e-12 { break }
        }
        // Sign convention: the largest-magnitude coordinate is positive.
        if let largest = v.indices.max(by: { abs(v[$0]) < abs(v[$1]) }), v[largest] < 0 { v = v.map { -$0 } }
        return (v, eigenvalue)
    }

    /// Scales `v` to unit length (left as is when zero).
    static func normalize(_ v: inout [Double]) {
        let norm = (v.reduce(0) { $0 + $1 * $1 }).squareRoot()
        if norm > 0 { v = v.map { $0 / norm } }
    }
}
