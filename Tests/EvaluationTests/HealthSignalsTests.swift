import Foundation
import Randomness
import Testing
@testable import Evaluation

/// The label-free health signals on embeddings whose answers are known: a collapse, an
/// isotropic cloud, a cloud confined to a few directions, identical and unrelated views.
@Suite struct HealthSignalsTests {
    /// n rows of Gaussian noise in the first `used` of d dimensions (the rest zero).
    func cloud(_ n: Int, dimension d: Int, used: Int, seed: UInt64) -> [Float] {
        var g = SeededGenerator(seed: seed)
        return (0..<n * d).map { $0 % d < used ? Float(g.normal()) : 0 }
    }

    @Test func jacobiFindsKnownEigenvalues() {
        // [[2, 1], [1, 2]] has eigenvalues 1 and 3; a diagonal matrix keeps its diagonal.
        #expect(HealthMeasure.symmetricEigenvalues([2, 1, 1, 2], size: 2).sorted().map { ($0 * 1e9).rounded() / 1e9 } == [1, 3])
        let diagonal = HealthMeasure.symmetricEigenvalues([5, 0, 0, 0, -1, 0, 0, 0, 2], size: 3).sorted()
        #expect(diagonal == [-1, 2, 5])
        // A random symmetric matrix: the eigenvalues sum to the trace and their squares to the
        // squared Frobenius norm.
        var g = SeededGenerator(seed: 3)
        let n = 12
        var m = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in i..<n { let v = g.normal(); m[i * n + j] = v; m[j * n + i] = v } }
        let values = HealthMeasure.symmetricEigenvalues(m, size: n)
        let trace = (0..<n).reduce(0.0) { $0 + m[$1 * n + $1] }
        #expect(abs(values.reduce(0, +) - trace) < 1e-9)
        #expect(abs(values.reduce(0) { $0 + $1 * $1 } - m.reduce(0) { $0 + $1 * $1 }) < 1e-9)
    }

    @Test func collapseAndIsotropyAreTold() throws {
        let d = 16
        let collapsed = (0..<200 * d).map { $0 % d == 3 ? Float(1) : 0 }
        let bad = try HealthMeasure.measure(collapsed, dimension: d, views: nil, previous: nil).signals
        #expect(bad.spread < 1e-6 && bad.effectiveRank == 1 && abs(bad.uniformity) < 1e-9)
        #expect(bad.collapseWarning != nil)
        let isotropic = try HealthMeasure.measure(cloud(2000, dimension: d, used: d, seed: 1), dimension: d, views: nil, previous: nil).signals
        #expect(abs(isotropic.spread - 1) < 0.05 && isotropic.effectiveRank > 14 && isotropic.uniformity < -3)
        #expect(isotropic.collapseWarning == nil)
        let flat = try HealthMeasure.measure(cloud(2000, dimension: d, used: 3, seed: 2), dimension: d, views: nil, previous: nil).signals
        #expect(flat.effectiveRank > 2.5 && flat.effectiveRank <= 3.01)
    }

    @Test func alignmentAndStabilityCompareWhatTheyShould() throws {
        let d = 8
        let z = cloud(100, dimension: d, used: d, seed: 4)
        let first = try HealthMeasure.measure(z, dimension: d, views: (z, z), previous: nil)
        #expect(first.signals.alignment == 0 && first.signals.neighbourStability == nil)
        #expect(first.neighbours.count == 100 * 10)
        let again = try HealthMeasure.measure(z, dimension: d, views: (z, cloud(100, dimension: d, used: d, seed: 5)), previous: first.neighbours)
        #expect(again.signals.neighbourStability == 1)
        #expect(again.signals.alignment! > 1.5 && again.signals.alignment! < 2.5)   // unrelated unit vectors: E‖a − b‖² = 2
        let other = try HealthMeasure.measure(cloud(100, dimension: d, used: d, seed: 6), dimension: d, views: nil, previous: first.neighbours)
        #expect(other.signals.neighbourStability! < 0.3)
    }
}
