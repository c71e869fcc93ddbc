import Collectives
import Foundation
import Testing
import Training
@testable import Models
@testable import NN
@testable import Tensors

/// A sum over one replica (the values themselves).
private final class Alone: ReplicaSum {
    func sum(_ values: inout [Double]) {}
}

/// Synchronised batch norm inside a whole network (blocked layouts, fused ReLU).
@Suite struct SyncBatchNormNetworkTests {
    static let config = ResNetConfig(depth: 18, stem: .cifar, inputChannels: 1, width: 0.25, head: .linear, outputDimension: 8)

    /// Deterministic images [count, 1, 28, 28] and output weights [count, 8].
    static func data(count: Int) -> (images: [Float], weights: [Float]) {
        var state: UInt64 = 5
        func next() -> Float { state = state &* 6364136223846793005 &+ 1442695040888963407; return Float((state >> 40) & 0xFFFFFF) / 16777216 - 0.5 }
        let images = (0..<(count * 28 * 28)).map { _ in next() }
        return (images, (0..<(count * 8)).map { _ in next() })
    }

    /// Forward in training mode and backward of L = mean over the batch of Σ y·w; returns the
    /// output, every parameter gradient and every buffer.
    static func step(_ model: ResNet, images: [Float], weights: [Float], count: Int) throws -> [[Float]] {
        let (_, y) = try model(try Tensor(shape: [count, 1, 28, 28], values: images), training: true)
        try y.backward(seed: try Tensor(shape: y.shape, values: weights.map { $0 / Float(count) }))
        return [y.toArray()] + model.namedParameters.map { $0.1.grad!.toArray() } + model.namedBuffers.map { $0.1.toArray() }
    }

    /// Largest difference relative to the reference's largest magnitude.
    static func relativeDifference(_ a: [Float], _ reference: [Float]) -> Float {
        let scale = max(reference.map(abs).max() ?? 0, 1e-6)
        return (zip(a, reference).map { abs($0 - $1) }.max() ?? 0) / scale
    }

    /// With one replica, a ResNet whose batch norms are synchronised computes the same outputs,
    /// parameter gradients and running statistics as the plain one.
    @Test func oneReplicaNetworkEqualsPlain() throws {
        let (images, weights) = Self.data(count: 8)
        func run(sync: Bool) throws -> [[Float]] {
            let model = try ResNet(Self.config, seed: 3)
            if sync { for norm in model.batchNorms { norm.replicaSum = Alone() } }
            return try Self.step(model, images: images, weights: weights, count: 8)
        }
        let synced = try run(sync: true), plain = try run(sync: false)
        for (part, (a, c)) in zip(synced, plain).enumerated() {
            #expect(Self.relativeDifference(a, c) <= 1e-4, "part \(part)")
        }
    }

    /// Two replicas on two threads, each with half of a batch of 8: their outputs are the whole
    /// batch's, the mean of their gradients is the whole batch's, and their running statistics
    /// are the whole batch's, to 1e-4 of each tensor's scale. (A random-initialised ResNet's
    /// gradients can be ill-conditioned in fp32: at some batch sizes a 1e-6 change of the input
    /// moves them by percents. The test first checks that its reference is not such a case.)
    @Test func twoReplicasEqualTheWholeBatch() throws {
        let (images, weights) = Self.data(count: 8)
        let reference = try Self.step(try ResNet(Self.config, seed: 3), images: images, weights: weights, count: 8)
        let nudged = try Self.step(try ResNet(Self.config, seed: 3), images: images.map { $0 * (1 + 1e-6) }, weights: weights, count: 8)
        let conditioning = zip(nudged, reference).map { Self.relativeDifference($0, $1) }.max() ?? 0
        try #require(conditioning < 2e-5, "the reference moves by \(conditioning) for a 1e-6 change of its input: choose other test data")
        let group = ThreadGroup(size: 2)
        let box = ReplicaResults()
        for rank in 0..<2 {
            Thread {
                do {
                    let model = try ResNet(Self.config, seed: 3)
                    model.synchroniseBatchNorms(over: group.member(rank))
                    box.set(rank, try Self.step(model, images: Array(images[rank * 4 * 784..<(rank + 1) * 4 * 784]),
                                                weights: Array(weights[rank * 32..<(rank + 1) * 32]), count: 4))
                } catch { box.set(rank, []) }
            }.start()
        }
        let parts = box.wait(for: 2)
        try #require(parts.allSatisfy { !$0.isEmpty })
        let parameters = 1...(try ResNet(Self.config, seed: 3).namedParameters.count)   // the gradients' parts
        for part in reference.indices {
            let combined: [Float]
            if part == 0 { combined = parts[0][0] + parts[1][0] }
            else if parameters.contains(part) { combined = zip(parts[0][part], parts[1][part]).map { ($0 + $1) / 2 } }
            else { combined = parts[0][part]; #expect(parts[0][part] == parts[1][part], "buffer \(part) differs between replicas") }
            #expect(Self.relativeDifference(combined, reference[part]) <= 1e-4, "part \(part)")
        }
    }
}

/// Results handed from replica threads to the test.
final class ReplicaResults: @unchecked Sendable {
    private let condition = NSCondition()
    private var values: [Int: [[Float]]] = [:]

    func set(_ rank: Int, _ value: [[Float]]) {
        condition.lock(); values[rank] = value; condition.broadcast(); condition.unlock()
    }

    func wait(for count: Int) -> [[[Float]]] {
        condition.lock(); defer { condition.unlock() }
        while values.count < count { condition.wait() }
        return (0..<count).map { values[$0]! }
    }
}
