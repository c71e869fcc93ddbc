import Foundation
import Methods
import Randomness
import Testing
@testable import Evaluation

/// Hungarian matching, NMI / ARI / cluster accuracy, and k-means.
@Suite struct ClusteringTests {
    /// Minimum cost over all injective maps of rows into columns (rows ≤ columns), by brute force.
    func bruteForceMinimum(_ cost: [Double], rows: Int, columns: Int) -> Double {
        var best = Double.infinity
        var used = [Bool](repeating: false, count: columns)
        func recurse(_ row: Int, _ sum: Double) {
            if row == rows { best = min(best, sum); return }
            for c in 0..<columns where !used[c] {
                used[c] = true
                recurse(row + 1, sum + cost[row * columns + c])
                used[c] = false
            }
        }
        recurse(0, 0)
        return best
    }

    @Test func hungarianMatchesBruteForce() throws {
        var generator = SeededGenerator(seed: 11)
        for trial in 0..<200 {
            let rows = 1 + generator.int(below: 6)
            let columns = 1 + generator.int(below: 6)
            // Integer costs make ties common, which is where matching bugs hide.
            let cost = (0..<(rows * columns)).map { _ in Double(generator.int(below: 10)) }
            let assignment = try Hungarian.minimumCost(cost, rows: rows, columns: columns)
            let expected: Double
            if rows <= columns {
                expected = bruteForceMinimum(cost, rows: rows, columns: columns)
            } else {
                var transposed = [Double](repeating: 0, count: cost.count)
                for r in 0..<rows { for c in 0..<columns { transposed[c * rows + r] = cost[r * columns + c] } }
                expected = bruteForceMinimum(transposed, rows: columns, columns: rows)
            }
            #expect(abs(assignment.total - expected) < 1e-9, "trial \(trial) \(rows)x\(columns)")
            let matched = assignment.columnForRow.compactMap { $0 }
            #expect(matched.count == min(rows, columns))
            #expect(Set(matched).count == matched.count, "columns used twice")
        }
    }

    @Test func hungarianMaximisesWeight() throws {
        let weight: [Double] = [1, 9, 3,
                                8, 2, 7]
        let assignment = try Hungarian.maximumWeight(weight, rows: 2, columns: 3)
        #expect(assignment.columnForRow == [1, 0])
        #expect(assignment.total == 17)
        #expect(throws: EvaluationError.self) { try Hungarian.minimumCost([1, 2, 3], rows: 2, columns: 2) }
        #expect(throws: EvaluationError.self) { try Hungarian.minimumCost([1, .nan], rows: 1, columns: 2) }
    }

    @Test func permutedLabelingScoresOne() throws {
        let classes = [0, 0, 1, 1, 2, 2, 2, 3]
        let clusters = classes.map { [7, 3, 5, 9][$0] }
        let scores = try ClusteringMetrics.scores(classes: classes, clusters: clusters)
        #expect(abs(scores.nmi - 1) < 1e-12)
        #expect(abs(scores.ari - 1) < 1e-12)
        #expect(scores.accuracy == 1)
        #expect(scores.clusterToClass == [7: 0, 3: 1, 5: 2, 9: 3])
    }

    @Test func smallExampleMatchesHandFormulas() throws {
        // classes [0,0,0,1,1,1], clusters [0,0,1,1,2,2]: contingency [[2,1,0],[0,1,2]].
        let classes = [0, 0, 0, 1, 1, 1]
        let clusters = [0, 0, 1, 1, 2, 2]
        // MI = Σ n_ij/N log(N n_ij / (a_i b_j)) = 4·(2/6)·log(6·2/(3·2))·½ ... written out:
        let mi = 2 * (2.0 / 6 * log(6.0 * 2 / (3 * 2))) + 2 * (1.0 / 6 * log(6.0 * 1 / (3 * 2)))
        let hClasses = log(2.0)
        let hClusters = log(3.0)
        let nmi = try ClusteringMetrics.normalizedMutualInformation(classes: classes, clusters: clusters)
        #expect(abs(nmi - mi / ((hClasses + hClusters) / 2)) < 1e-12)
        // ARI: Σ C(n_ij,2) = 2, Σ C(a_i,2) = 6, Σ C(b_j,2) = 3, C(6,2) = 15;
        // expected = 6·3/15 = 1.2, max = 4.5 → (2 − 1.2) / (4.5 − 1.2) = 0.2424…
        let ari = try ClusteringMetrics.adjustedRandIndex(classes: classes, clusters: clusters)
        #expect(abs(ari - 0.8 / 3.3) < 1e-12)
        // Best map: cluster 0 → class 0 (2), cluster 2 → class 1 (2): 4 of 6.
        #expect(abs(try ClusteringMetrics.clusterAccuracy(classes: classes, clusters: clusters) - 4.0 / 6) < 1e-12)
    }

