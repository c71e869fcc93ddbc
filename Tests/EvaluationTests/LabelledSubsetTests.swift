import Testing
@testable import Evaluation

/// Class-balanced, seeded labelled subsets.
@Suite struct LabelledSubsetTests {
    // 10 classes × 500 samples, interleaved, plus one small class (label 10, 30 samples).
    let labels = (0..<5000).map { $0 % 10 } + [Int](repeating: 10, count: 30)

    func perClass(_ indices: [Int]) -> [Int: Int] {
        var counts: [Int: Int] = [:]
        for i in indices { counts[labels[i], default: 0] += 1 }
        return counts
    }

    @Test func onePercentAndTenPercentAreBalanced() throws {
        let one = try LabelledSubset.select(labels: labels, fraction: 0.01, seed: 1)
        let counts = perClass(one)
        for c in 0..<10 { #expect(counts[c] == 5) }
        #expect(counts[10] == 1)  // round(0.3) = 0, raised to the minimum of 1
        #expect(one.count == 51)
        let ten = try LabelledSubset.select(labels: labels, fraction: 0.1, seed: 1)
        #expect(ten.count == 10 * 50 + 3)
        #expect(ten == ten.sorted() && Set(ten).count == ten.count)
    }

    @Test func seededAndSeedDependent() throws {
        let a = try LabelledSubset.select(labels: labels, fraction: 0.1, seed: 7)
        let b = try LabelledSubset.select(labels: labels, fraction: 0.1, seed: 7)
        let c = try LabelledSubset.select(labels: labels, fraction: 0.1, seed: 8)
        #expect(a == b)
        #expect(a != c)
        // 1 % of a seed is not simply a prefix of the labels: it spreads over the class.
        #expect(try LabelledSubset.select(labels: labels, fraction: 0.01, seed: 7).last! > 1000)
    }

    @Test func perClassCountsAndSpecifications() throws {
        let subset = try LabelledSubset.select(labels: labels, perClass: 20, seed: 2)
        #expect(perClass(subset).values.allSatisfy { $0 == 20 })
        #expect(try LabelledSubset.select(labels: labels, specification: "10%", seed: 3)
                == LabelledSubset.select(labels: labels, fraction: 0.1, seed: 3))
        #expect(try LabelledSubset.select(labels: labels, specification: "20/class", seed: 2) == subset)
        #expect(try LabelledSubset.select(labels: labels, specification: "0.5", seed: 2).count == 2515)
        #expect(try LabelledSubset.select(labels: labels, fraction: 1, seed: 2) == Array(labels.indices))
    }

    @Test func badRequestsThrow() {
        #expect(throws: EvaluationError.self) { try LabelledSubset.select(labels: labels, fraction: 0, seed: 0) }
        #expect(throws: EvaluationError.self) { try LabelledSubset.select(labels: labels, fraction: 1.5, seed: 0) }
        #expect(throws: EvaluationError.self) { try LabelledSubset.select(labels: labels, perClass: 31, seed: 0) }
        #expect(throws: EvaluationError.self) { try LabelledSubset.select(labels: labels, perClass: 0, seed: 0) }
        #expect(throws: EvaluationError.self) { try LabelledSubset.select(labels: [], fraction: 0.1, seed: 0) }
        #expect(throws: EvaluationError.self) { try LabelledSubset.select(labels: labels, specification: "ten", seed: 0) }
    }
}
