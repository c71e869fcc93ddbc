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
        /// Top-M of every row of z on all compute threads (as the loss runs it).
        public var selectionAllThreads: Double

        /// Each part's name and median seconds, in the order `invprop bench loss` and `bench loop` print them.
        public var parts: [(name: String, seconds: Double)] {
            [("InvP loss and gradient", invp), ("NPID loss and gradient", npid), ("bank and table update", update),
             ("z = v·bankᵀ", similarities), ("dv = g·bank", backProjection), ("top-M selection (1 thread)", selection),
             ("top-M selection (all threads)", selectionAllThreads)]
        }
    }

    /// Runs `steps` timed repetitions (after one untimed) with a random bank, a random neighbour
    /// table and random features: B = `batch`, N = `bankSize`, D = `dimension`.
    /// The bank products run in `config.bankPrecision` (nil: fp32), for both losses.
    public static func run(batch b: Int, bankSize n: Int, dimension d: Int, config: InvPConfig, steps: Int) throws -> Result {
        let method = try InvariancePropagation(config: config, datasetSize: n, dimension: d, seed: 1)
        var rng = SeededGenerator(seed: 2)
        try method.table.restore((0..<n * config.neighbourCount).map { _ in Int32(rng.int(below: n)) })
        var npidConfig = NPIDConfig()
        npidConfig.bankPrecision = config.bankPrecision
        let npid = try NPIDLoss(config: npidConfig, datasetSize: n)
        let warm = config.warmUpEpochs + 1   // an epoch with the invariance term on
        var invp = [Double](), npidTimes = [Double](), update = [Double](), forward = [Double](), backward = [Double](), select = [Double]()
        var selectAll = [Double]()
        var z = [Float](repeating: 0, count: b * n)
        var dv = [Float](repeating: 0, count: b * d)
        var picked = [Int32](repeating: 0, count: config.backgroundCount)
        var pickedRows = [Int32](repeating: 0, count: b * config.backgroundCount)
        let bf16 = config.bankPrecision?.resolved == .bf16
        var zBF16 = [BF16Bits](repeating: 0, count: bf16 ? b * n : 0)
        for _ in 0...steps {
            let f = (0..<b * d).map { _ in rng.uniformFloat(-1, 1) }
            let indices = (0..<b).map { _ in rng.int(below: n) }
            var output: InvPLossOutput?
            invp.append(try seconds { output = try method.computeLoss(features: f, indices: indices, epoch: warm) })
            npidTimes.append(try seconds { _ = try npid.evaluate(features: f, indices: indices, bank: method.bank) })
            update.append(try seconds { try method.finishStep(features: f, indices: indices, output: output!) })
            forward.append(seconds { method.bank.similarities(f, batch: b, into: &z) })
            if bf16 {
                // The bf16 product's operand, dL/dz in bf16 ([B, N]); z's values serve as data.
                z.withUnsafeBufferPointer { Gemm.convertToBF16($0.baseAddress!, count: b * n, into: &zBF16) }
                backward.append(seconds { method.bank.backProject(bf16: zBF16, batch: b, into: &dv) })
            } else {
                backward.append(seconds { method.bank.backProject(z, batch: b, into: &dv) })
            }
            select.append(seconds {
                z.withUnsafeBufferPointer { zp in
                    for r in 0..<b {
                        Selection.topK(zp.baseAddress! + r * n, count: n, k: config.backgroundCount,
                                       sortedPrefix: config.neighbourCount + 1, indices: &picked)
                    }
                }
            })
            selectAll.append(seconds {
                z.withUnsafeBufferPointer { zp in
                    Selection.topKRows(zp.baseAddress!, rows: b, count: n, k: config.backgroundCount,
                                       sortedPrefix: config.neighbourCount + 1, indices: &pickedRows)
                }
            })
        }
        // The first repetition allocates the [B, N] workspaces; it is left out.
        func median(_ x: [Double]) -> Double { let s = x.dropFirst().sorted(); return s[s.count / 2] }
        return Result(invp: median(invp), npid: median(npidTimes), update: median(update), similarities: median(forward),
                      backProjection: median(backward), selection: median(select), selectionAllThreads: median(selectAll))
    }

    /// How far the bf16 bank products move InvP's selections (issue 14): for `anchors` entries of
    /// a real bank ([N, D] row-major, e.g. a checkpoint's) used as the queries v, the mean and the
    /// smallest fraction of the fp32 top-`background` set that the bf16 top-`background` set
    /// keeps, and the fraction of anchors whose k+1 nearest (the neighbour-table update) are the
    /// same list in the same order. Anchors are every (N / anchors)-th entry.
    public static func selectionOverlap(bank entries: [Float], dimension d: Int, anchors: Int, background m: Int,
                                        neighbours k: Int) throws -> (mean: Double, minimum: Double, sameNearest: Double) {
        let n = entries.count / d
        let fp32 = try MemoryBank(count: n, dimension: d, seed: 0), bf16 = try MemoryBank(count: n, dimension: d, seed: 0)
        try fp32.restore(entries)
        try bf16.restore(entries)
        try bf16.setProductPrecision(.bf16)
        let rows = (0..<anchors).map { $0 * (n / anchors) }
        let v = l2NormalizeRows(rows.flatMap { Array(entries[$0 * d..<($0 + 1) * d]) }, rows: anchors, dimension: d).v
        var z32 = [Float](repeating: 0, count: anchors * n), z16 = z32
        fp32.similarities(v, batch: anchors, into: &z32)
        bf16.similarities(v, batch: anchors, into: &z16)
        var top32 = [Int32](repeating: 0, count: anchors * m), top16 = top32
        z32.withUnsafeBufferPointer { Selection.topKRows($0.baseAddress!, rows: anchors, count: n, k: m, sortedPrefix: k + 1, indices: &top32) }
        z16.withUnsafeBufferPointer { Selection.topKRows($0.baseAddress!, rows: anchors, count: n, k: m, sortedPrefix: k + 1, indices: &top16) }
        var total = 0.0, smallest = 1.0, same = 0
        for r in 0..<anchors {
            let a = Set(top32[r * m..<(r + 1) * m]), c = top16[r * m..<(r + 1) * m]
            let kept = Double(c.filter { a.contains($0) }.count) / Double(m)
            total += kept
            smallest = min(smallest, kept)
            if Array(top32[r * m..<r * m + k + 1]) == Array(top16[r * m..<r * m + k + 1]) { same += 1 }
        }
        return (total / Double(anchors), smallest, Double(same) / Double(anchors))
    }

    private static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
}