    @Test func degenerateLabelings() throws {
        // One group on both sides: sklearn's convention is NMI = ARI = 1.
        #expect(try ClusteringMetrics.normalizedMutualInformation(classes: [1, 1, 1], clusters: [4, 4, 4]) == 1)
        #expect(try ClusteringMetrics.adjustedRandIndex(classes: [1, 1, 1], clusters: [4, 4, 4]) == 1)
        // One cluster for two classes: no information.
        #expect(try ClusteringMetrics.normalizedMutualInformation(classes: [0, 0, 1, 1], clusters: [0, 0, 0, 0]) == 0)
        #expect(try ClusteringMetrics.adjustedRandIndex(classes: [0, 0, 1, 1], clusters: [0, 0, 0, 0]) == 0)
        // More clusters than classes: extra clusters count as wrong.
        #expect(try ClusteringMetrics.clusterAccuracy(classes: [0, 0, 1, 1], clusters: [0, 1, 2, 3]) == 0.5)
        #expect(throws: EvaluationError.self) { try ClusteringMetrics.scores(classes: [0, 1], clusters: [0]) }
        #expect(throws: EvaluationError.self) { try ClusteringMetrics.scores(classes: [], clusters: []) }
    }

    @Test(.enabled(if: pythonWithNumpy, "needs python3 with numpy and scipy on PATH"))
    func matchesScipyAndSklearnFormulasOnRandomLabelings() throws {
        var generator = SeededGenerator(seed: 5)
        let classes = (0..<300).map { _ in generator.int(below: 6) }
        let clusters = (0..<300).map { i in generator.uniform() < 0.6 ? classes[i] : generator.int(below: 8) }
        let scores = try ClusteringMetrics.scores(classes: classes, clusters: clusters)
        // Hand NMI / ARI from the contingency table and cluster accuracy with scipy's assignment.
        let script = """
        import numpy as np
        from scipy.optimize import linear_sum_assignment
        y = np.array(\(classes)); c = np.array(\(clusters)); n = len(y)
        _, yi = np.unique(y, return_inverse=True); _, ci = np.unique(c, return_inverse=True)
        t = np.zeros((yi.max() + 1, ci.max() + 1)); np.add.at(t, (yi, ci), 1)
        a = t.sum(1); b = t.sum(0); nz = t > 0
        mi = (t[nz] / n * np.log(n * t[nz] / np.outer(a, b)[nz])).sum()
        h = lambda p: -(p / n * np.log(p / n)).sum()
        nmi = mi / ((h(a) + h(b)) / 2)
        comb = lambda x: (x * (x - 1) / 2).sum()
        e = comb(a) * comb(b) / (n * (n - 1) / 2)
        ari = (comb(t) - e) / ((comb(a) + comb(b)) / 2 - e)
        r, k = linear_sum_assignment(-t)
        print(repr(float(nmi)), repr(float(ari)), repr(float(t[r, k].sum() / n)))
        """
        guard let result = runPython(script), result.status == 0 else {
            Issue.record("python failed: \(runPython(script)?.output ?? "")")
            return
        }
        let values = result.output.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Double($0) }
        #expect(values.count == 3)
        guard values.count == 3 else { return }
        #expect(abs(scores.nmi - values[0]) < 1e-9)
        #expect(abs(scores.ari - values[1]) < 1e-9)
        #expect(abs(scores.accuracy - values[2]) < 1e-12)
    }

    @Test func kMeansRecoversSeparatedBlobs() throws {
        var generator = SeededGenerator(seed: 3)
        let dimension = 8, k = 5, perBlob = 80
        let centres = (0..<(k * dimension)).map { _ in generator.gaussian() * 20 }
        var features: [Float] = []
        var labels: [Int] = []
        for i in 0..<(k * perBlob) {
            let blob = (i * 7) % k
            labels.append(blob)
            for j in 0..<dimension { features.append(centres[blob * dimension + j] + generator.gaussian()) }
        }
        let result = try KMeans(clusterCount: k, restarts: 3, seed: 1).fit(features, dimension: dimension)
        let scores = try ClusteringMetrics.scores(classes: labels, clusters: result.assignments)
        #expect(scores.accuracy == 1)
        #expect(abs(scores.nmi - 1) < 1e-12 && abs(scores.ari - 1) < 1e-12)
        // Inertia ≈ N·D·σ² = 400·8·1 for unit noise around the true centres.
        #expect(result.inertia > 2500 && result.inertia < 4000, "inertia \(result.inertia)")
        #expect(result.centroids.count == k * dimension)
        // Reproducible from the seed.
        let again = try KMeans(clusterCount: k, restarts: 3, seed: 1).fit(features, dimension: dimension)
        #expect(again == result)
    }

    @Test func kMeansEdgeCasesAndErrors() throws {
        // k = N: every point its own centroid, zero inertia (duplicate-free data).
        let points: [Float] = [0, 0, 1, 0, 0, 1, 5, 5]
        let result = try KMeans(clusterCount: 4).fit(points, dimension: 2)
        #expect(Set(result.assignments).count == 4)
        #expect(result.inertia < 1e-9)
        // All points equal: no crash, zero inertia.
        let same = try KMeans(clusterCount: 2).fit([1, 1, 1, 1, 1, 1], dimension: 2)
        #expect(same.inertia == 0)
        #expect(throws: MethodsError.self) { try KMeans(clusterCount: 0).fit(points, dimension: 2) }
        #expect(throws: MethodsError.self) { try KMeans(clusterCount: 5).fit(points, dimension: 2) }
        #expect(throws: MethodsError.self) { try KMeans(clusterCount: 1).fit([], dimension: 2) }
        #expect(throws: MethodsError.self) { try KMeans(clusterCount: 1, restarts: 0).fit(points, dimension: 2) }
    }
}
