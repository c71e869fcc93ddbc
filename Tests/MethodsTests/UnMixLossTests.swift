import Foundation
import Testing
@testable import Methods

/// The JSON written by scripts/make_unmix_fixtures.py (the authors' Un-Mix steps in float64 numpy).
struct UnMixFixtures: Decodable {
    struct Images: Decodable { var shape: [Int], values: [Float] }
    struct Global: Decodable { var lambda: Double, mixed: [Double] }
    struct Region: Decodable {
        var lambda_drawn: Double, centre: [Int], cut: [Int], rows: [Int], columns: [Int], lambda: Double, mixed: [Double]
    }
    struct Loss: Decodable {
        var bank: [Float], dimension: Int, tau: Float, lambda: Double, indices: [Int], q: [Float], qm: [Float]
        var clean: Double, mixed: Double, grad_q: [Double], grad_qm: [Double]
    }
    var images: Images, global: Global, region: Region, loss: Loss

    /// Reads the fixture beside this file.
    static func load() throws -> UnMixFixtures {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/unmix_fixtures.json")
        return try JSONDecoder().decode(UnMixFixtures.self, from: Data(contentsOf: url))
    }
}

/// Un-Mix's three-term loss on a memory-bank method, against the authors' steps (fixture), and
/// the rule that only clean features reach the bank.
@Suite struct UnMixLossTests {
    func npid(_ f: UnMixFixtures.Loss) throws -> NPID {
        var options = NPIDConfig()
        options.temperature = f.tau
        let method = try NPID(config: options, datasetSize: f.bank.count / f.dimension, dimension: f.dimension, seed: 0)
        try method.bank.restore(f.bank)
        return method
    }

    @Test func matchesTheAuthorsStepsOnNPID() throws {
        let f = try UnMixFixtures.load().loss
        let out = try UnMixLoss.evaluate(method: try npid(f), clean: f.q, mixed: f.qm, indices: f.indices, epoch: 1,
                                         lambda: f.lambda, dimension: f.dimension)
        #expect(abs(Double(out.clean.loss) - f.clean) < 1e-5 && abs(Double(out.mixedLoss) - f.mixed) < 1e-5)
        for (a, b) in zip(out.clean.gradient, f.grad_q) { #expect(abs(Double(a) - b) < 1e-5, "dL/dq \(a) vs \(b)") }
        for (a, b) in zip(out.mixedGradient, f.grad_qm) { #expect(abs(Double(a) - b) < 1e-5, "dL/dq_m \(a) vs \(b)") }
    }

    /// After the three terms, `finishStep` with the clean outputs leaves the bank and InvP's
    /// neighbour table exactly as a step without Un-Mix would: mixed features never reach them.
    @Test func onlyCleanFeaturesReachTheState() throws {
        let f = try UnMixFixtures.load().loss
        var config = InvPConfig()
        config.backgroundCount = 6; config.neighbourCount = 2; config.hops = 2; config.positiveCount = 3; config.temperature = f.tau
        let n = f.bank.count / f.dimension
        func method() throws -> InvariancePropagation {
            let m = try InvariancePropagation(config: config, datasetSize: n, dimension: f.dimension, seed: 0)
            try m.start(fromFeatures: f.bank)
            return m
        }
        let mixed = try method(), plain = try method()
        let out = try UnMixLoss.evaluate(method: mixed, clean: f.q, mixed: f.qm, indices: f.indices, epoch: 40, lambda: f.lambda, dimension: f.dimension)
        _ = try mixed.finishStep(features: f.q, indices: f.indices, records: out.clean.records)
        let alone = try plain.computeLoss(features: f.q, indices: f.indices, epoch: 40) as MethodLoss
        _ = try plain.finishStep(features: f.q, indices: f.indices, records: alone.records)
        #expect(mixed.bank.storage == plain.bank.storage && mixed.table.storage == plain.table.storage)
    }

    @Test func reversedRowsReverseTheBatch() {
        #expect(UnMixLoss.reversedRows([1, 2, 3, 4, 5, 6], dimension: 2) == [5, 6, 3, 4, 1, 2])
    }
}
