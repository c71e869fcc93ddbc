import Foundation
import Randomness
import Testing
@testable import Methods

/// The JSON written by scripts/make_coke_fixtures.py (idstcv/CoKe's single-view steps in float64 numpy).
struct CoKeFixtures: Decodable {
    struct Config: Decodable {
        var count: Int, dimension: Int, clusters: [Int], batch: Int, temperature: Float, dual_lr: Float, ratio: Float, beta: Float
    }
    struct Initial: Decodable { var centres: [[Float]], assignments: [[Int32]] }
    struct Step: Decodable {
        var indices: [Int], encoder: [Float], predictor: [Float], targets: [[Int32]], assigned: [[Int32]], loss: Double
        var grad_encoder: [Double], grad_predictor: [Double]
        var duals: [[Double]], counters: [[Double]], current_centres: [[Double]], previous_centres: [[Double]]
    }
    struct End: Decodable {
        var previous_centres: [[Double]], current_centres: [[Double]], counters: [[Double]], duals: [[Double]], assignments: [[Int32]]
    }
    struct Epoch: Decodable { var epoch: Int, steps: [Step], end: End }
    var config: Config, initial: Initial, epochs: [Epoch]

    /// Reads the fixture beside this file.
    static func load() throws -> CoKeFixtures {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/coke_fixtures.json")
        return try JSONDecoder().decode(CoKeFixtures.self, from: Data(contentsOf: url))
    }
}

/// CoKe's online assignment, dual and centre updates, targets and loss against the authors'
/// steps, driven as `CoKe.computeLoss` drives them.
@Suite struct CoKeTests {
    @Test func matchesTheAuthorsSteps() throws {
        let f = try CoKeFixtures.load()
        let d = f.config.dimension
        var generator = SeededGenerator(seed: 0)
        var heads = f.config.clusters.enumerated().map { j, k in
            var head = ConstrainedClusters(clusterCount: k, dimension: d, datasetSize: f.config.count, generator: &generator)
            head.previousCentres = f.initial.centres[j]
            head.currentCentres = f.initial.centres[j]
            head.assignments = f.initial.assignments[j]
            return head
        }
        for epoch in f.epochs {
            for (n, step) in epoch.steps.enumerated() {
                let b = step.indices.count
                let xp = l2NormalizeRows(step.encoder, rows: b, dimension: d).v
                var targets: [[Int32]] = []
                for j in heads.indices {
                    let previous = step.indices.map { heads[j].assignments[$0] }
                    let labels = heads[j].assign(xp)
                    #expect(labels == step.assigned[j], "epoch \(epoch.epoch) step \(n) head \(j)")
                    heads[j].update(xp, labels: labels, dualRate: f.config.dual_lr, ratio: f.config.ratio)
                    for (i, label) in zip(step.indices, labels) { heads[j].assignments[i] = label }
                    targets.append(epoch.epoch == 0 ? labels : previous)
                    #expect(largestDifference(heads[j].duals, step.duals[j]) < 1e-5)
                    #expect(largestDifference(heads[j].counters, step.counters[j]) < 1e-12)
                    #expect(largestDifference(heads[j].currentCentres, step.current_centres[j]) < 1e-5)
                }
                #expect(targets == step.targets, "epoch \(epoch.epoch) step \(n)")
                let out = CoKeLoss.evaluate(encoder: step.encoder, predictor: step.predictor, heads: heads, targets: targets,
                                            temperature: f.config.temperature, beta: f.config.beta)
                #expect(abs(Double(out.loss) - step.loss) < 1e-4, "epoch \(epoch.epoch) step \(n)")
                #expect(largestDifference(out.gradEncoder, step.grad_encoder) < 1e-4)
                #expect(largestDifference(out.gradPredictor, step.grad_predictor) < 1e-4)
            }
            for j in heads.indices { heads[j].finishEpoch() }
            for j in heads.indices {
                #expect(largestDifference(heads[j].previousCentres, epoch.end.previous_centres[j]) < 1e-5)
                #expect(heads[j].counters.allSatisfy { $0 == 0 })
                #expect(heads[j].assignments == epoch.end.assignments[j])
            }
        }
    }

    /// CoKe's dL/df includes the predictor's backward pass (and the encoder norm's, when on):
    /// central differences of the whole loss through fresh layers (float32, loose tolerance).
    @Test(arguments: [false, true])
    func gradientThroughThePredictorMatchesFiniteDifferences(encoderNorm: Bool) throws {
        var options = CoKeConfig()
        options.clusters = [3]
        options.beta = 0.5
        options.predictorWidth = 6
        options.encoderNorm = encoderNorm   // with it, both terms also pass through the batch norm
        let f: [Float] = [0.3, -1.2, 0.5, 0.9, 0.1, -0.4, 1.1, 0.2, -0.7, 0.6, 0.8, -0.3]   // [4, 3]
        func fresh() throws -> CoKe { try CoKe(config: options, datasetSize: 4, dimension: 3, backboneWidth: 6, seed: 3) }
        let analytic = try fresh().computeLoss(features: f, indices: [0, 1, 2, 3], epoch: 1).gradient
        let h: Float = 1e-2
        for i in f.indices {
            var up = f, down = f
            up[i] += h; down[i] -= h
            let lossUp = try fresh().computeLoss(features: up, indices: [0, 1, 2, 3], epoch: 1).loss
            let lossDown = try fresh().computeLoss(features: down, indices: [0, 1, 2, 3], epoch: 1).loss
            #expect(abs((lossUp - lossDown) / (2 * h) - analytic[i]) < 5e-3, "f[\(i)]")
        }
    }

    /// Bad options are refused naming the option.
    @Test func refusesOptionsOutOfRange() {
        func make(_ change: (inout CoKeConfig) -> Void) throws {
            var c = CoKeConfig()
            change(&c)
            _ = try CoKe(config: c, datasetSize: 500, dimension: 8, backboneWidth: 16, seed: 0)
        }
        #expect(throws: MethodsError.invalidConfiguration("--coke-clusters 600 is larger than the number of training images (500)")) {
            try make { $0.clusters = [10, 600] }
        }
        #expect(throws: MethodsError.self) { try make { $0.ratio = 1 } }
        #expect(throws: MethodsError.self) { try make { $0.ratio = 0 } }
        #expect(throws: MethodsError.self) { try make { $0.beta = 1.5 } }
        #expect(throws: MethodsError.self) { try make { $0.clusters = [] } }
        #expect(throws: Never.self) { try make { $0.clusters = [10, 20] } }
    }
}
