import Collectives
import Foundation
import Methods
import Models
import NN
import Tensors

/// The data-parallel side of a run (docs/distributed.md). Every rank holds the whole model and
/// the whole method state; each takes an equal slice of every global batch. Per step the
/// gradients are averaged (allreduce, in fused buckets), and the method's state moves with the
/// whole global batch, all-gathered, on every rank alike; at each epoch end the ranks compare a
/// checksum of their weights and state. With one process every operation is the identity.
struct DataParallel {
    /// The job's processes.
    let communicator: any Communicator
    /// Floats per allreduce of the gradient (4 Mi floats, 16 MiB, near DDP's 25 MB bucket).
    var bucketFloats = 1 << 22
    /// The packed gradients of a bucket, kept from step to step (no allocation per step).
    private let bucket = GradientBucket()

    /// This process's rank.
    var rank: Int { communicator.rank }
    /// The number of processes.
    var size: Int { communicator.size }
    /// Whether more than one process trains.
    var isDistributed: Bool { size > 1 }
    /// Whether this process writes files and reports progress.
    var isPrimary: Bool { communicator.isPrimary }

    /// Replaces every gradient by its mean over the ranks: the gradients are packed into buckets
    /// of at most `bucketFloats`, each summed by one allreduce and scaled by 1/size. A parameter
    /// without a gradient on this rank (unused by the graph) counts as zeros, so every rank
    /// sends the same count. Returns the bytes this rank sent.
    func averageGradients(_ parameters: [Tensor]) throws -> Int {
        guard isDistributed else { return 0 }
        var start = 0, sent = 0
        while start < parameters.count {
            var end = start, floats = 0
            while end < parameters.count, floats == 0 || floats + parameters[end].count <= bucketFloats {
                floats += parameters[end].count; end += 1
            }
            try averageBucket(Array(parameters[start..<end]), floats: floats)
            sent += floats * 4
            start = end
        }
        return sent
    }

    /// One bucket: pack, allreduce, scale, unpack.
    private func averageBucket(_ parameters: [Tensor], floats: Int) throws {
        if bucket.values.count < floats { bucket.values = [Float](repeating: 0, count: floats) }
        try bucket.values.withUnsafeMutableBufferPointer { all in
            let buffer = UnsafeMutableBufferPointer(rebasing: all[0..<floats])
            var offset = 0
            for p in parameters {
                let part = UnsafeMutableBufferPointer(rebasing: buffer[offset..<offset + p.count])
                if let grad = p.grad { grad.withFloats { _ = part.update(fromContentsOf: $0) } } else { part.update(repeating: 0) }
                offset += p.count
            }
            try communicator.allreduceSum(buffer)
            let scale = 1 / Float(size)
            offset = 0
            for p in parameters {
                if p.grad == nil { p.grad = Tensor.zeros(p.shape) }
                p.grad!.withFloats { g in for i in 0..<p.count { g[i] = buffer[offset + i] * scale } }
                offset += p.count
            }
        }
    }

    /// The global batch: every rank's f: [B_r, D], indices [B_r] and records [B_r, w], each
    /// concatenated in rank order. Returns the bytes this rank sent beside them.
    func gatherStep(features: [Float], indices: [Int], records: [Int32]) throws -> (features: [Float], indices: [Int], records: [Int32], bytes: Int) {
        guard isDistributed else { return (features, indices, records, 0) }
        let allFeatures = try communicator.allgather(features)
        let allIndices = try communicator.allgather(indices.map { Int64($0) }).map { Int($0) }
        let allRecords = records.isEmpty ? [] : try communicator.allgather(records)
        return (allFeatures, allIndices, allRecords, features.count * 4 + indices.count * 8 + records.count * 4)
    }

    /// The step's loss and terms averaged over the ranks and its counts summed, so that every
    /// rank logs what one process with the global batch would (each rank's loss is already the
    /// mean over its equal share). Count keys are taken in sorted order; every rank's method
    /// produces the same keys.
    func combine(_ local: MethodLoss) throws -> MethodLoss {
        guard isDistributed else { return local }
        let keys = local.counts.keys.sorted()
        var values = [Double(local.loss)] + local.terms.map(Double.init) + keys.map { local.counts[$0]! }
        try communicator.allreduceSum(&values)
        let scale = 1 / Double(size), t = local.terms.count
        var combined = local
        combined.loss = Float(values[0] * scale)
        combined.terms = (0..<t).map { Float(values[1 + $0] * scale) }
        combined.counts = Dictionary(uniqueKeysWithValues: keys.enumerated().map { ($1, values[1 + t + $0]) })
        return combined
    }

    /// The most urgent stop request of any rank (a Ctrl-C reaches the ranks at different steps;
    /// all of them must stop after the same one).
    func agree(on request: StopRequest) throws -> StopRequest {
        guard isDistributed else { return request }
        return StopRequest(urgency: try communicator.allgatherValue(request.urgency).max() ?? 0)
    }

