import Foundation
import Testing
@testable import Methods
import Tensors

/// The JSON written by scripts/make_darling_fixtures.py (the formulation of docs/methods.md in
/// float64 numpy, gradients checked there by central differences).
struct DARLINGFixtures: Decodable {
    struct Config: Decodable {
        var count: Int, dimension: Int, batch: Int, temperature: Float, momentum: Float, domain_weight: Float, learning_rate: Float
        var raw_domains: [Int32], dense_domains: [Int32]
    }
    struct Start: Decodable { var bank: [Float], weight: [Float], bias: [Float] }
    struct Step: Decodable {
        var indices: [Int], features: [Float], loss: Double, darling: Double, domain: Double
        var grad_features: [Double], grad_weight: [Double], grad_bias: [Double], bank_after: [Double]
    }
    var config: Config, start: Start, steps: [Step]

    /// Reads the fixture beside this file.
    static func load() throws -> DARLINGFixtures {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/darling_fixtures.json")
        return try JSONDecoder().decode(DARLINGFixtures.self, from: Data(contentsOf: url))
    }
}

/// DARLING against its numpy transcription, its gradients against finite differences, and its
/// refusals.
@Suite struct DARLINGTests {
    /// A method from the fixture's options with its starting bank and head.
    static func method(_ f: DARLINGFixtures) throws -> DARLING {
        var config = DARLINGConfig()
        config.domainWeight = f.config.domain_weight
        var bankConfig = NPIDConfig()
        bankConfig.temperature = f.config.temperature
        bankConfig.momentum = f.config.momentum
        let m = try DARLING(config: config, bankConfig: bankConfig, trainingDomains: f.config.raw_domains,
                            datasetSize: f.config.count, dimension: f.config.dimension, seed: 1)
        try m.bank.restore(f.start.bank)
        try m.head.weight.assign(from: Tensor(shape: m.head.weight.shape, values: f.start.weight))
        try m.head.bias.assign(from: Tensor(shape: m.head.bias.shape, values: f.start.bias))
        return m
    }

    /// Three steps of loss, terms, dL/df, head gradients, plain SGD on the head and the bank
    /// update agree with numpy to 1e-5; the raw domains (0, 2, 3) become 0, 1, 2.
    @Test func matchesTheNumpyTranscription() throws {
        let f = try DARLINGFixtures.load()
        let m = try Self.method(f)
        #expect(m.domains == f.config.dense_domains && m.domainCount == 3)
        for (s, step) in f.steps.enumerated() {
            m.head.weight.grad = nil; m.head.bias.grad = nil
            let out = try m.computeLoss(features: step.features, indices: step.indices, epoch: 1)
            #expect(abs(Double(out.loss) - step.loss) < 1e-5, "step \(s) loss")
            #expect(abs(Double(out.terms[0]) - step.darling) < 1e-5 && abs(Double(out.terms[1]) - step.domain) < 1e-5, "step \(s) terms")
            #expect(largestDifference(out.gradient, step.grad_features) < 1e-5, "step \(s) dL/df")
            let dW = m.head.weight.grad!.toArray(), dBias = m.head.bias.grad!.toArray()
            #expect(largestDifference(dW, step.grad_weight) < 1e-5, "step \(s) dL/dW")
            #expect(largestDifference(dBias, step.grad_bias) < 1e-5, "step \(s) dL/dβ")
            let lr = f.config.learning_rate
            try m.head.weight.assign(from: Tensor(shape: m.head.weight.shape, values: zip(m.head.weight.toArray(), dW).map { $0 - lr * $1 }))
            try m.head.bias.assign(from: Tensor(shape: m.head.bias.shape, values: zip(m.head.bias.toArray(), dBias).map { $0 - lr * $1 }))
            _ = try m.finishStep(features: step.features, indices: step.indices, records: [])
            #expect(largestDifference(m.bank.storage, step.bank_after) < 1e-5, "step \(s) bank")
        }
    }

