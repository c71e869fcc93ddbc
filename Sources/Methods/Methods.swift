import Kernels

/// Invariance Propagation (SPEC.md): an instance term and an invariance term over the hard positives
/// propagated through the neighbour table, both against each row's M nearest bank entries; the bank
/// and the table are its state.
public final class InvariancePropagation: TrainingMethod {
    /// The options.
    public var config: InvPConfig { loss.config }
    /// The memory bank (N × D).
    public let bank: MemoryBank
    /// The neighbour table (N × k).
    public let table: NeighbourTable
    /// The loss with its workspace.
    public let loss: InvPLoss
    /// Labels of the training images for purity (never used to train); nil: no purity.
    let diagnosticLabels: [Int32]?

    /// A fresh method: bank initialised from `seed` (SPEC step 11), table all zeros.
    public init(config: InvPConfig, datasetSize: Int, dimension: Int = 128, seed: UInt64, diagnosticLabels: [Int32]? = nil) throws {
        loss = try InvPLoss(config: config, datasetSize: datasetSize)
        bank = try MemoryBank(count: datasetSize, dimension: dimension, momentum: config.momentum, seed: seed)
        try bank.setProductPrecision(config.bankPrecision ?? .fp32)
        table = try NeighbourTable(count: datasetSize, neighbours: config.neighbourCount)
        self.diagnosticLabels = diagnosticLabels
    }

    /// The registry's constructor: `setup`'s options with the invariance term on or off.
    convenience init(setup: MethodSetup, invarianceEnabled: Bool) throws {
        var options = setup.invp
        options.invarianceEnabled = invarianceEnabled
        try self.init(config: options, datasetSize: setup.datasetSize, dimension: setup.dimension, seed: setup.seed,
                      diagnosticLabels: setup.diagnosticLabels)
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

    // MARK: TrainingMethod

    /// The instance term (SPEC step 5) and the invariance term (SPEC step 8).
    public var lossTermNames: [String] { ["instance", "invariance"] }

    /// The memory bank.
    public var memoryBank: MemoryBank? { bank }

    /// SPEC steps 1–9 for the trainer; purity counts ride along when labels were given; the
    /// records are each anchor's k + 1 nearest bank entries, [B, k+1], for the table update.
    public func computeLoss(features: [Float], indices: [Int], epoch: Int) throws -> MethodLoss {
        try trainerLoss(features: features, indices: indices, epoch: epoch, keepTargets: false)
    }

    /// `computeLoss` with each anchor's background and positives kept (`InvPTargets`).
    public func computeLossKeepingTargets(features: [Float], indices: [Int], epoch: Int) throws -> MethodLoss {
        try trainerLoss(features: features, indices: indices, epoch: epoch, keepTargets: true)
    }

    /// SPEC steps 1–9 with the background and positives of `targets` (an `InvPTargets` kept for
    /// the same anchors) instead of those f's similarities would choose.
    public func computeLoss(features: [Float], indices: [Int], epoch: Int, against targets: (any Sendable)?) throws -> MethodLoss {
        guard let given = targets as? InvPTargets else {
            throw MethodsError.invalidInput("InvP scores a transformed view only against targets kept by computeLossKeepingTargets")
        }
        let out = try loss.evaluate(features: features, indices: indices, epoch: epoch, bank: bank, table: table, targets: given)
        return MethodLoss(loss: out.loss, terms: [out.instanceLoss, out.invarianceLoss], gradient: out.gradient, records: out.nearest)
    }

    /// The trainer's loss record for f, with purity counts when labels were given.
    private func trainerLoss(features: [Float], indices: [Int], epoch: Int, keepTargets: Bool) throws -> MethodLoss {
        let out = try loss.evaluate(features: features, indices: indices, epoch: epoch, bank: bank, table: table,
                                    diagnostics: diagnosticLabels != nil, keepTargets: keepTargets)
        var counts: [String: Double] = [:]
        if let labels = diagnosticLabels, let diagnostics = out.diagnostics {
            counts = try PurityCounts.measure(anchors: indices, diagnostics: diagnostics, labels: labels).asCounts
        }
        return MethodLoss(loss: out.loss, terms: [out.instanceLoss, out.invarianceLoss], gradient: out.gradient, counts: counts,
                          records: out.nearest, targets: out.targets)
    }

    /// k + 1 nearest entries per anchor.
    public var recordWidth: Int { table.neighbours + 1 }

    /// SPEC steps 10 and 11 with the nearest entries `records` the loss found, [B, k+1].
    public func finishStep(features: [Float], indices: [Int], records: [Int32]) throws -> [String: Double] {
        try table.update(indices: indices, nearest: records)
        try bank.update(indices: indices, features: features)
        return [:]
    }

    /// The bank from the initial network's features, then every table row from that bank.
    public func start(fromFeatures features: [Float]) throws {
        try bank.fill(features: features)
        try initializeNeighboursFromBank()
    }

    /// λ·w(epoch) (`invariance_weight`) and, with labels, the purity of propagated candidates
    /// and chosen positives (`purity_candidates`, `purity_hard`).
    public func epochDiagnostics(epoch: Int, counts: [String: Double]) -> [String: Double] {
        var result = ["invariance_weight": Double(config.invarianceEnabled ? config.invarianceWeight * config.rampWeight(epoch: epoch) : 0)]
        let purity = PurityCounts(counts: counts)
        result["purity_candidates"] = purity.candidatePurity
        result["purity_hard"] = purity.positivePurity
        return result
    }

    /// Purity as a fraction of candidates (or positives) with the anchor's label; the weight is a plain factor.
    public var diagnosticUnits: [String: String] {
        ["purity_candidates": DiagnosticUnit.fraction, "purity_hard": DiagnosticUnit.fraction]
    }

    /// `bank` [N, D] and `table` [N, k].
    public func stateTensors() -> [String: MethodStateTensor] {
        ["bank": bank.stateTensor, "table": .int32s(table.storage, shape: [table.count, table.neighbours])]
    }

    /// Checks both tensors, then restores them.
    public func restoreState(_ tensors: [String: MethodStateTensor]) throws {
        let bankValues = try bank.values(from: tensors["bank"], name: "bank")
        guard case .int32s(let tableValues, let shape)? = tensors["table"], shape == [table.count, table.neighbours] else {
            throw MethodsError.invalidInput("the checkpoint lacks method.table as int32 [\(table.count), \(table.neighbours)]")
        }
        try table.check(tableValues)   // both checked before either changes
        try bank.restore(bankValues)
        try table.restore(tableValues)
    }
}

/// NPID as a method: owns its memory bank and loss workspace. Per step: `computeLoss` → backward
/// → optimizer step → `finishStep` (bank update).
public final class NPID: TrainingMethod {
    /// The options.
    public var config: NPIDConfig { loss.config }
    /// The memory bank (N × D).
    public let bank: MemoryBank
    /// The loss with its workspace.
    public let loss: NPIDLoss

