import Foundation
import Randomness
import Testing
@testable import Evaluation

/// The linear classifier and the fast linear probe on synthetic features.
@Suite struct LinearProbeTests {
    /// Linearly separable data: class c has mean 4·e_c plus unit Gaussian noise in 20 dimensions.
    func separable(count: Int, classes: Int, dimension: Int, seed: UInt64) -> ([Float], [Int]) {
        var generator = SeededGenerator(seed: seed)
        var features: [Float] = []
        var labels: [Int] = []
        for i in 0..<count {
            let label = i % classes
            labels.append(label)
            for j in 0..<dimension { features.append((j == label ? 6 : 0) + generator.gaussian() * 0.7) }
        }
        return (features, labels)
    }

    @Test func reachesNearPerfectAccuracyOnSeparableFeatures() throws {
        let (train, trainLabels) = separable(count: 2000, classes: 10, dimension: 20, seed: 1)
        let (test, testLabels) = separable(count: 1000, classes: 10, dimension: 20, seed: 2)
        for standardize in [false, true] {
            let probe = LinearProbe(learningRate: standardize ? 0.5 : 0.1, epochs: 10, standardize: standardize)
            let (model, report) = try probe.evaluate(train: train, trainLabels: trainLabels, test: test,
                                                     testLabels: testLabels, dimension: 20)
            #expect(report.top1 >= 0.99, "standardize \(standardize): top-1 \(report.top1)")
            #expect(report.top5 >= report.top1)
            #expect(report.perClassAccuracy.allSatisfy { $0 >= 0.95 })
            #expect(model.epochLosses.count == 10)
            #expect(model.epochLosses.last! < model.epochLosses.first!)
        }
    }

    @Test func paperLearningRateStillSeparates() throws {
        // lr 30 (the paper's value) on raw features: large steps, but a stable softmax keeps it finite.
        let (train, trainLabels) = separable(count: 1000, classes: 5, dimension: 20, seed: 3)
        let model = try LinearProbe(epochs: 5).train(features: train, labels: trainLabels, dimension: 20)
        #expect(model.classifier.weights.allSatisfy { $0.isFinite })
        #expect(try model.evaluate(features: train, labels: trainLabels).top1 >= 0.99)
    }

    @Test func scheduleScalesMilestonesToEpochCount() {
        #expect(LinearProbe().milestones == [40, 60, 80])
        #expect(LinearProbe(epochs: 10).milestones == [4, 6, 8])
        let probe = LinearProbe(learningRate: 30, epochs: 100)
        #expect(probe.learningRate(atEpoch: 0) == 30)
        #expect(probe.learningRate(atEpoch: 39) == 30)
        #expect(abs(probe.learningRate(atEpoch: 40) - 6) < 1e-5)
        #expect(abs(probe.learningRate(atEpoch: 60) - 1.2) < 1e-5)
        #expect(abs(probe.learningRate(atEpoch: 99) - 0.24) < 1e-5)
    }

    @Test func trainingIsReproducibleFromTheSeed() throws {
        let (train, labels) = separable(count: 300, classes: 3, dimension: 20, seed: 4)
        let a = try LinearProbe(learningRate: 0.1, epochs: 2, seed: 9).train(features: train, labels: labels, dimension: 20)
        let b = try LinearProbe(learningRate: 0.1, epochs: 2, seed: 9).train(features: train, labels: labels, dimension: 20)
        let c = try LinearProbe(learningRate: 0.1, epochs: 2, seed: 10).train(features: train, labels: labels, dimension: 20)
        #expect(a == b)
        #expect(a.classifier.weights != c.classifier.weights)
    }

    @Test func stepMatchesHandGradient() throws {
        // One sample, 2 classes, 2-d, zero weights: p = (½, ½); with label 0, gz = (−½, ½);
        // gW = gzᵀ x, so W becomes −lr·gW and b becomes −lr·gz.
        var classifier = try LinearClassifier(inputDimension: 2, classCount: 2, momentum: 0.9)
        classifier.weights = [0, 0, 0, 0]
        let loss = try classifier.step(features: [1, 2], labels: [0], lr: 0.1)
        #expect(abs(loss - log(2)) < 1e-6)
        let expected: [Float] = [0.05, 0.1, -0.05, -0.1]
        for i in 0..<4 { #expect(abs(classifier.weights[i] - expected[i]) < 1e-6) }
        #expect(abs(classifier.bias[0] - 0.05) < 1e-6 && abs(classifier.bias[1] + 0.05) < 1e-6)
        // Second step with momentum: v = 0.9·v + g.
        let z = try classifier.logits([1, 2])
        #expect(z.count == 2 && z[0] > z[1])
    }

    @Test func badInputsThrow() throws {
        #expect(throws: EvaluationError.self) { try LinearClassifier(inputDimension: 0, classCount: 2) }
        var classifier = try LinearClassifier(inputDimension: 2, classCount: 2)
        #expect(throws: EvaluationError.self) { try classifier.step(features: [1, 2, 3], labels: [0], lr: 0.1) }
        #expect(throws: EvaluationError.self) { try classifier.step(features: [1, 2], labels: [2], lr: 0.1) }
        #expect(throws: EvaluationError.self) { try classifier.step(features: [1, 2], labels: [0, 1], lr: 0.1) }
        #expect(throws: EvaluationError.self) {
            try LinearProbe(batchSize: 0).train(features: [1, 2], labels: [0], dimension: 2)
        }
        #expect(throws: EvaluationError.self) { try LinearProbe().train(features: [], labels: [], dimension: 2) }
    }
}
