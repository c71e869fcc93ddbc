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
        #expect(out.clean.gradient.count == f.grad_q.count && out.mixedGradient.count == f.grad_qm.count)
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

    /// InvP on a small problem, with the problem's bank and table.
    func invp(_ p: Problem, _ config: InvPConfig) throws -> InvariancePropagation {
        let method = try InvariancePropagation(config: config, datasetSize: p.bank.count, dimension: p.bank.dimension, seed: 0)
        try method.bank.restore(p.bank.storage)
        try method.table.restore(p.table.storage)
        return method
    }

    /// A mixed-looking second view of the problem's batch: its features with noise of the same size.
    func otherView(_ p: Problem, seed: UInt64) -> [Float] {
        var rng = TestRNG(seed: seed)
        return p.features.map { $0 + rng.float() }
    }

    /// With InvP, the mixed terms score each anchor against the background and positives the
    /// clean view chose: the loss equals a double-precision reference given those targets, and
    /// the gradient equals its central differences. The mixed view's own choice differs on this
    /// problem, so the test would see a re-selection.
    @Test(arguments: [false, true])
    func invpMixedTermUsesTheCleanTargets(instanceOnly: Bool) throws {
        var config = InvPLossTests.smallConfig()
        config.invarianceEnabled = !instanceOnly
        let p = try Problem(b: 4, d: 8, n: 40, k: 2, seed: 11)
        let method = try invp(p, config)
        let clean = try method.computeLossKeepingTargets(features: p.features, indices: p.indices, epoch: 31)
        let targets = try #require(clean.targets as? InvPTargets)
        let view = otherView(p, seed: 5)
        let mixed = try method.computeLoss(features: view, indices: p.indices, epoch: 31, against: targets)

        let own = try #require(try method.computeLossKeepingTargets(features: view, indices: p.indices, epoch: 31).targets as? InvPTargets)
        #expect(own != targets)
        let f64 = view.map { Double($0) }
        let reference = { (f: [Double]) in referenceInvPLoss(features: f, problem: p, config: config, epoch: 31, targets: targets) }
        #expect(close(Double(mixed.loss), reference(f64), tol: 1e-5))
        let numeric = centralDifferences(at: f64, of: reference)
        let maxAbs = numeric.map(abs).max() ?? 0
        #expect(maxAbs > 1e-3 && mixed.gradient.count == numeric.count)
        for (a, e) in zip(mixed.gradient, numeric) { #expect(close(Double(a), e, tol: 1e-3, floor: 1e-2 * maxAbs), "\(a) vs \(e)") }
    }

    /// Scoring the clean view against its own kept targets gives the plain loss bit for bit.
    @Test func invpOwnTargetsReproduceThePlainLoss() throws {
        let p = try Problem(b: 6, d: 16, n: 300, k: 4, seed: 8)
        var config = InvPConfig(); config.backgroundCount = 64
        let method = try invp(p, config)
        let plain = try method.computeLoss(features: p.features, indices: p.indices, epoch: 31) as MethodLoss
        let kept = try method.computeLossKeepingTargets(features: p.features, indices: p.indices, epoch: 31)
        let again = try method.computeLoss(features: p.features, indices: p.indices, epoch: 31, against: kept.targets)
        #expect(kept.loss == plain.loss && kept.gradient == plain.gradient && kept.records == plain.records)
        #expect(again.loss == plain.loss && again.gradient == plain.gradient)
    }

    /// Un-Mix's mixed term on InvP is λ·L(q_m) + (1 − λ)·L(reverse(q_m)), both against the clean targets.
    @Test func unmixOnInvPWeighsTheTwoMixedTermsAgainstTheCleanTargets() throws {
        let p = try Problem(b: 4, d: 8, n: 40, k: 2, seed: 3)
        let config = InvPLossTests.smallConfig()
        let method = try invp(p, config)
        let qm = otherView(p, seed: 9), lambda = 0.3
        let out = try UnMixLoss.evaluate(method: method, clean: p.features, mixed: qm, indices: p.indices, epoch: 31,
                                         lambda: lambda, dimension: 8)
        let targets = try method.computeLossKeepingTargets(features: p.features, indices: p.indices, epoch: 31).targets
        let own = try method.computeLoss(features: qm, indices: p.indices, epoch: 31, against: targets)
        let other = try method.computeLoss(features: UnMixLoss.reversedRows(qm, dimension: 8), indices: p.indices, epoch: 31,
                                           against: targets)
        #expect(out.mixedLoss == Float(lambda) * own.loss + Float(1 - lambda) * other.loss)
    }

    /// With `--unmix-targets own` each mixed view of InvP chooses its own background and
    /// positives: the two mixed terms are the plain loss of each view, and they differ from the
    /// clean-targets terms on this problem (so the option reaches the loss).
    @Test func unmixOnInvPWithOwnTargetsScoresEachViewAsAPlainOne() throws {
        let p = try Problem(b: 4, d: 8, n: 40, k: 2, seed: 3)
        let method = try invp(p, InvPLossTests.smallConfig())
        let qm = otherView(p, seed: 9), lambda = 0.3
        let out = try UnMixLoss.evaluate(method: method, clean: p.features, mixed: qm, indices: p.indices, epoch: 31,
                                         lambda: lambda, dimension: 8, targets: .own)
        let reversed = UnMixLoss.reversedRows(qm, dimension: 8)
        let own = try method.computeLoss(features: qm, indices: p.indices, epoch: 31) as MethodLoss
        let other = try method.computeLoss(features: reversed, indices: p.indices, epoch: 31) as MethodLoss
        #expect(out.mixedLoss == Float(lambda) * own.loss + Float(1 - lambda) * other.loss)
        let back = UnMixLoss.reversedRows(other.gradient, dimension: 8)
        #expect(out.mixedGradient == (0..<qm.count).map { Float(lambda) * own.gradient[$0] + Float(1 - lambda) * back[$0] })
        let clean = try method.computeLoss(features: p.features, indices: p.indices, epoch: 31) as MethodLoss
        #expect(out.clean.loss == clean.loss && out.clean.gradient == clean.gradient && out.clean.records == clean.records)
        let againstClean = try UnMixLoss.evaluate(method: method, clean: p.features, mixed: qm, indices: p.indices, epoch: 31,
                                                  lambda: lambda, dimension: 8, targets: .clean)
        #expect(againstClean.mixedLoss != out.mixedLoss)
    }

    /// A configuration written before `--unmix-targets` existed decodes to the default (clean);
    /// `own` survives a round trip through JSON.
    @Test func unmixTargetsDecodeWithTheirDefault() throws {
        let old = try JSONDecoder().decode(UnMixOptions.self, from: #"{"globalProbability":0.3,"beta":2}"#.data(using: .utf8)!)
        #expect(old.targets == .clean && old.globalProbability == 0.3 && old.beta == 2)
        var own = UnMixOptions(); own.targets = .own
        #expect(try JSONDecoder().decode(UnMixOptions.self, from: JSONEncoder().encode(own)) == own)
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(UnMixOptions.self, from: #"{"globalProbability":0.5,"beta":1,"targets":"mine"}"#.data(using: .utf8)!)
        }
    }

    /// Targets that do not fit the batch or the bank, or none at all, are refused by name.
    @Test func invpRefusesTargetsThatDoNotFit() throws {
        let p = try Problem(b: 4, d: 8, n: 40, k: 2, seed: 11)
        let config = InvPLossTests.smallConfig()
        let method = try invp(p, config)
        let targets = try #require(try method.computeLossKeepingTargets(features: p.features, indices: p.indices, epoch: 31).targets
            as? InvPTargets)
        func refusal(_ given: (any Sendable)?) -> String? {
            do { _ = try method.computeLoss(features: p.features, indices: p.indices, epoch: 31, against: given); return nil } catch {
                return "\(error)"
            }
        }
        var short = targets; short.background.removeLast()
        var outside = targets; outside.positives[0] = [40]
        var fewLists = targets; fewLists.positives.removeLast()
        #expect(refusal(short)?.contains("background indices") == true)
        #expect(refusal(outside)?.contains("outside 0..<40") == true)
        #expect(refusal(fewLists)?.contains("positive lists") == true)
        #expect(refusal(nil)?.contains("computeLossKeepingTargets") == true)
    }

    @Test func reversedRowsReverseTheBatch() {
        #expect(UnMixLoss.reversedRows([1, 2, 3, 4, 5, 6], dimension: 2) == [5, 6, 3, 4, 1, 2])
    }
}