    /// The registry's constructor: τ and m from `setup`'s options.
    convenience init(setup: MethodSetup) throws {
        var options = NPIDConfig()
        options.temperature = setup.invp.temperature
        options.momentum = setup.invp.momentum
        options.bankPrecision = setup.invp.bankPrecision
        try self.init(config: options, datasetSize: setup.datasetSize, dimension: setup.dimension, seed: setup.seed)
    }

    /// A fresh method with the bank initialised from `seed`.
    public init(config: NPIDConfig, datasetSize: Int, dimension: Int = 128, seed: UInt64) throws {
        loss = try NPIDLoss(config: config, datasetSize: datasetSize)
        bank = try MemoryBank(count: datasetSize, dimension: dimension, momentum: config.momentum, seed: seed)
        try bank.setProductPrecision(config.bankPrecision ?? .fp32)
    }

    /// The full-softmax loss and dL/df for f: [B, D] of the images `indices`.
    public func computeLoss(features: [Float], indices: [Int]) throws -> NPIDLossOutput {
        try loss.evaluate(features: features, indices: indices, bank: bank)
    }

    /// The bank update after the optimizer step.
    public func finishStep(features: [Float], indices: [Int]) throws {
        try bank.update(indices: indices, features: features)
    }

    /// The bank update (NPID needs no records).
    public func finishStep(features: [Float], indices: [Int], records: [Int32]) throws -> [String: Double] {
        try finishStep(features: features, indices: indices)
        return [:]
    }

    // MARK: TrainingMethod

    /// The one term: instance discrimination over the whole bank.
    public var lossTermNames: [String] { ["instance"] }

    /// The memory bank.
    public var memoryBank: MemoryBank? { bank }

    /// The full-softmax loss for the trainer.
    public func computeLoss(features: [Float], indices: [Int], epoch: Int) throws -> MethodLoss {
        let out = try computeLoss(features: features, indices: indices)
        return MethodLoss(loss: out.loss, terms: [out.loss], gradient: out.gradient)
    }

    /// The bank from the initial network's features.
    public func start(fromFeatures features: [Float]) throws { try bank.fill(features: features) }

    /// NPID has no per-epoch diagnostics.
    public func epochDiagnostics(epoch: Int, counts: [String: Double]) -> [String: Double] { [:] }

    /// `bank` [N, D].
    public func stateTensors() -> [String: MethodStateTensor] { ["bank": bank.stateTensor] }

    /// Checks and restores the bank.
    public func restoreState(_ tensors: [String: MethodStateTensor]) throws {
        try bank.restore(try bank.values(from: tensors["bank"], name: "bank"))
    }
}
