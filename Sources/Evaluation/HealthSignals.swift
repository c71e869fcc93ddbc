import Foundation

/// Label-free signals of how an embedding is doing, measured on a fixed sample of training
/// images every epoch: whether it is collapsing (spread, effective rank), how evenly it covers
/// the sphere and how invariant it is to the augmentation (Wang and Isola, ICML 2020), and
/// whether each image keeps its neighbours from one epoch to the next.
public struct HealthSignals: Codable, Equatable, Sendable {
    /// √D × the mean over dimensions of the standard deviation across samples of the normalised
    /// embeddings: about 1 when they spread evenly over the sphere, 0 when they collapse to a point.
    public var spread: Double
    /// exp(entropy of the normalised singular values) of the centred normalised embeddings, in
    /// [1, D] (Roy and Vetterli 2007): how many directions the embeddings really use.
    public var effectiveRank: Double
    /// log mean exp(−2‖z_i − z_j‖²) over the pairs of the sample: lower is more uniform (−4 is
    /// the least possible, reached by antipodal points; 0 is a collapse).
    public var uniformity: Double
    /// mean ‖z(x) − z(x′)‖² over two augmented views of the same images: lower is more invariant
    /// (0 to 4); nil when no views were measured.
    public var alignment: Double?
    /// The share of each sample's k nearest neighbours (within the sample) that were also its
    /// neighbours at the last measurement; nil the first time.
    public var neighbourStability: Double?

    /// Signals as measured.
    public init(spread: Double, effectiveRank: Double, uniformity: Double, alignment: Double? = nil, neighbourStability: Double? = nil) {
        self.spread = spread; self.effectiveRank = effectiveRank; self.uniformity = uniformity
        self.alignment = alignment; self.neighbourStability = neighbourStability
    }

    /// The signals as diagnostics by name (`health_spread`, …), as `metrics.jsonl` records them.
    public var diagnostics: [String: Double] {
        var out = ["health_spread": spread, "health_effective_rank": effectiveRank, "health_uniformity": uniformity]
        out["health_alignment"] = alignment
        out["health_neighbour_stability"] = neighbourStability
        return out
    }

    /// A warning for the user when the signals say the embedding is collapsing, with what to try; nil when healthy.
    public var collapseWarning: String? {
        guard spread < 0.1 || effectiveRank < 2 else { return nil }
        return String(format: "the embeddings are collapsing (spread %.3f, effective rank %.2f; healthy runs stay near 1 and well above 2): "
                      + "try a lower --lr, a higher --temperature, or a longer --lr-warmup", spread, effectiveRank)
    }
}

/// The computations behind `HealthSignals`, on row-major [N, D] embeddings (normalised inside).
public enum HealthMeasure {
    /// All signals for embeddings z: [N, D]; `views` are two augmented views' embeddings of the
    /// same M images ([M, D] each) and `previous` the last measurement's neighbour lists.
    /// Returns the signals and this measurement's neighbour lists, [N × k].
    public static func measure(_ z: [Float], dimension d: Int, views: (first: [Float], second: [Float])?, previous: [Int32]?,
                               neighbours k: Int = 10) throws -> (signals: HealthSignals, neighbours: [Int32]) {
        let count = try FeatureMatrix.validate(z, dimension: d, name: "health sample")
        let unit = FeatureMatrix.l2Normalized(z, dimension: d)
        let lists = try neighbourLists(unit, dimension: d, k: min(k, count - 1))
        var signals = HealthSignals(spread: spread(unit, count: count, dimension: d),
                                    effectiveRank: effectiveRank(unit, count: count, dimension: d),
                                    uniformity: uniformity(unit, count: count, dimension: d))
        if let views {
            signals.alignment = alignment(FeatureMatrix.l2Normalized(views.first, dimension: d),
                                          FeatureMatrix.l2Normalized(views.second, dimension: d), dimension: d)
        }
        if let previous, previous.count == lists.count { signals.neighbourStability = stability(previous: previous, current: lists, k: min(k, count - 1)) }
        return (signals, lists)
    }

    /// √D × mean over dimensions of the standard deviation (over rows) of unit rows u: [N, D].
    static func spread(_ u: [Float], count n: Int, dimension d: Int) -> Double {
        let meanStd = moments(u, count: n, dimension: d).variance.reduce(0) { $0 + $1.squareRoot() } / Double(d)
        return meanStd * Double(d).squareRoot()
    }

    /// Per-dimension mean and (population) variance of u: [N, D].
    static func moments(_ u: [Float], count n: Int, dimension d: Int) -> (mean: [Double], variance: [Double]) {
        var mean = [Double](repeating: 0, count: d), squares = [Double](repeating: 0, count: d)
        for r in 0..<n { for c in 0..<d { let x = Double(u[r * d + c]); mean[c] += x; squares[c] += x * x } }
        let variance = (0..<d).map { max(squares[$0] / Double(n) - (mean[$0] / Double(n)) * (mean[$0] / Double(n)), 0) }
        return (mean.map { $0 / Double(n) }, variance)
    }

    /// exp(H(p)) with p the singular values of the centred u: [N, D] divided by their sum.
    static func effectiveRank(_ u: [Float], count n: Int, dimension d: Int) -> Double {
        let (mean, _) = moments(u, count: n, dimension: d)
        var gram = [Double](repeating: 0, count: d * d)   // Σ (u − mean)ᵀ(u − mean), [D, D]
        var row = [Double](repeating: 0, count: d)
        for r in 0..<n {
            for c in 0..<d { row[c] = Double(u[r * d + c]) - mean[c] }
            for i in 0..<d where row[i] != 0 { for j in i..<d { gram[i * d + j] += row[i] * row[j] } }
        }
        for i in 0..<d { for j in 0..<i { gram[i * d + j] = gram[j * d + i] } }
        let singular = symmetricEigenvalues(gram, size: d).map { max($0, 0).squareRoot() }
        let total = singular.reduce(0, +)
        guard total > 0 else { return 1 }
        let entropy = singular.reduce(0.0) { h, s in s > 0 ? h - (s / total) * log(s / total) : h }
        return exp(entropy)
    }

