import Foundation
import Testing
@testable import Methods

@Suite struct InvPLossTests {
    /// The small sizes of the brief: B=4, D=8, N=40, M=16, k=2, L=2, P=3.
    static func smallConfig() -> InvPConfig {
        var c = InvPConfig()
        c.temperature = 0.1; c.backgroundCount = 16; c.neighbourCount = 2; c.hops = 2; c.positiveCount = 3
        return c
    }

    struct Variant: CustomTestStringConvertible, Sendable {
        var name: String, epoch: Int, change: @Sendable (inout InvPConfig) -> Void
        var testDescription: String { name }
    }

    static let variants: [Variant] = [
        Variant(name: "hard exclusive, warm", epoch: 31) { _ in },
        Variant(name: "hard exclusive, warm-up off", epoch: 30) { _ in },
        Variant(name: "hard non-exclusive", epoch: 31) { $0.exclusive = false },
        Variant(name: "easy exclusive", epoch: 40) { $0.positives = .easy },
        Variant(name: "easy non-exclusive gaussian", epoch: 10) { $0.positives = .easy; $0.exclusive = false; $0.warmUp = .gaussian },
        Variant(name: "exact hard", epoch: 31) { $0.propagation = .exact },
        Variant(name: "exact easy P=6", epoch: 31) { $0.propagation = .exact; $0.positives = .easy; $0.positiveCount = 6 },
        Variant(name: "instance only", epoch: 31) { $0.invarianceEnabled = false },
    ]

