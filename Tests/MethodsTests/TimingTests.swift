import Foundation
import Testing
@testable import Kernels
@testable import Methods

/// Prints the per-step cost of the losses at the paper's scale (B = 128, N = 60 000, D = 128,
/// M = 4096). Opt-in (INVPROP_BENCH=1) and never asserts a time; run in release:
/// `INVPROP_BENCH=1 swift test -c release --filter TimingTests`.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["INVPROP_BENCH"] != nil))
struct TimingTests {
    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    }

    @Test(arguments: [128, 256])
    func lossStepTime(batch b: Int) throws {
        let n = 60_000, d = 128
        var config = InvPConfig()
        config.temperature = 0.1
        let method = try InvariancePropagation(config: config, datasetSize: n, dimension: d, seed: 1)
        var rng = TestRNG(seed: 2)
        // A table with real entries so propagation and the gathers do their full work.
        try method.table.restore((0..<n * config.neighbourCount).map { _ in Int32(rng.int(n)) })
        let npid = try NPIDLoss(config: NPIDConfig(), datasetSize: n)
        var invp = [Double](), npidTimes = [Double](), finish = [Double]()
        for step in 0..<6 {
            let f = (0..<b * d).map { _ in rng.float() }
            let idx = (0..<b).map { _ in rng.int(n) }
            var out: InvPLossOutput?
            invp.append(try Self.seconds { out = try method.computeLoss(features: f, indices: idx, epoch: 31) })
            npidTimes.append(try Self.seconds { _ = try npid.evaluate(features: f, indices: idx, bank: method.bank) })
            if let out { finish.append(try Self.seconds { try method.finishStep(features: f, indices: idx, output: out) }) }
            _ = step
        }
        // Median of the last five (the first call allocates the [B, N] workspace).
        func median(_ x: [Double]) -> Double { let s = x.dropFirst().sorted(); return s[s.count / 2] }
        print(String(format: "[timing] B=%d N=%d D=%d M=%d threads=%d: InvP loss+grad %.1f ms, NPID loss+grad %.1f ms, bank+table update %.2f ms",
                     b, n, d, config.backgroundCount, ComputeThreads.count,
                     median(invp) * 1e3, median(npidTimes) * 1e3, median(finish) * 1e3))
    }

    /// The parts: the two bank products and the per-row top-M selection (single thread).
    @Test func partsTime() throws {
        let b = 128, n = 60_000, d = 128, m = 4096
        let bank = try MemoryBank(count: n, dimension: d, seed: 1)
        var rng = TestRNG(seed: 3)
        let v = (0..<b * d).map { _ in rng.float() }
        var z = [Float](repeating: 0, count: b * n)
        var dv = [Float](repeating: 0, count: b * d)
        var idx = [Int32](repeating: 0, count: m)
        var fwd = [Double](), bwd = [Double](), sel = [Double](), hist = [Double]()
        for _ in 0..<4 {
            fwd.append(Self.seconds { bank.similarities(v, batch: b, into: &z) })
            sel.append(Self.seconds {
                z.withUnsafeBufferPointer { zp in
                    for r in 0..<b {
                        Selection.topK(zp.baseAddress! + r * n, count: n, k: m, sortedPrefix: 5, indices: &idx)
                    }
                }
            })
            bwd.append(Self.seconds { bank.backProject(z, batch: b, into: &dv) })
            hist.append(Self.seconds {
                z.withUnsafeBufferPointer { zp in
                    for r in 0..<b {
                        idx.withUnsafeMutableBufferPointer { ip in
                            _ = Selection.selectByHistogram(zp.baseAddress! + r * n, n, m, ip.baseAddress!)
                        }
                    }
                }
            })
        }
        print(String(format: "[timing] parts B=%d: z = v·bankᵀ %.1f ms, g·bank %.1f ms, top-%d selection of %d rows (1 thread) %.1f ms (histogram-only path %.1f ms)",
                     b, fwd.dropFirst().min()! * 1e3, bwd.dropFirst().min()! * 1e3, m, b,
                     sel.dropFirst().min()! * 1e3, hist.dropFirst().min()! * 1e3))
    }
}
