import Foundation
import Testing
@testable import Methods

/// The JSON written by scripts/make_odc_fixtures.py (mmselfsup's ODC steps in float64 numpy).
struct ODCFixtures: Decodable {
    struct Config: Decodable {
        var count: Int, dimension: Int, clusters: Int, batch: Int, momentum: Float, min_cluster: Int, centroid_interval: Int
        var reweight_power: Float
    }
    struct Start: Decodable { var features: [Float], labels: [Int32], memory: [Double], centroids: [Double], loss_weights: [Double] }
    struct Head: Decodable { var weight: [Float], bias: [Float] }
    struct Step: Decodable {
        var indices: [Int], features: [Float], targets: [Int32], loss_weights: [Double], loss: Double
        var grad_features: [Double], grad_weight: [Double], grad_bias: [Double]
        var memory: [Double], labels_after_update: [Int32], change_ratio: Double
        var small_clusters: [Int], labels: [Int32], centroids: [Double], next_loss_weights: [Double], counts: [Int]
    }
    var config: Config, start: Start, head: Head, steps: [Step]

    /// Reads the fixture beside this file.
    static func load() throws -> ODCFixtures {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/odc_fixtures.json")
        return try JSONDecoder().decode(ODCFixtures.self, from: Data(contentsOf: url))
    }
}

/// Largest absolute difference between two equally long arrays.
func largestDifference(_ a: [Float], _ b: [Double]) -> Double {
    precondition(a.count == b.count, "lengths differ: \(a.count) and \(b.count)")
    return zip(a, b).map { abs(Double($0) - $1) }.max() ?? 0
}

/// ODC against the canonical code's steps: start, loss and gradients, memory and labels,
/// centroids, small clusters (dissolution and 2-means split), class weights.
@Suite struct ODCTests {
    @Test func matchesTheCanonicalStepsOfMmselfsup() throws {
        let f = try ODCFixtures.load()
        var options = ODCConfig()
        options.clusters = f.config.clusters
        options.minimumClusterSize = f.config.min_cluster
        options.centroidInterval = f.config.centroid_interval
        options.memoryMomentum = f.config.momentum
        options.reweightPower = f.config.reweight_power
        let odc = try OnlineDeepClustering(config: options, datasetSize: f.config.count, dimension: f.config.dimension, seed: 0)
        try odc.start(fromFeatures: f.start.features, labels: f.start.labels)
        #expect(largestDifference(odc.bank.storage, f.start.memory) < 1e-5)
        #expect(largestDifference(odc.clusters.centroids, f.start.centroids) < 1e-5)
        #expect(largestDifference(odc.classWeights, f.start.loss_weights) < 1e-5)
        try odc.head.weight.assign(from: .init(shape: odc.head.weight.shape, values: f.head.weight))
        try odc.head.bias.assign(from: .init(shape: odc.head.bias.shape, values: f.head.bias))
        for (n, step) in f.steps.enumerated() {
            odc.head.weight.grad = nil
            odc.head.bias.grad = nil
            #expect(step.indices.map { odc.clusters.labels[$0] } == step.targets, "step \(n)")
            let out = try odc.computeLoss(features: step.features, indices: step.indices, epoch: 1)
            #expect(abs(Double(out.loss) - step.loss) < 1e-5, "step \(n)")
            #expect(largestDifference(out.gradient, step.grad_features) < 1e-5, "step \(n)")
            #expect(largestDifference(odc.head.weight.grad!.toArray(), step.grad_weight) < 1e-5, "step \(n)")
            #expect(largestDifference(odc.head.bias.grad!.toArray(), step.grad_bias) < 1e-5, "step \(n)")
            let changed = try odc.moveMemory(features: step.features, indices: step.indices)
            #expect(largestDifference(odc.bank.storage, step.memory) < 1e-5, "step \(n)")
            #expect(odc.clusters.labels == step.labels_after_update, "step \(n)")
            #expect(abs(Double(changed) / Double(step.indices.count) - step.change_ratio) < 1e-12, "step \(n)")
            odc.afterIteration()
            #expect(odc.clusters.labels == step.labels, "step \(n)")
            #expect(odc.clusters.counts == step.counts, "step \(n)")
            #expect(largestDifference(odc.clusters.centroids, step.centroids) < 1e-5, "step \(n)")
            #expect(largestDifference(odc.classWeights, step.next_loss_weights) < 1e-5, "step \(n)")
        }
    }