    /// The Float loss equals a plain double-precision implementation, and its analytic gradient
    /// equals central finite differences of that implementation (step 1e-6 in double).
    @Test(arguments: variants)
    func gradientMatchesFiniteDifferences(_ variant: Variant) throws {
        var config = Self.smallConfig()
        variant.change(&config)
        let p = try Problem(b: 4, d: 8, n: 40, k: 2, seed: 11)
        let loss = try InvPLoss(config: config, datasetSize: 40)
        let out = try loss.evaluate(features: p.features, indices: p.indices, epoch: variant.epoch,
                                    bank: p.bank, table: p.table)
        let f64 = p.features.map { Double($0) }
        let ref = referenceInvPLoss(features: f64, problem: p, config: config, epoch: variant.epoch)
        #expect(close(Double(out.loss), ref, tol: 1e-5))
        let numeric = centralDifferences(at: f64) { referenceInvPLoss(features: $0, problem: p, config: config, epoch: variant.epoch) }
        let maxAbs = numeric.map(abs).max() ?? 0
        #expect(maxAbs > 1e-3)
        for i in 0..<f64.count {
            #expect(close(Double(out.gradient[i]), numeric[i], tol: 1e-3, floor: 1e-2 * maxAbs),
                    "component \(i): analytic \(out.gradient[i]) numeric \(numeric[i])")
        }
    }

    /// The default dense-sgemm dv and the gathered dv give the same gradient.
    @Test func sparseAndDenseBackwardAgree() throws {
        let p = try Problem(b: 6, d: 16, n: 300, k: 4, seed: 8)
        var c = InvPConfig(); c.backgroundCount = 64
        let sparse = try InvPLoss(config: c, datasetSize: 300)
        let dense = try InvPLoss(config: c, datasetSize: 300)
        sparse.denseBackward = false
        let a = try sparse.evaluate(features: p.features, indices: p.indices, epoch: 31, bank: p.bank, table: p.table)
        let b = try dense.evaluate(features: p.features, indices: p.indices, epoch: 31, bank: p.bank, table: p.table)
        #expect(a.loss == b.loss)
        let scale = b.gradient.map(abs).max() ?? 0
        for (x, y) in zip(a.gradient, b.gradient) { #expect(abs(x - y) <= 1e-3 * scale) }
    }

    /// The warm-up state changes only the factor on L_inv: with w = 0 the loss and gradient are
    /// the instance-only ones, while L_inv is still reported.
    @Test func warmUpOffEqualsInstanceOnly() throws {
        let p = try Problem(b: 4, d: 8, n: 40, k: 2, seed: 5)
        let loss = try InvPLoss(config: Self.smallConfig(), datasetSize: 40)
        var ablation = Self.smallConfig(); ablation.invarianceEnabled = false
        let off = try loss.evaluate(features: p.features, indices: p.indices, epoch: 30, bank: p.bank, table: p.table)
        let ins = try InvPLoss(config: ablation, datasetSize: 40)
            .evaluate(features: p.features, indices: p.indices, epoch: 30, bank: p.bank, table: p.table)
        #expect(off.invarianceScale == 0 && off.invarianceLoss > 0)
        #expect(off.loss == ins.loss && off.gradient == ins.gradient && off.nearest == ins.nearest)
        #expect(ins.invarianceLoss == 0)
        let on = try loss.evaluate(features: p.features, indices: p.indices, epoch: 31, bank: p.bank, table: p.table)
        #expect(on.invarianceScale == 0.6)
        #expect(abs(on.loss - (on.instanceLoss + 0.6 * on.invarianceLoss)) < 1e-5)
    }

    /// Bank on a circle, anchor 0 at angle 0: s falls with the bank index, so the hard positives
    /// are the highest-numbered candidates and the easy ones the lowest, repeats included.
    @Test func hardAndEasyPositives() throws {
        let n = 6
        let bank = try MemoryBank(count: n, dimension: 2, seed: 0)
        try bank.restore((0..<n).flatMap { j in [Float(cos(0.3 * Double(j))), Float(sin(0.3 * Double(j)))] })
        let table = try NeighbourTable(count: n, neighbours: 2)
        try table.restore([1, 2,  3, 4,  5, 1,  0, 0,  0, 0,  0, 0])
        func positives(_ sel: PositiveSelection, _ mode: PropagationMode, _ p: Int) throws -> ([Int32], [Int32]) {
            var c = InvPConfig()
            c.backgroundCount = 4; c.neighbourCount = 2; c.hops = 2; c.positiveCount = p
            c.positives = sel; c.propagation = mode
            let out = try InvPLoss(config: c, datasetSize: n).evaluate(
                features: [2, 0], indices: [0], epoch: 31, bank: bank, table: table, diagnostics: true)
            #expect(out.nearest == [0, 1, 2])
            return (out.diagnostics?.candidates.first ?? [], out.diagnostics?.positives.first ?? [])
        }
        let (refCand, refHard) = try positives(.hard, .reference, 2)
        #expect(refCand == [1, 2, 3, 4, 5, 1])
        #expect(refHard == [5, 4])
        #expect(try positives(.easy, .reference, 3).1 == [1, 1, 2])
        let (exCand, exHard) = try positives(.hard, .exact, 2)
        #expect(exCand == [1, 2, 3, 4, 5])
        #expect(exHard == [5, 4])
        #expect(try positives(.easy, .exact, 3).1 == [1, 2, 3])
    }

    /// Out-of-range options are rejected with a message naming the option.
    @Test func validation() throws {
        func rejects(_ n: Int = 40, _ change: (inout InvPConfig) -> Void) -> String? {
            var c = Self.smallConfig(); change(&c)
            do { try c.validate(datasetSize: n); return nil } catch { return "\(error)" }
        }
        #expect(rejects { _ in } == nil)
        #expect(rejects { $0.backgroundCount = 41 }?.contains("background M") == true)
        #expect(rejects { $0.neighbourCount = 40 }?.contains("neighbours k") == true)
        #expect(rejects { $0.backgroundCount = 2 }?.contains("k+1") == true)
        #expect(rejects { $0.positiveCount = 7 }?.contains("positives P") == true)
        #expect(rejects { $0.positiveCount = 0 }?.contains("positives P") == true)
        #expect(rejects { $0.temperature = 0 }?.contains("temperature") == true)
        #expect(rejects { $0.temperature = -.infinity }?.contains("temperature") == true)
        #expect(rejects { $0.momentum = 1 }?.contains("momentum") == true)
        #expect(rejects { $0.hops = 0 }?.contains("hops") == true)
        #expect(rejects { $0.invarianceWeight = -1 }?.contains("λ") == true)
        #expect(rejects { $0.warmUp = .gaussian; $0.warmUpEpochs = 0 }?.contains("Gaussian") == true)
        #expect(rejects(100_000) { $0.neighbourCount = 1000; $0.hops = 9; $0.backgroundCount = 1001 }?
            .contains("too many") == true)
        #expect(throws: MethodsError.self) { try InvPLoss(config: Self.smallConfig(), datasetSize: 10) }
        let p = try Problem(b: 4, d: 8, n: 40, k: 2, seed: 5)
        let loss = try InvPLoss(config: Self.smallConfig(), datasetSize: 40)
        #expect(throws: MethodsError.self) {
            try loss.evaluate(features: p.features, indices: [0, 1, 2, 40], epoch: 0, bank: p.bank, table: p.table)
        }
        #expect(throws: MethodsError.self) {
            try loss.evaluate(features: Array(p.features.dropLast()), indices: p.indices, epoch: 0, bank: p.bank, table: p.table)
        }
        var nan = p.features; nan[3] = .nan
        #expect(throws: MethodsError.self) {
            try loss.evaluate(features: nan, indices: p.indices, epoch: 0, bank: p.bank, table: p.table)
        }
    }

    /// The ramp weights of SPEC step 9.
    @Test func rampWeights() {
        var c = InvPConfig()
        #expect(c.rampWeight(epoch: 30) == 0 && c.rampWeight(epoch: 31) == 1)
        c.warmUp = .gaussian
        #expect(abs(c.rampWeight(epoch: 0) - Float(exp(-5.0))) < 1e-7)
        #expect(abs(c.rampWeight(epoch: 15) - Float(exp(-1.25))) < 1e-7)
        #expect(c.rampWeight(epoch: 30) == 1 && c.rampWeight(epoch: 99) == 1)
        c.warmUp = .none
        #expect(c.rampWeight(epoch: 0) == 1)
    }

    /// Purity counts candidates and positives with the anchor's label.
    @Test func purity() throws {
        let d = InvPDiagnostics(candidates: [[1, 2, 3, 1], [0]], positives: [[3, 1], []])
        let labels: [Int32] = [0, 0, 1, 0]
        let c = try PurityCounts.measure(anchors: [0, 2], diagnostics: d, labels: labels)
        #expect(c.candidates == 5 && c.candidatesMatching == 3)
        #expect(c.positives == 2 && c.positivesMatching == 2)
        #expect((c + c).candidatePurity == 0.6 && c.positivePurity == 1)
        #expect(PurityCounts().candidatePurity == nil)
        #expect(throws: MethodsError.self) { try PurityCounts.measure(anchors: [0], diagnostics: d, labels: labels) }
    }
}

