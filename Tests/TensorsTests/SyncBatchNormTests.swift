import Foundation
import Testing
@testable import Tensors

/// One replica: the sum over replicas is the values themselves.
final class OneReplica: ReplicaSum {
    func sum(_ values: inout [Double]) {}
}

/// Synchronised batch norm against oneDNN's batch norm of the whole batch.
@Suite struct SyncBatchNormTests {
    /// The values, the three gradients and the running statistics of one replica equal plain
    /// batch norm's, with and without the fused ReLU.
    @Test(arguments: [false, true])
    func oneReplicaEqualsBatchNorm(relu: Bool) throws {
        var r = TestRandom(11)
        let x = r.tensor([4, 3, 5, 5]), g = r.tensor([3]), b = r.tensor([3])
        let seed = r.tensor([4, 3, 5, 5], grad: false)
        func run(sync: Bool) throws -> [[Float]] {
            for t in [x, g, b] { t.grad = nil }
            let mean = Tensor.zeros([3]), variance = Tensor.full([3], 1)
            let y = sync
                ? try Tensor.syncBatchNorm(x, weight: g, bias: b, runningMean: mean, runningVariance: variance, replicas: OneReplica(), fusedReLU: relu)
                : try Tensor.batchNorm(x, weight: g, bias: b, runningMean: mean, runningVariance: variance, training: true, fusedReLU: relu)
            try y.backward(seed: seed)
            return [y.toArray(), x.grad!.toArray(), g.grad!.toArray(), b.grad!.toArray(), mean.toArray(), variance.toArray()]
        }
        let synced = try run(sync: true), plain = try run(sync: false)
        for (part, (a, c)) in zip(synced, plain).enumerated() {
            #expect(zip(a, c).allSatisfy { abs($0 - $1) <= 1e-4 * max(1, abs($1)) }, "part \(part)")
        }
    }

    /// Central finite differences of the synchronised op itself.
    @Test func gradientsMatchFiniteDifferences() throws {
        var r = TestRandom(12)
        let x = r.tensor([3, 4, 5, 5]), g = r.tensor([4]), b = r.tensor([4])
        try checkGradients([x, g, b], step: 1e-2, tolerance: 3e-2) { t in
            try Tensor.syncBatchNorm(t[0], weight: t[1], bias: t[2], runningMean: Tensor.zeros([4]), runningVariance: Tensor.full([4], 1),
                                     replicas: OneReplica(), momentum: 0)
        }
    }
}
