import Foundation
import Randomness
import Testing
@testable import Evaluation

/// Weighted kNN on hand-made features whose answers can be worked out on paper.
@Suite struct KNNTests {
    // Train: 2-d unit vectors at known angles; class 0 near +x, class 1 near +y, class 2 near -x.
    let train: [Float] = [
        1, 0,        // 0: class 0
        0.8, 0.6,    // 1: class 0
        0, 1,        // 2: class 1
        0.6, 0.8,    // 3: class 1
        -1, 0,       // 4: class 2
    ]
    let trainLabels = [0, 0, 1, 1, 2]

    @Test func nearestNeighboursAreOrderedWithTiesByIndex() throws {
        // Query (1, 1)/√2 is equally similar to rows 1 and 3 (0.7√2 each) and to rows 0 and 2.
        let result = try NearestNeighbors.search(queries: [1, 1], database: train, dimension: 2, k: 4)
        #expect(result.count == 1)
        // Rows 1 and 3 tie on paper (float rounding may order them either way); rows 0 and 2 tie
        // exactly and the lower index comes first.
        #expect(Set(result[0].prefix(2).map(\.index)) == [1, 3])
        #expect(result[0].suffix(2).map(\.index) == [0, 2])
        #expect(abs(result[0][0].similarity - 1.4 / Float(2).squareRoot()) < 1e-6)
    }

    @Test func knownAnswerWithKOne() throws {
        // Each query's nearest neighbour decides: (1, 0.1) -> row 0, (0.1, 1) -> row 2, (-1, 0.2) -> row 4.
        let knn = WeightedKNN(k: 1)
        let report = try knn.evaluate(train: train, trainLabels: trainLabels,
                                      test: [1, 0.1, 0.1, 1, -1, 0.2], testLabels: [0, 1, 0],
                                      dimension: 2)
        #expect(report.predictions == [0, 1, 2])
        #expect(abs(report.top1 - 2.0 / 3.0) < 1e-12)
        #expect(report.top5 == 1)  // 3 classes: top-5 is top-3, always a hit
        #expect(report.topKRank == 3)
        #expect(report.perClassCorrect == [1, 1, 0])
        #expect(report.perClassTotal == [2, 1, 0])
    }

