import Foundation
import Testing
@testable import Methods

/// The supervised reference: its loss is the plain mean cross-entropy against the images' own
/// labels, its gradient matches finite differences, it counts what it names correctly, and it
/// refuses labels it cannot use.
@Suite struct SupervisedReferenceTests {
    static let labels: [Int32] = [0, 2, 1, 2, 0, 1]

    static func method() throws -> SupervisedReference {
        try SupervisedReference(labels: labels, classCount: 3, datasetSize: labels.count, dimension: 4, seed: 9)
    }

    /// −mean log softmax(f·Wᵀ + b)[y], written out in float64 without the head's code.
    static func plainCrossEntropy(_ m: SupervisedReference, features f: [Float], indices: [Int]) -> Double {
        let w = m.head.weight.toArray().map(Double.init), b = m.head.bias.toArray().map(Double.init)
        var total = 0.0
        for (r, i) in indices.enumerated() {
            let z = (0..<3).map { c in b[c] + (0..<4).reduce(0.0) { $0 + Double(f[r * 4 + $1]) * w[c * 4 + $1] } }
            let logSum = log(z.map { exp($0) }.reduce(0, +))
            total += logSum - z[Int(labels[i])]
        }
        return total / Double(indices.count)
    }

    @Test func lossIsTheMeanCrossEntropyAgainstTheImagesLabels() throws {
        let m = try Self.method()
        var rng = TestRNG(seed: 4)
        let indices = [5, 1, 3], f = (0..<12).map { _ in 3 * rng.float() }
        let out = try m.computeLoss(features: f, indices: indices, epoch: 1)
        #expect(abs(Double(out.loss) - Self.plainCrossEntropy(m, features: f, indices: indices)) < 1e-5)
        #expect(out.terms == [out.loss] && m.lossTermNames == ["cross_entropy"])
        #expect(m.head.weight.grad != nil, "the classifier's gradient is accumulated for the optimizer")
        let h: Float = 1e-2
        for i in f.indices {
            var up = f, down = f
            up[i] += h; down[i] -= h
            let numeric = (Self.plainCrossEntropy(m, features: up, indices: indices) - Self.plainCrossEntropy(m, features: down, indices: indices)) / Double(2 * h)
            #expect(abs(numeric - Double(out.gradient[i])) < 1e-3, "dL/df[\(i)]")
        }
    }

    /// A classifier set to read the label off the features names every image; the epoch's
    /// accuracy is correct / seen.
    @Test func countsTheImagesItNamesCorrectly() throws {
        let m = try Self.method()
        var w = [Float](repeating: 0, count: 12)
        for c in 0..<3 { w[c * 4 + c] = 1 }
        try m.head.weight.assign(from: .init(shape: [3, 4], values: w))
        let indices = [0, 1, 2, 3]
        var f = [Float](repeating: 0, count: 16)
        for (r, i) in indices.enumerated() { f[r * 4 + Int(Self.labels[i])] = 5 }
        f[3 * 4 + 0] = 9   // the fourth image (label 2) looks like class 0
        let out = try m.computeLoss(features: f, indices: indices, epoch: 1)
        #expect(out.counts["correct"] == 3 && out.counts["seen"] == 4)
        #expect(m.epochDiagnostics(epoch: 1, counts: out.counts)["train_accuracy"] == 0.75)
        #expect(m.stateTensors().isEmpty && m.memoryBank == nil && m.module != nil)
    }

    @Test func refusesLabelsItCannotUse() {
        #expect(throws: MethodsError.invalidConfiguration("supervised: the dataset has no class labels to train with")) {
            try SupervisedReference(labels: nil, classCount: nil, datasetSize: 6, dimension: 4, seed: 0)
        }
        #expect(throws: MethodsError.invalidConfiguration("supervised: label 3 outside 0..<3")) {
            try SupervisedReference(labels: [0, 3], classCount: 3, datasetSize: 2, dimension: 4, seed: 0)
        }
        #expect(throws: MethodsError.invalidConfiguration("supervised: 2 labels for 6 training images")) {
            try SupervisedReference(labels: [0, 1], classCount: 3, datasetSize: 6, dimension: 4, seed: 0)
        }
        #expect(throws: MethodsError.self) { try SupervisedReference(labels: [0, 0], classCount: 1, datasetSize: 2, dimension: 4, seed: 0) }
    }

    /// Only a method whose registry entry asks for labels is given them.
    @Test func theRegistryMarksTheOnlyMethodThatUsesLabels() {
        #expect(MethodRegistry.entries.filter(\.usesLabels).map(\.name) == ["supervised"])
    }
}