    /// dL/df (head input held fixed, as the loss treats it) against float32 central differences
    /// of the loss; the head's gradients against those of λ·L_domain, the term it learns from.
    @Test func gradientsMatchFiniteDifferences() throws {
        let f = try DARLINGFixtures.load()
        let m = try Self.method(f)
        let step = f.steps[0], k = m.domainCount, d = f.config.dimension
        let v = l2NormalizeRows(step.features, rows: step.indices.count, dimension: d).v
        func evaluate(_ x: [Float], weight: [Float], bias: [Float]) throws -> DARLINGLossOutput {
            try DARLINGLoss.evaluate(features: x, indices: step.indices, bank: m.bank, domains: m.domains, domainCount: k,
                                     headWeight: weight, headBias: bias, temperature: f.config.temperature,
                                     domainWeight: f.config.domain_weight, headInput: v)
        }
        let w = f.start.weight, b = f.start.bias
        let out = try evaluate(step.features, weight: w, bias: b)
        let h: Float = 1e-2
        func central(_ x: [Float], _ loss: ([Float]) throws -> Float) throws -> [Float] {
            try x.indices.map { i in
                var up = x, down = x
                up[i] += h; down[i] -= h
                return (try loss(up) - loss(down)) / (2 * h)
            }
        }
        let df = try central(step.features) { try evaluate($0, weight: w, bias: b).loss }
        // The head learns from λ·L_domain only (the mixture term takes p(d|q) as given weights).
        let lambda = f.config.domain_weight
        let dW = try central(w) { lambda * (try evaluate(step.features, weight: $0, bias: b).domain) }
        let dBias = try central(b) { lambda * (try evaluate(step.features, weight: w, bias: $0).domain) }
        #expect(largestDifference(out.gradient, df.map(Double.init)) < 2e-3)
        #expect(largestDifference(out.headWeightGradient, dW.map(Double.init)) < 2e-3)
        #expect(largestDifference(out.headBiasGradient, dBias.map(Double.init)) < 2e-3)
    }

    /// `computeLoss` leaves the bank alone (the data-parallel rule); diagnostics come by name.
    @Test func computeLossKeepsTheStateAndCountsTheHead() throws {
        let f = try DARLINGFixtures.load()
        let m = try Self.method(f)
        let before = m.bank.storage
        let out = try m.computeLoss(features: f.steps[0].features, indices: f.steps[0].indices, epoch: 1)
        #expect(m.bank.storage == before)
        #expect(m.lossTermNames == ["darling", "domain"])
        let diagnostics = m.epochDiagnostics(epoch: 1, counts: out.counts)
        #expect(Set(diagnostics.keys) == ["domain_accuracy", "domain_entropy", "domain_own_probability"])
        #expect((0...1).contains(diagnostics["domain_accuracy"]!) && diagnostics["domain_entropy"]! <= log(3.0) + 1e-9)
    }

    /// No domains, one domain, labels of the wrong count and options out of range are refused.
    @Test func refusesMissingDomainsAndOptionsOutOfRange() {
        func make(domains: [Int32]?, n: Int = 4, _ change: (inout DARLINGConfig, inout NPIDConfig) -> Void = { _, _ in }) throws {
            var config = DARLINGConfig(), bank = NPIDConfig()
            change(&config, &bank)
            _ = try DARLING(config: config, bankConfig: bank, trainingDomains: domains, datasetSize: n, dimension: 3, seed: 0)
        }
        #expect(throws: MethodsError.self) { try make(domains: nil) }
        #expect(throws: MethodsError.self) { try make(domains: [1, 1, 1, 1]) }
        #expect(throws: MethodsError.self) { try make(domains: [0, 1, 0]) }
        #expect(throws: MethodsError.self) { try make(domains: [0, 1, -1, 0]) }
        #expect(throws: MethodsError.self) { try make(domains: [0, 1, 0, 1]) { c, _ in c.domainWeight = -1 } }
        #expect(throws: MethodsError.self) { try make(domains: [0, 1, 0, 1]) { c, _ in c.domainWeight = .nan } }
        #expect(throws: MethodsError.self) { try make(domains: [0, 1, 0, 1]) { c, _ in c.domainWeight = 101 } }
        #expect(throws: MethodsError.self) { try make(domains: [0, 1, 0, 1]) { _, b in b.temperature = 0 } }
        #expect(throws: MethodsError.self) { try make(domains: [0, 1, 0, 1]) { _, b in b.momentum = 1 } }
        #expect(throws: Never.self) { try make(domains: [0, 1, 0, 1]) { c, _ in c.domainWeight = 0 } }
    }
}
