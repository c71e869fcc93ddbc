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

    /// SPEC steps 1–9 for f: [B, D] of the images `indices` at 0-based `epoch`.
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
