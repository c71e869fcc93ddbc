import Foundation
@testable import Methods
import Randomness

/// A deterministic generator for test data (the package's seedable generator).
struct TestRNG {
    var base: SeededGenerator
    init(seed: UInt64) { base = SeededGenerator(seed: seed) }
    /// Uniform in [-1, 1).
    mutating func float() -> Float { base.uniformFloat(-1, 1) }
    mutating func int(_ n: Int) -> Int { base.int(below: n) }
}

/// A small InvP problem: random normalised bank, random table, distinct anchors.
struct Problem {
    var features: [Float]
    var indices: [Int]
    var bank: MemoryBank
    var table: NeighbourTable

    init(b: Int, d: Int, n: Int, k: Int, seed: UInt64) throws {
        var rng = TestRNG(seed: seed)
        bank = try MemoryBank(count: n, dimension: d, seed: seed)
        var raw = (0..<n * d).map { _ in rng.float() }
        for j in 0..<n {
            let norm = (0..<d).map { raw[j * d + $0] * raw[j * d + $0] }.reduce(0, +).squareRoot()
            for c in 0..<d { raw[j * d + c] /= norm }
        }
        try bank.restore(raw)
        table = try NeighbourTable(count: n, neighbours: k)
        try table.restore((0..<n * k).map { _ in Int32(rng.int(n)) })
        var pool = Array(0..<n)
        indices = (0..<b).map { _ in pool.remove(at: rng.int(pool.count)) }
        features = (0..<b * d).map { _ in rng.float() }
        // Some anchors appear in their candidates (duplicates and self, as in the reference).
        var t = table.storage
        t[indices[0] * k] = Int32(indices[0])
        try table.restore(t)
    }
}

/// Plain double-precision InvP loss (SPEC steps 2–9) with full sorts: the reference the
/// optimised Float implementation is checked against, and the function finite differences
/// are taken of.
/// With `targets`, anchor r's background and positives are `targets.background[r·M ..< (r+1)·M]`
/// and `targets.positives[r]` instead of those chosen from f (Un-Mix's mixed views).
func referenceInvPLoss(features f: [Double], problem p: Problem, config c: InvPConfig, epoch: Int,
                       targets: InvPTargets? = nil) -> Double {
    let n = p.bank.count, d = p.bank.dimension, b = p.indices.count
    let tau = Double(c.temperature)
    var ins = 0.0, inv = 0.0
    for r in 0..<b {
        let row = Array(f[r * d..<(r + 1) * d])
        let norm = row.map { $0 * $0 }.reduce(0, +).squareRoot()
        let s = (0..<n).map { j in
            exp((0..<d).map { row[$0] / norm * Double(p.bank.storage[j * d + $0]) }.reduce(0, +) / tau)
        }
        let selfS = s[p.indices[r]]
        let m = c.backgroundCount
        let bg = targets.map { t in t.background[r * m..<(r + 1) * m].map { s[Int($0)] }.reduce(0, +) }
            ?? s.sorted(by: >).prefix(m).reduce(0, +)
        ins += -log(selfS / bg + 1e-7)
        if c.invarianceEnabled {
            let cand = Propagation.candidates(anchor: p.indices[r], table: p.table, hops: c.hops, mode: c.propagation)
            let cs = cand.map { s[Int($0)] }.sorted(by: c.positives == .hard ? (<) : (>))
            let pos = targets.map { t in t.positives[r].map { s[Int($0)] }.reduce(0, +) }
                ?? cs.prefix(min(c.positiveCount, cs.count)).reduce(0, +)
            let den = c.exclusive ? bg - selfS : bg
            inv += -log(pos / den + 1e-7)
        }
    }
    let scale = c.invarianceEnabled ? Double(c.invarianceWeight * c.rampWeight(epoch: epoch)) : 0
    return (ins + scale * inv) / Double(b)
}

/// Central differences (step h) of `loss` at x: the numeric gradient analytic ones are checked against.
func centralDifferences(at x: [Double], step h: Double = 1e-6, of loss: ([Double]) -> Double) -> [Double] {
    (0..<x.count).map { i in
        var up = x, down = x
        up[i] += h; down[i] -= h
        return (loss(up) - loss(down)) / (2 * h)
    }
}

/// |a − b| ≤ tol·(|b| + floor): relative agreement with an absolute floor for values near 0.
func close(_ a: Double, _ b: Double, tol: Double, floor: Double = 0) -> Bool {
    abs(a - b) <= tol * (abs(b) + floor)
}
