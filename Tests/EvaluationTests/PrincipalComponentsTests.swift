import Foundation
import Randomness
import Testing
@testable import Evaluation

/// PCA against data whose principal axes are known by construction, and against the
/// eigen-equation itself.
@Suite struct PrincipalComponentsTests {
    /// Points a·u + b·v + noise with sd(a) = 3, sd(b) = 1, sd(noise) = 0.05, u ⟂ v unit vectors in 6-D.
    static func planted(count: Int) -> (features: [Float], u: [Double], v: [Double]) {
        let u = [1.0, 2, 0, -1, 0, 1].map { $0 / 7.0.squareRoot() }
        let v = [0.0, 1, 1, 2, 0, 0].map { $0 / 6.0.squareRoot() }   // u·v = 0
        var generator = SeededGenerator(seed: 3)
        var features: [Float] = []
        for _ in 0..<count {
            let (a, b) = (3 * generator.normal(), generator.normal())
            for d in 0..<6 { features.append(Float(a * u[d] + b * v[d] + 0.05 * generator.normal())) }
        }
        return (features, u, v)
    }

    @Test func recoversPlantedAxesAndVariances() throws {
        let (x, u, v) = Self.planted(count: 4000)
        let pca = try PrincipalComponents(features: x, dimension: 6)
        func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
        #expect(abs(abs(dot(pca.axes[0], u)) - 1) < 1e-3 && abs(abs(dot(pca.axes[1], v)) - 1) < 1e-3)
        #expect(abs(dot(pca.axes[0], pca.axes[1])) < 1e-9)
        #expect(abs(pca.variances[0] - 9) < 0.6 && abs(pca.variances[1] - 1) < 0.1)
        #expect(abs(pca.totalVariance - (9 + 1 + 6 * 0.0025)) < 0.7)
        // Sign convention: each axis's largest-magnitude coordinate is positive.
        for axis in pca.axes { #expect(axis[axis.indices.max { abs(axis[$0]) < abs(axis[$1]) }!] > 0) }
    }

    @Test func axesSatisfyTheEigenEquationAndProjectionIsCentred() throws {
        var generator = SeededGenerator(seed: 5)
        let (count, dimension) = (300, 5)
        let x = (0..<(count * dimension)).map { i in Float(generator.normal() * Double(1 + i % dimension)) }
        let pca = try PrincipalComponents(features: x, dimension: dimension, components: 3)
        // The plain covariance, then C·v = λ·v for every axis.
        var mean = [Double](repeating: 0, count: dimension)
        for r in 0..<count { for d in 0..<dimension { mean[d] += Double(x[r * dimension + d]) / Double(count) } }
        for (axis, variance) in zip(pca.axes, pca.variances) {
            for i in 0..<dimension {
                var cv = 0.0
                for j in 0..<dimension {
                    var c = 0.0
                    for r in 0..<count { c += (Double(x[r * dimension + i]) - mean[i]) * (Double(x[r * dimension + j]) - mean[j]) }
                    cv += c / Double(count - 1) * axis[j]
                }
                #expect(abs(cv - variance * axis[i]) < 1e-6 * max(1, variance), "axis component \(i)")
            }
        }
        #expect(zip(pca.variances, pca.variances.dropFirst()).allSatisfy { $0 >= $1 })
        let projected = pca.project(x, dimension: dimension)
        for component in 0..<3 {
            let values = projected.map { $0[component] }
            let m = values.reduce(0, +) / Double(count)
            let variance = values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(count - 1)
            #expect(abs(m) < 1e-9 && abs(variance - pca.variances[component]) < 1e-6 * pca.variances[component])
        }
    }

    @Test func refusesTooFewSamplesOrComponents() {
        #expect(throws: EvaluationError.self) { try PrincipalComponents(features: [1, 2], dimension: 2) }
        #expect(throws: EvaluationError.self) { try PrincipalComponents(features: [1, 2, 3, 4], dimension: 2, components: 3) }
    }
}