    /// The head's loss gradient against central differences of its own loss: dL/df, dL/dW and
    /// dL/db. The head starts from random weights and bias of order 1 (its N(0, 0.01) start
    /// would make dL/df tiny), and each gradient is held to 0.5 % of its largest finite
    /// difference, so a small gradient is not waved through by an absolute tolerance.
    @Test func headGradientsMatchFiniteDifferences() throws {
        let head = ClusterHead(dimension: 3, clusters: 4, seed: 5)
        let w: [Float] = [0.8, -0.5, 0.3, -0.9, 0.4, 0.7, 0.2, 1.1, -0.6, 0.5, -0.3, -0.8]
        let bias: [Float] = [0.3, -0.2, 0.1, 0.4]
        try head.weight.assign(from: .init(shape: [4, 3], values: w))
        try head.bias.assign(from: .init(shape: [4], values: bias))
        head.weight.grad = nil
        head.bias.grad = nil
        let f: [Float] = [0.3, -1.2, 0.5, 0.9, 0.1, -0.4, -0.7, 0.6, 1.0]
        let targets: [Int32] = [2, 0, 2], weights: [Float] = [0.1, 0.2, 0.3, 0.4]
        let (_, df) = head.weightedCrossEntropy(features: f, targets: targets, classWeights: weights)
        let dw = try #require(head.weight.grad).toArray(), db = try #require(head.bias.grad).toArray()
        func loss(_ x: [Float]) -> Float { head.weightedCrossEntropy(features: x, targets: targets, classWeights: weights).loss }
        let h: Float = 1e-2
        /// Central differences of the loss in each entry of `values`, which `set` installs.
        func differences(_ values: [Float], _ set: ([Float]) throws -> Void) throws -> [Float] {
            var out: [Float] = []
            for i in values.indices {
                var up = values, down = values
                up[i] += h; down[i] -= h
                try set(up)
                let lossUp = loss(f)
                try set(down)
                let lossDown = loss(f)
                out.append((lossUp - lossDown) / (2 * h))
            }
            try set(values)
            return out
        }
        var numericF: [Float] = []
        for i in f.indices {
            var up = f, down = f
            up[i] += h; down[i] -= h
            numericF.append((loss(up) - loss(down)) / (2 * h))
        }
        let numericW = try differences(w) { try head.weight.assign(from: .init(shape: [4, 3], values: $0)) }
        let numericB = try differences(bias) { try head.bias.assign(from: .init(shape: [4], values: $0)) }
        for (name, analytic, numeric) in [("dL/df", df, numericF), ("dL/dW", dw, numericW), ("dL/db", db, numericB)] {
            #expect(analytic.count == numeric.count, "\(name)")
            let scale = numeric.map(abs).max() ?? 0
            #expect(scale > 0.01, "\(name): the differences are too small to test against")
            for (i, (a, n)) in zip(analytic, numeric).enumerated() {
                #expect(abs(a - n) <= 5e-3 * scale, "\(name)[\(i)]: analytic \(a), numeric \(n)")
            }
        }
    }

    /// Bad options are refused naming the option: K above N, a minimum size above N/K, a
    /// momentum outside (0, 1].
    @Test func refusesOptionsOutOfRange() {
        func make(_ change: (inout ODCConfig) -> Void) throws {
            var c = ODCConfig()
            change(&c)
            _ = try OnlineDeepClustering(config: c, datasetSize: 1000, dimension: 8, seed: 0)
        }
        #expect(throws: MethodsError.invalidConfiguration("--clusters 2000 is larger than the number of training images (1000)")) { try make { $0.clusters = 2000 } }
        #expect(throws: MethodsError.self) { try make { $0.clusters = 100; $0.minimumClusterSize = 11 } }
        #expect(throws: MethodsError.self) { try make { $0.memoryMomentum = 0 } }
        #expect(throws: MethodsError.self) { try make { $0.centroidInterval = 0 } }
        #expect(throws: Never.self) { try make { $0.clusters = 100; $0.minimumClusterSize = 10 } }
    }
}
