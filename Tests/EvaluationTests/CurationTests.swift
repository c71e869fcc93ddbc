import Foundation
import Randomness
import Testing
@testable import Evaluation

/// `Curator` against plain references: duplicates planted in random embeddings, brute-force
/// neighbours and densities, and a direct transcription of farthest-point selection.
@Suite struct CurationTests {
    /// Random Gaussian features [count, dimension]: unrelated rows have cosine well below 0.9.
    static func randomFeatures(count: Int, dimension: Int, seed: UInt64) -> [Float] {
        var generator = SeededGenerator(seed: seed)
        return (0..<(count * dimension)).map { _ in generator.gaussian() }
    }

    /// Copies row `source` onto row `target`, scaled (cosine unchanged) and nudged by `noise`.
    static func plant(_ x: inout [Float], dimension: Int, source: Int, target: Int, noise: Float, seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        for d in 0..<dimension { x[target * dimension + d] = 3 * x[source * dimension + d] + noise * generator.gaussian() }
    }

    /// Cosine similarities by the definition, in Double.
    static func cosine(_ x: [Float], _ i: Int, _ j: Int, dimension: Int) -> Double {
        var dot = 0.0, a = 0.0, b = 0.0
        for d in 0..<dimension {
            let (u, v) = (Double(x[i * dimension + d]), Double(x[j * dimension + d]))
            dot += u * v; a += u * u; b += v * v
        }
        return dot / (a.squareRoot() * b.squareRoot())
    }

    @Test("planted copies form exactly the expected groups, a chain of near-copies joins transitively")
    func duplicateGroups() throws {
        let (count, dimension) = (200, 16)
        var x = Self.randomFeatures(count: count, dimension: dimension, seed: 1)
        Self.plant(&x, dimension: dimension, source: 5, target: 100, noise: 0, seed: 2)       // exact (scaled) copy
        Self.plant(&x, dimension: dimension, source: 7, target: 150, noise: 0.01, seed: 3)    // near copy
        Self.plant(&x, dimension: dimension, source: 30, target: 31, noise: 0.02, seed: 4)    // a chain 30–31–32
        Self.plant(&x, dimension: dimension, source: 31, target: 32, noise: 0.02, seed: 5)
        let settings = CurationSettings(duplicateThreshold: 0.99, neighbors: 5, subsetSize: 20, regions: 4, perRegion: 3)
        let result = try Curator.curate(features: x, dimension: dimension, settings: settings)
        #expect(result.duplicateGroups == [[30, 31, 32], [5, 100], [7, 150]])
        #expect(result.duplicateGroup[5] == 1 && result.duplicateGroup[150] == 2 && result.duplicateGroup[0] == -1)
        #expect(abs(result.duplicateScore[100] - 1) < 1e-5 && result.duplicateScore[0] == 0)
        #expect(abs(Double(result.duplicateScore[7]) - Self.cosine(x, 7, 150, dimension: dimension)) < 1e-5)
        // Unrelated rows are far below the threshold: no group at all without the plants.
        let clean = Self.randomFeatures(count: count, dimension: dimension, seed: 1)
        #expect(try Curator.curate(features: clean, dimension: dimension, settings: settings).duplicateGroups.isEmpty)
    }

    @Test("an exact copy at a lower row is still a neighbour, and no row is its own neighbour")
    func ownRowExcluded() throws {
        var x = Self.randomFeatures(count: 50, dimension: 8, seed: 6)
        for d in 0..<8 { x[40 * 8 + d] = x[3 * 8 + d] }   // rows 3 and 40 identical: tie at similarity 1
        let x̂ = FeatureMatrix.l2Normalized(x, dimension: 8)
        let lists = try Curator.nearestOthers(x̂, count: 50, dimension: 8, k: 4)
        for (row, list) in lists.enumerated() {
            #expect(list.count == 4 && !list.contains { $0.index == row })
        }
        #expect(lists[40][0].index == 3 && lists[3][0].index == 40)
    }

    @Test("density is the mean cosine to the k nearest other rows (brute force); typical and outliers follow it per region")
    func densityTypicalOutliers() throws {
        let (count, dimension, k) = (120, 6, 7)
        let x = Self.randomFeatures(count: count, dimension: dimension, seed: 8)
        let settings = CurationSettings(duplicateThreshold: 1, neighbors: k, subsetSize: 10, regions: 3, perRegion: 4)
        let result = try Curator.curate(features: x, dimension: dimension, settings: settings)
        for i in 0..<count {
            let others = (0..<count).filter { $0 != i }.map { Self.cosine(x, i, $0, dimension: dimension) }.sorted(by: >)
            let reference = others.prefix(k).reduce(0, +) / Double(k)
            #expect(abs(Double(result.density[i]) - reference) < 1e-5, "row \(i)")
        }
        for region in 0..<3 {
            let members = (0..<count).filter { result.region[$0] == region }
            let byDensity = members.sorted { result.density[$0] > result.density[$1] }
            #expect(result.typical[region] == Array(byDensity.prefix(4)))
            #expect(result.outliers[region] == Array(byDensity.reversed().prefix(4)))
        }
    }

    @Test("farthest-point selection equals a direct transcription; distances never grow")
    func farthestPointsMatchReference() throws {
        let (count, dimension, size) = (150, 5, 25)
        let x = FeatureMatrix.l2Normalized(Self.randomFeatures(count: count, dimension: dimension, seed: 9), dimension: dimension)
        let (rows, distances) = Curator.farthestPoints(x, count: count, dimension: dimension, size: size, start: 17)
        // Reference: at every step, the unselected row whose nearest selected row is farthest.
        var reference = [17], referenceDistances: [Double] = [2]
        while reference.count < size {
            var best = -1, bestDistance = -1.0
            for i in 0..<count where !reference.contains(i) {
                let nearest = reference.map { 1 - Self.cosine(x, i, $0, dimension: dimension) }.min()!
                if nearest > bestDistance + 1e-9 { (best, bestDistance) = (i, nearest) }
            }
            reference.append(best)
            referenceDistances.append(bestDistance)
        }
        #expect(rows == reference)
        for (ours, theirs) in zip(distances, referenceDistances) { #expect(abs(Double(ours) - theirs) < 1e-5) }
        #expect(zip(distances, distances.dropFirst()).allSatisfy { $0 >= $1 })
        #expect(Set(rows).count == size)
    }

    @Test("settings out of range are refused with a message naming the setting")
    func badSettings() throws {
        let x = Self.randomFeatures(count: 10, dimension: 4, seed: 10)
        func message(_ settings: CurationSettings) -> String {
            do { _ = try Curator.curate(features: x, dimension: 4, settings: settings); return "" } catch { return "\(error)" }
        }
        #expect(message(CurationSettings(duplicateThreshold: 1.5, subsetSize: 5, regions: 2)).contains("threshold"))
        #expect(message(CurationSettings(duplicateThreshold: .nan, subsetSize: 5, regions: 2)).contains("threshold"))
        #expect(message(CurationSettings(subsetSize: 11, regions: 2)).contains("folder has 10"))
        #expect(message(CurationSettings(subsetSize: 5, regions: 11)).contains("region count"))
        #expect(message(CurationSettings(neighbors: 0, subsetSize: 5, regions: 2)).contains("neighbour count"))
        #expect(throws: EvaluationError.self) { try Curator.curate(features: [1, 2, 3, 4], dimension: 4, settings: CurationSettings(subsetSize: 1, regions: 1)) }
    }
}
