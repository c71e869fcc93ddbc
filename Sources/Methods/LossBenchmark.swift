import Dispatch
import Kernels
import Randomness

/// Measures what the memory-bank losses cost per training step at a given scale (`invprop bench
/// loss`): the whole InvP and NPID loss with gradient, the bank and table update, and the parts
/// of the InvP loss (the two bank products and the per-anchor top-M selection).
public enum LossBenchmark {
    /// Median seconds per step of each part.
    public struct Result: Sendable {
        /// InvP loss and dL/df (SPEC steps 1–9), invariance term on.
        public var invp: Double
        /// NPID loss and dL/df.
        public var npid: Double
        /// Bank and table update after the step (SPEC steps 10–11).
        public var update: Double
        /// z = v·bankᵀ, [B, N].
        public var similarities: Double
        /// dv = g·bank, [B, D].
        public var backProjection: Double
        /// Top-M of every row of z, one thread.
        public var selection: Double
    }

    /// Runs `steps` timed repetitions (after one untimed) with a random bank, a random neighbour
    /// table and random features: B = `batch`, N = `bankSize`, D = `dimension`.
    public static func run(batch b: Int, bankSize n: Int, dimension d: Int, config: InvPConfig, steps: Int) throws -> Result {
        let method = try InvariancePropagation(config: config, datasetSize: n, dimension: d, seed: 1)
        var rng = SeededGenerator(seed: 2)
        try method.table.restore((0..<n * config.neighbourCount).map { _ in Int32(rng.int(below: n)) })
        let npid = try NPIDLoss(config: NPIDConfig(), datasetSize: n)
        let warm = config.warmUpEpochs + 1   // an epoch with the invariance term on
        var invp = [Double](), npidTimes = [Double](), update = [Double](), forward = [Double](), backward = [Double](), select = [Double]()
        var z = [Float](repeating: 0, count: b * n)
        var dv = [Float](repeating: 0, count: b * d)
        var picked = [Int32](repeating: 0, count: config.backgroundCount)
        for _ in 0...steps {
            let f = (0..<b * d).map { _ in rng.uniformFloat(-1, 1) }
            let indices = (0..<b).map { _ in rng.int(below: n) }
            var output: InvPLossOutput?
            invp.append(try seconds { output = try method.computeLoss(features: f, indices: indices, epoch: warm) })
            npidTimes.append(try seconds { _ = try npid.evaluate(features: f, indices: indices, bank: method.bank) })
            update.append(try seconds { try method.finishStep(features: f, indices: indices, output: output!) })
            forward.append(seconds { method.bank.similarities(f, batch: b, into: &z) })
            backward.append(seconds { method.bank.backProject(z, batch: b, into: &dv) })
            select.append(seconds {
                z.withUnsafeBufferPointer { zp in
                    for r in 0..<b {
                        Selection.topK(zp.baseAddress! + r * n, count: n, k: config.backgroundCount,
                                       sortedPrefix: config.neighbourCount + 1, indices: &picked)
                    }
                }
            })
        }
        // The first repetition allocates the [B, N] workspaces; it is left out.
        func median(_ x: [Double]) -> Double { let s = x.dropFirst().sorted(); return s[s.count / 2] }
        return Result(invp: median(invp), npid: median(npidTimes), update: median(update), similarities: median(forward),
                      backProjection: median(backward), selection: median(select))
    }

    private static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
}