@Suite struct NPIDLossTests {
    /// Double-precision NPID loss (full softmax, the reference's +1e-7).
    static func reference(_ f: [Double], _ p: Problem, tau: Double) -> Double {
        let n = p.bank.count, d = p.bank.dimension, b = p.indices.count
        var total = 0.0
        for r in 0..<b {
            let row = Array(f[r * d..<(r + 1) * d])
            let norm = row.map { $0 * $0 }.reduce(0, +).squareRoot()
            let s = (0..<n).map { j in exp((0..<d).map { row[$0] / norm * Double(p.bank.storage[j * d + $0]) }.reduce(0, +) / tau) }
            total += -log(s[p.indices[r]] / s.reduce(0, +) + 1e-7)
        }
        return total / Double(b)
    }

    /// Loss against the double reference and gradient against central differences.
    @Test func gradientMatchesFiniteDifferences() throws {
        let p = try Problem(b: 4, d: 8, n: 40, k: 2, seed: 21)
        var c = NPIDConfig(); c.temperature = 0.1
        let out = try NPIDLoss(config: c, datasetSize: 40).evaluate(features: p.features, indices: p.indices, bank: p.bank)
        let f64 = p.features.map { Double($0) }
        #expect(close(Double(out.loss), Self.reference(f64, p, tau: 0.1), tol: 1e-5))
        let h = 1e-6
        let numeric = (0..<f64.count).map { i -> Double in
            var up = f64, down = f64
            up[i] += h; down[i] -= h
            return (Self.reference(up, p, tau: 0.1) - Self.reference(down, p, tau: 0.1)) / (2 * h)
        }
        let maxAbs = numeric.map(abs).max() ?? 0
        for i in 0..<f64.count {
            #expect(close(Double(out.gradient[i]), numeric[i], tol: 1e-3, floor: 1e-2 * maxAbs))
        }
        #expect(throws: MethodsError.self) { var bad = NPIDConfig(); bad.temperature = 0; try bad.validate(datasetSize: 4) }
    }
}