    /// log mean over pairs i < j of exp(−2‖u_i − u_j‖²) for unit rows (‖u_i − u_j‖² = 2 − 2 u_i·u_j).
    static func uniformity(_ u: [Float], count n: Int, dimension d: Int) -> Double {
        guard n >= 2 else { return 0 }
        var sum = 0.0
        for i in 0..<n {
            for j in (i + 1)..<n {
                var dot: Float = 0
                for c in 0..<d { dot += u[i * d + c] * u[j * d + c] }
                sum += exp(-2 * (2 - 2 * Double(dot)))
            }
        }
        return log(sum / Double(n * (n - 1) / 2))
    }

    /// mean ‖a_i − b_i‖² over the rows of two [M, D] sets of unit rows.
    static func alignment(_ a: [Float], _ b: [Float], dimension d: Int) -> Double {
        let m = a.count / d
        guard m > 0 else { return 0 }
        var total = 0.0
        for (x, y) in zip(a, b) { total += Double((x - y) * (x - y)) }
        return total / Double(m)
    }

    /// Each row's k nearest other rows (cosine), [N × k], best first.
    static func neighbourLists(_ u: [Float], dimension d: Int, k: Int) throws -> [Int32] {
        guard k >= 1 else { return [] }
        let found = try NearestNeighbors.search(queries: u, database: u, dimension: d, k: k + 1, normalize: false)
        return found.enumerated().flatMap { row, list in
            Array(list.filter { $0.index != row }.prefix(k).map { Int32($0.index) })
        }
    }

    /// The share of entries of each current list that also appear in the same row's previous list.
    static func stability(previous: [Int32], current: [Int32], k: Int) -> Double {
        guard k >= 1, !current.isEmpty else { return 1 }
        let rows = current.count / k
        var kept = 0
        for r in 0..<rows {
            let before = Set(previous[r * k..<(r + 1) * k])
            kept += current[r * k..<(r + 1) * k].filter { before.contains($0) }.count
        }
        return Double(kept) / Double(current.count)
    }

    /// Eigenvalues of a symmetric matrix m: [n, n] (cyclic Jacobi rotations until the
    /// off-diagonal is negligible), in no particular order.
    public static func symmetricEigenvalues(_ m: [Double], size n: Int) -> [Double] {
        var a = m
        let scale = max(a.reduce(0) { max($0, abs($1)) }, 1e-300)
        for _ in 0..<60 {
            var off = 0.0
            for i in 0..<n { for j in (i + 1)..<n { off += a[i * n + j] * a[i * n + j] } }
            if off.squareRoot() <= 1e-13 * scale * Double(n) { break }
            for p in 0..<n {
                for q in (p + 1)..<n where abs(a[p * n + q]) > 1e-300 {
                    // The rotation that zeroes a[p, q] (Golub and Van Loan, 8.5.2).
                    let theta = (a[q * n + q] - a[p * n + p]) / (2 * a[p * n + q])
                    let t = (theta >= 0 ? 1 : -1) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<n {
                        let akp = a[k * n + p], akq = a[k * n + q]
                        a[k * n + p] = c * akp - s * akq
                        a[k * n + q] = s * akp + c * akq
                    }
                    for k in 0..<n {
                        let apk = a[p * n + k], aqk = a[q * n + k]
                        a[p * n + k] = c * apk - s * aqk
                        a[q * n + k] = s * apk + c * aqk
                    }
                }
            }
        }
        return (0..<n).map { a[$0 * n + $0] }
    }
}

/// The rule of `--stop-when-stable`: training ends after an epoch (the `minimumEpochs`-th or
/// later) when, over the last `patience` epochs, neighbour stability rose by less than
/// `minimumGain` and uniformity moved by less than `uniformityTolerance`: the embedding's
/// neighbourhoods and spread have stopped changing.
public struct StabilityStoppingRule: Sendable, Equatable {
    /// Epochs over which the signals must have stopped improving.
    public var patience = 2
    /// The rise of neighbour stability over `patience` epochs below which it counts as flat.
    public var minimumGain = 0.01
    /// The change of uniformity over `patience` epochs below which it counts as flat.
    public var uniformityTolerance = 0.02
    /// No stop before this epoch.
    public var minimumEpochs = 3

    /// The rule with its defaults.
    public init() {}

    /// Whether to stop after the last epoch of `history` (one entry per epoch, oldest first);
    /// the reason, for the user, when it does.
    public func decide(_ history: [HealthSignals]) -> String? {
        guard history.count >= max(minimumEpochs, patience + 1), let now = history.last,
              let stability = now.neighbourStability else { return nil }
        let then = history[history.count - 1 - patience]
        guard let earlier = then.neighbourStability else { return nil }
        let gain = stability - earlier, drift = abs(now.uniformity - then.uniformity)
        guard gain < minimumGain, drift < uniformityTolerance else { return nil }
        return String(format: "over the last %d epochs neighbour stability moved by %+.3f (< %.2f) and uniformity by %.3f (< %.2f)",
                      patience, gain, minimumGain, drift, uniformityTolerance)
    }
}
