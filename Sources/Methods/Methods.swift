import Kernels

/// InvP as a method: owns its memory bank, neighbour table and loss workspace.
///
/// Per training step (SPEC steps 1–11):
/// 1. `let out = try method.computeLoss(features: f, indices: idx, epoch: e)` (f: [B, D] network outputs)
/// 2. backward through the network with `out.gradient` (dL/df: [B, D])
/// 3. optimizer step
/// 4. `try method.finishStep(features: f, indices: idx, output: out)` (bank and table updates;
///    f is the same pre-step output the loss saw, as in the reference code)
public final class InvariancePropagation {
    /// The options.
    public var config: InvPConfig { loss.config }
    /// The memory bank (N × D).
    public let bank: MemoryBank
    /// The neighbour table (N × k).
    public let table: NeighbourTable
    /// The loss with its workspace.
    public let loss: InvPLoss

    /// A fresh method: bank initialised from `seed` (SPEC step 11), table all zeros.
    public init(config: InvPConfig, datasetSize: Int, dimension: Int = 128, seed: UInt64) throws {
        loss = try InvPLoss(config: config, datasetSize: datasetSize)
        bank = try MemoryBank(count: datasetSize, dimension: dimension, momentum: config.momentum, seed: seed)
        table = try NeighbourTable(count: datasetSize, neighbours: config.neighbourCount)
    }

    /// Fills every row of the neighbour table from the bank as it stands (each entry's k nearest
    /// other entries), for a bank that already holds real features (see `MemoryBank.fill`), so
    /// propagation has a graph from the first step. Rows are computed in chunks of `chunk`
    /// entries: one [chunk, N] similarity block at a time.
    public func initializeNeighboursFromBank(chunk: Int = 256) throws {
        let k = table.neighbours, n = bank.count, d = bank.dimension
        guard k + 1 <= n else { return }
        var block = [Float](repeating: 0, count: chunk * n)
        var nearest = [Int32](repeating: 0, count: chunk * (k + 1))
        let entries = bank.storage
        var start = 0
        while start < n {
            let rows = min(chunk, n - start)
            entries.withUnsafeBufferPointer { e in
                block.withUnsafeMutableBufferPointer { out in
                    bank.similarities(e.baseAddress! + start * d, batch: rows, into: out.baseAddress!)
                }
            }
            block.withUnsafeBufferPointer { values in
                nearest.withUnsafeMutableBufferPointer { picked in
                    for r in 0..<rows {
                        Selection.topK(values.baseAddress! + r * n, count: n, k: k + 1, sortedPrefix: k + 1,
                                       indices: picked.baseAddress! + r * (k + 1))
                    }
                }
            }
            try table.update(indices: Array(start..<start + rows), nearest: Array(nearest[0..<rows * (k + 1)]))
            start += rows
        }
    }

    /// SPEC steps 1–9 for f: [B, D] of the images `indices` in `epoch`, counted from 1 as the
    /// authors' loop counts it (w = 1 once epoch > T).
    public func computeLoss(features: [Float], indices: [Int], epoch: Int, diagnostics: Bool = false) throws -> InvPLossOutput {
        try loss.evaluate(features: features, indices: indices, epoch: epoch, bank: bank, table: table,
                          diagnostics: diagnostics)
    }

    /// SPEC steps 10 and 11, after the optimizer step: the table rows of the batch from
    /// `output.nearest`, then the bank rows from f.
    public func finishStep(features: [Float], indices: [Int], output: InvPLossOutput) throws {
        try table.update(indices: indices, nearest: output.nearest)
        try bank.update(indices: indices, features: features)
    }
}

/// NPID as a method: owns its memory bank and loss workspace. Per step: `computeLoss` → backward
/// → optimizer step → `finishStep` (bank update).
public final class NPID {
    /// The options.
    public var config: NPIDConfig { loss.config }
    /// The memory bank (N × D).
    public let bank: MemoryBank
    /// The loss with its workspace.
    public let loss: NPIDLoss

    /// A fresh method with the bank initialised from `seed`.
    public init(config: NPIDConfig, datasetSize: Int, dimension: Int = 128, seed: UInt64) throws {
        loss = try NPIDLoss(config: config, datasetSize: datasetSize)
        bank = try MemoryBank(count: datasetSize, dimension: dimension, momentum: config.momentum, seed: seed)
    }

    /// The full-softmax loss and dL/df for f: [B, D] of the images `indices`.
    public func computeLoss(features: [Float], indices: [Int]) throws -> NPIDLossOutput {
        try loss.evaluate(features: features, indices: indices, bank: bank)
    }

    /// The bank update after the optimizer step.
    public func finishStep(features: [Float], indices: [Int]) throws {
        try bank.update(indices: indices, features: features)
    }
}