    @Test func scoresAreSumsOfExponentialWeights() throws {
        // K larger than N: every training row votes. Query (1, 0).
        let knn = WeightedKNN(k: 50, temperature: 0.5)
        let scores = try knn.classScores(train: train, trainLabels: trainLabels, test: [2, 0],
                                         dimension: 2, classCount: 3)
        let expected: [Float] = [exp(1 / 0.5) + exp(0.8 / 0.5), exp(0 / 0.5) + exp(0.6 / 0.5), exp(-1 / 0.5)]
        for c in 0..<3 { #expect(abs(scores[c] - expected[c]) < 1e-5 * expected[c]) }
    }

    @Test func weightedVoteBeatsMajority() throws {
        // Two far class-1 neighbours vs one very close class-0 neighbour: with a small σ the close one wins.
        let train: [Float] = [1, 0, 0.5, 0.866, 0.5, -0.866]
        let labels = [0, 1, 1]
        let close = try WeightedKNN(k: 3, temperature: 0.07).evaluate(
            train: train, trainLabels: labels, test: [1, 0.01], testLabels: [0], dimension: 2)
        #expect(close.predictions == [0])
        let flat = try WeightedKNN(k: 3, temperature: 100).evaluate(
            train: train, trainLabels: labels, test: [1, 0.01], testLabels: [0], dimension: 2)
        #expect(flat.predictions == [1])
    }

    @Test func tiedClassScoresGoToLowerClass() throws {
        // Query (1, 1) has identical similarity to (1, 0) [class 1] and (0, 1) [class 0].
        let report = try WeightedKNN(k: 2).evaluate(train: [1, 0, 0, 1], trainLabels: [1, 0],
                                                    test: [1, 1], testLabels: [0], dimension: 2)
        #expect(report.predictions == [0])
    }

    @Test func resultsDoNotDependOnChunkSize() throws {
        var generator = SeededGenerator(seed: 7)
        let d = 16, nTrain = 300, nTest = 70, classes = 7
        let trainFeatures = (0..<(nTrain * d)).map { _ in generator.gaussian() }
        let testFeatures = (0..<(nTest * d)).map { _ in generator.gaussian() }
        let trainLabels = (0..<nTrain).map { $0 % classes }
        let testLabels = (0..<nTest).map { ($0 * 3) % classes }
        let reference = try WeightedKNN(k: 20, chunkSize: 1000).evaluate(
            train: trainFeatures, trainLabels: trainLabels, test: testFeatures, testLabels: testLabels,
            dimension: d)
        for chunk in [1, 7, 64, 69, 70, 71] {
            let report = try WeightedKNN(k: 20, chunkSize: chunk).evaluate(
                train: trainFeatures, trainLabels: trainLabels, test: testFeatures, testLabels: testLabels,
                dimension: d)
            #expect(report.predictions == reference.predictions, "chunk \(chunk)")
            #expect(report.top1 == reference.top1 && report.top5 == reference.top5, "chunk \(chunk)")
        }
        // And against a brute-force reference: full sort of every row.
        let neighbours = try NearestNeighbors.search(queries: testFeatures, database: trainFeatures,
                                                     dimension: d, k: 20, chunkSize: 13)
        let q = FeatureMatrix.l2Normalized(testFeatures, dimension: d)
        let t = FeatureMatrix.l2Normalized(trainFeatures, dimension: d)
        for i in 0..<nTest {
            let sims: [Float] = (0..<nTrain).map { j in (0..<d).reduce(0) { $0 + q[i * d + $1] * t[j * d + $1] } }
            let order = (0..<nTrain).sorted { sims[$0] > sims[$1] || (sims[$0] == sims[$1] && $0 < $1) }
            // Compare the sets of the first 18 (float rounding may swap near-ties at the boundary).
            #expect(Set(neighbours[i].prefix(18).map(\.index)) == Set(order.prefix(18)), "row \(i)")
        }
    }

    @Test func topFiveCountsTheFifthButNotTheSixthClass() throws {
        // Six classes, one training vector each, at angles 0°, 10°, …, 50° from the query (1, 0):
        // class c is the (c+1)-th most similar, so label 4 is a top-5 hit and label 5 is not.
        let train: [Float] = (0..<6).flatMap { c -> [Float] in
            let angle = Float(c) * 10 * .pi / 180
            return [cos(angle), sin(angle)]
        }
        let report = try WeightedKNN(k: 6).evaluate(train: train, trainLabels: [0, 1, 2, 3, 4, 5],
                                                    test: [1, 0, 1, 0], testLabels: [4, 5], dimension: 2)
        #expect(report.topKRank == 5)
        #expect(report.predictions == [0, 0])
        #expect(report.top1 == 0 && report.top5 == 0.5)
    }

    @Test func badInputsThrowClearErrors() {
        let knn = WeightedKNN()
        #expect(throws: EvaluationError.self) {
            try knn.evaluate(train: [1, 0, 0], trainLabels: [0], test: [1, 0], testLabels: [0], dimension: 2)
        }
        #expect(throws: EvaluationError.self) {
            try knn.evaluate(train: [1, 0], trainLabels: [0, 1], test: [1, 0], testLabels: [0], dimension: 2)
        }
        #expect(throws: EvaluationError.self) {
            try WeightedKNN(k: 0).evaluate(train: [1, 0], trainLabels: [0], test: [1, 0], testLabels: [0], dimension: 2)
        }
        #expect(throws: EvaluationError.self) {
            try knn.evaluate(train: [], trainLabels: [], test: [1, 0], testLabels: [0], dimension: 2)
        }
        #expect(throws: EvaluationError.self) {
            try knn.evaluate(train: [1, 0], trainLabels: [0], test: [], testLabels: [], dimension: 2)
        }
        #expect(throws: EvaluationError.self) {
            try knn.evaluate(train: [1, .nan], trainLabels: [0], test: [1, 0], testLabels: [0], dimension: 2)
        }
        do {
            _ = try WeightedKNN(k: 0).evaluate(train: [1, 0], trainLabels: [0], test: [1, 0], testLabels: [0],
                                               dimension: 2)
        } catch let error as EvaluationError {
            #expect(error.kind == .invalidArgument)
            #expect(error.description.contains("K must be >= 1"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }
}
