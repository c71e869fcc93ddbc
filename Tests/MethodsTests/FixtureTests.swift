import Foundation
import Testing
@testable import Methods

/// The JSON written by scripts/make_loss_fixtures.py (the authors' loss in float64 PyTorch).
struct LossFixtures: Decodable {
    struct CaseConfig: Decodable {
        var temperature: Float, M: Int, k: Int, L: Int, P: Int, lam: Float, T: Int
        var ramp: String, epoch: Int, hard: Bool, exclusive: Bool, propagation: String, invariance: Bool
    }
    struct InvPCase: Decodable {
        var name: String, config: CaseConfig
        var loss: Double, instance_loss: Double, invariance_loss: Double, scale: Double
        var gradient: [Double], nearest: [Int32], table_rows_after: [Int32]
        var candidates: [[Int32]], positives: [[Int32]]
    }
    struct NPIDCase: Decodable { var temperature: Float, loss: Double, gradient: [Double] }
    struct InputSet: Decodable {
        var name: String, B: Int, D: Int, N: Int
        var features: [Float], indices: [Int], bank: [Float], table: [Int32]
        var bank_rows_after_update: [Double]
        var invp: [InvPCase], npid: NPIDCase
    }
    var sets: [InputSet]

    static func load() throws -> LossFixtures {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/loss_fixtures.json")
        return try JSONDecoder().decode(LossFixtures.self, from: Data(contentsOf: url))
    }
}

extension InvPConfig {
    /// The Swift configuration of a fixture case.
    init(fixture c: LossFixtures.CaseConfig) throws {
        self.init()
        temperature = c.temperature; backgroundCount = c.M; neighbourCount = c.k; hops = c.L
        positiveCount = c.P; invarianceWeight = c.lam; warmUpEpochs = c.T
        guard let ramp = WarmUp(rawValue: c.ramp), let mode = PropagationMode(rawValue: c.propagation) else {
            throw MethodsError.invalidInput("unknown ramp \(c.ramp) or propagation \(c.propagation)")
        }
        warmUp = ramp; propagation = mode
        positives = c.hard ? .hard : .easy
        exclusive = c.exclusive; invarianceEnabled = c.invariance
    }
}

@Suite struct FixtureTests {
    /// Agreement within 1e-4 relative; gradient components relative to the largest component
    /// (a component near zero has no meaningful relative error).
    static func expectGradient(_ got: [Float], _ want: [Double], _ label: String) {
        #expect(got.count == want.count)
        let scale = want.map(abs).max() ?? 0
        for (i, (g, w)) in zip(got, want).enumerated() {
            #expect(close(Double(g), w, tol: 1e-4, floor: 1e-2 * scale), "\(label) dL/df[\(i)]: \(g) vs \(w)")
        }
    }

    /// Every InvP variant: loss terms, dL/df, nearest, table update, candidates and positives as
    /// computed by the authors' procedure in PyTorch.
    @Test func invpMatchesPyTorch() throws {
        let fixtures = try LossFixtures.load()
        #expect(fixtures.sets.count == 2)
        for set in fixtures.sets {
            let bank = try MemoryBank(count: set.N, dimension: set.D, seed: 0)
            try bank.restore(set.bank)
            #expect(set.invp.count == 8)
            for c in set.invp {
                let label = "\(set.name)/\(c.name)"
                let config = try InvPConfig(fixture: c.config)
                let table = try NeighbourTable(count: set.N, neighbours: config.neighbourCount)
                try table.restore(set.table)
                let out = try InvPLoss(config: config, datasetSize: set.N).evaluate(
                    features: set.features, indices: set.indices, epoch: c.config.epoch,
                    bank: bank, table: table, diagnostics: true)
                #expect(close(Double(out.loss), c.loss, tol: 1e-4), "\(label) loss \(out.loss) vs \(c.loss)")
                #expect(close(Double(out.instanceLoss), c.instance_loss, tol: 1e-4), "\(label) L_ins")
                #expect(close(Double(out.invarianceLoss), c.invariance_loss, tol: 1e-4, floor: 1e-6), "\(label) L_inv")
                #expect(close(Double(out.invarianceScale), c.scale, tol: 1e-6, floor: 1e-6), "\(label) scale")
                Self.expectGradient(out.gradient, c.gradient, label)
                #expect(out.nearest == c.nearest, "\(label) nearest")
                if config.invarianceEnabled {
                    #expect(out.diagnostics?.candidates == c.candidates, "\(label) candidates")
                    #expect(out.diagnostics?.positives == c.positives, "\(label) positives")
                }
                try table.update(indices: set.indices, nearest: out.nearest)
                let rows = set.indices.flatMap { table.row($0) }
                #expect(rows == c.table_rows_after, "\(label) table update")
            }
        }
    }

    /// NPID loss and gradient, and the bank update, against PyTorch.
    @Test func npidAndBankUpdateMatchPyTorch() throws {
        for set in try LossFixtures.load().sets {
            let bank = try MemoryBank(count: set.N, dimension: set.D, momentum: 0.5, seed: 0)
            try bank.restore(set.bank)
            var config = NPIDConfig(); config.temperature = set.npid.temperature
            let out = try NPIDLoss(config: config, datasetSize: set.N)
                .evaluate(features: set.features, indices: set.indices, bank: bank)
            #expect(close(Double(out.loss), set.npid.loss, tol: 1e-4), "\(set.name) NPID loss")
            Self.expectGradient(out.gradient, set.npid.gradient, "\(set.name) NPID")
            try bank.update(indices: set.indices, features: set.features)
            let rows = set.indices.flatMap { bank.entry($0) }
            // zip stops at the shorter array: the lengths must agree for it to compare every row.
            #expect(rows.count == set.bank_rows_after_update.count, "\(set.name) bank rows")
            for (g, w) in zip(rows, set.bank_rows_after_update) { #expect(abs(Double(g) - w) < 1e-6) }
        }
    }
}