    /// Rank 0's buffers (batch-norm running statistics) on every rank: with per-rank batch
    /// norm they drift apart in training, as in PyTorch DDP, which broadcasts them from rank 0.
    func broadcastBuffers(_ model: ResNet) throws {
        guard isDistributed else { return }
        for (_, buffer) in model.namedBuffers {
            var values = buffer.toArray()
            try communicator.broadcast(&values)
            buffer.withFloats { b in for i in 0..<values.count { b[i] = values[i] } }
        }
    }

    /// Throws, before any step, when the ranks resolved different configurations or see
    /// different data (the configuration's JSON, the number of training images and the first
    /// image's path or dataset name, hashed and compared over all ranks).
    func checkSameSetup(configuration: String, trainingImages: Int, firstImage: String) throws {
        guard isDistributed else { return }
        var hash = StateChecksum.offset
        StateChecksum.add(Array("\(configuration)|\(trainingImages)|\(firstImage)".utf8), to: &hash)
        let all = try communicator.allgatherValue(hash)
        if let other = all.firstIndex(where: { $0 != all[0] }) {
            throw TrainingError.invalidOption("rank \(other) resolved another configuration or sees other data than rank 0 "
                + "(\(trainingImages) training images here, first \(firstImage)); every process must run the same invprop with the "
                + "same options and the same data paths")
        }
    }

    /// Throws naming what differs when the ranks' weights, buffers or method state are not
    /// bit-identical (FNV-1a checksums compared over all ranks).
    func checkAgreement(model: ResNet, method: any TrainingMethod, step: Int, when: String) throws {
        guard isDistributed else { return }
        let mine: [UInt64] = [UInt64(step), StateChecksum.model(model), StateChecksum.method(method)]
        let all = try communicator.allgather(mine)
        for (part, name) in [(0, "step"), (1, "network weights and buffers"), (2, "method state (memory bank, tables)")] {
            let values = Set(stride(from: part, to: all.count, by: 3).map { all[$0] })
            guard values.count == 1 else {
                throw TrainingError.invalidOption("data-parallel ranks disagree on the \(name) \(when); "
                    + "every rank must read the same data and checkpoint (is the run directory on a filesystem every machine sees?)")
            }
        }
    }
}

/// The reusable buffer `DataParallel.averageGradients` packs each bucket into.
final class GradientBucket {
    var values: [Float] = []
}

/// 64-bit FNV-1a checksums of training state, to compare ranks.
enum StateChecksum {
    /// Over every parameter and buffer of the network, in state-dict order.
    static func model(_ model: ResNet) -> UInt64 {
        var hash = offset
        for (_, t) in model.namedParameters + model.namedBuffers { add(t.toArray(), to: &hash) }
        return hash
    }

    /// Over every tensor of the method's state, by name.
    static func method(_ method: any TrainingMethod) -> UInt64 {
        var hash = offset
        for (_, tensor) in method.stateTensors().sorted(by: { $0.key < $1.key }) {
            switch tensor {
            case .floats(let values, _): add(values, to: &hash)
            case .int32s(let values, _): add(values, to: &hash)
            }
        }
        if let layer = method.module?.layer { for (_, t) in layer.namedParameters { add(t.toArray(), to: &hash) } }
        return hash
    }

    static let offset: UInt64 = 0xcbf2_9ce4_8422_2325

    static func add<T: BitwiseCopyable>(_ values: [T], to hash: inout UInt64) {
        values.withUnsafeBytes { bytes in
            for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        }
    }
}

extension ResNet {
    /// Makes every batch norm of the network normalise in training with the statistics of the
    /// global batch, summed over `communicator`'s processes (synchronised batch norm).
    public func synchroniseBatchNorms(over communicator: any Communicator) {
        let sum = CommunicatorSum(communicator)
        for norm in batchNorms { norm.replicaSum = sum }
    }
}

/// Batch-norm statistics summed over the ranks (synchronised batch norm). A collective that
/// fails inside a backward pass cannot be reported up the graph: it ends the job with a message.
final class CommunicatorSum: ReplicaSum {
    let communicator: any Communicator

    init(_ communicator: any Communicator) { self.communicator = communicator }

    func sum(_ values: inout [Double]) {
        do { try communicator.allreduceSum(&values) } catch {
            FileHandle.standardError.write(Data("invprop: rank \(communicator.rank): synchronised batch norm: \(error)\n".utf8))
            communicator.abort(code: 1)
        }
    }
}

extension StopRequest {
    /// 0 none, 1 save and stop, 2 abandon.
    var urgency: Double {
        switch self {
        case .none: return 0
        case .saveAndStop: return 1
        case .abandon: return 2
        }
    }

    /// The request of an urgency.
    init(urgency: Double) {
        self = urgency >= 2 ? .abandon : urgency >= 1 ? .saveAndStop : .none
    }
}
