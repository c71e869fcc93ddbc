import Collectives
import Foundation
import Methods
import Models
import Tensors
import Testing
@testable import Training

/// Runs `body(rank, communicator)` on `size` threads of one `ThreadGroup`; returns each rank's
/// result (or rethrows the first error).
func onRanks<T: Sendable>(_ size: Int, _ body: @escaping @Sendable (Int, any Communicator) throws -> T) throws -> [T] {
    let group = ThreadGroup(size: size)
    let results = RankResults<T>()
    for rank in 0..<size {
        Thread { results.set(rank, Result { try body(rank, group.member(rank)) }) }.start()
    }
    return try results.wait(for: size).map { try $0.get() }
}

/// Results handed from rank threads to the test.
final class RankResults<T: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private var values: [Int: Result<T, Error>] = [:]

    func set(_ rank: Int, _ value: Result<T, Error>) {
        condition.lock(); values[rank] = value; condition.broadcast(); condition.unlock()
    }

    func wait(for count: Int) -> [Result<T, Error>] {
        condition.lock(); defer { condition.unlock() }
        while values.count < count { condition.wait() }
        return (0..<count).map { values[$0]! }
    }
}

/// The data-parallel pieces of training, with ranks as threads (`ThreadGroup`).
@Suite struct DataParallelTests {
    /// Sums, variable-size gathers and broadcasts give every rank the same, rank-ordered result.
    @Test func threadGroupCollectives() throws {
        let results = try onRanks(3) { rank, c -> [String] in
            var sums: [Float] = [Float(rank), 1]
            try c.allreduceSum(&sums)
            let gathered = try c.allgather(Array(repeating: Int32(rank), count: rank + 1))
            var root = rank == 2 ? [7.5, 8.5] : [0.0, 0.0]
            try c.broadcast(&root, root: 2)
            let name = try c.broadcast(rank == 0 ? "runs/a-b" : "ignored")
            return ["\(sums)", "\(gathered)", "\(root)", name]
        }
        for r in results { #expect(r == ["[3.0, 3.0]", "[0, 1, 1, 2, 2, 2]", "[7.5, 8.5]", "runs/a-b"]) }
    }

    /// Each gradient becomes the mean over the ranks, across bucket boundaries, and a parameter
    /// without a gradient counts as zeros.
    @Test func gradientsAreAveragedInBuckets() throws {
        let results = try onRanks(2) { rank, c -> [[Float]] in
            let a = Tensor.zeros([3], requiresGrad: true), b = Tensor.zeros([4], requiresGrad: true), unused = Tensor.zeros([2], requiresGrad: true)
            a.grad = try Tensor(shape: [3], values: [1, 2, 3].map { $0 * Float(rank + 1) })
            b.grad = try Tensor(shape: [4], values: [Float](repeating: Float(10 * rank), count: 4))
            if rank == 1 { unused.grad = try Tensor(shape: [2], values: [4, 6]) }
            var parallel = DataParallel(communicator: c)
            parallel.bucketFloats = 5   // a in one bucket, b and unused in the next
            let sent = try parallel.averageGradients([a, b, unused])
            #expect(sent == 9 * 4)
            return [a.grad!.toArray(), b.grad!.toArray(), unused.grad!.toArray()]
        }
        for r in results { #expect(r == [[1.5, 3, 4.5], [5, 5, 5, 5], [2, 3]]) }
    }

    /// The global batch is every rank's share in rank order; a bank updated from it is the same
    /// on every rank, and an index present on two ranks takes the last rank's value.
    @Test func theBankMovesWithTheGlobalBatchAndTheLastRankWins() throws {
        let banks = try onRanks(2) { rank, c -> [Float] in
            let bank = try MemoryBank(count: 4, dimension: 2, momentum: 0, seed: 1)
            let features: [Float] = rank == 0 ? [1, 0, 0, 1] : [-1, 0, 1, 1]
            let global = try DataParallel(communicator: c).gatherStep(features: features, indices: rank == 0 ? [0, 2] : [2, 3], records: [])
            #expect(global.indices == [0, 2, 2, 3])
            try bank.update(indices: global.indices, features: global.features)
            return bank.storage
        }
        #expect(banks[0] == banks[1])
        let half = Float(0.5).squareRoot()
        let expected: [Float] = [1, 0, banks[0][2], banks[0][3], -1, 0, half, half]   // row 1 untouched; row 2 from rank 1
        #expect(zip(banks[0], expected).allSatisfy { abs($0 - $1) < 1e-6 })
    }

    /// Loss and terms are averaged, counts summed; a stop asked on one rank stops every rank.
    @Test func stepStatisticsAndStopsAreCombined() throws {
        let results = try onRanks(2) { rank, c -> [String] in
            let parallel = DataParallel(communicator: c)
            let local = MethodLoss(loss: Float(rank + 1), terms: [Float(2 * rank)], gradient: [], counts: ["seen": Double(rank + 3)])
            let combined = try parallel.combine(local)
            let stop = try parallel.agree(on: rank == 1 ? .saveAndStop : .none)
            return ["\(combined.loss)", "\(combined.terms)", "\(combined.counts)", "\(stop)"]
        }
        for r in results { #expect(r == ["1.5", "[1.0]", "[\"seen\": 7.0]", "saveAndStop"]) }
    }

    /// Ranks whose weights differ are stopped with an error that says what differs.
    @Test func disagreeingRanksAreStopped() throws {
        let messages = try onRanks(2) { rank, c -> String in
            let config = ResNetConfig(depth: 18, stem: .cifar, inputChannels: 1, width: 0.125, head: .linear, outputDimension: 8)
            let model = try ResNet(config, seed: UInt64(rank))   // different seeds: different weights
            let method = try NPID(config: NPIDConfig(), datasetSize: 8, dimension: 8, seed: 0)
            do { try DataParallel(communicator: c).checkAgreement(model: model, method: method, step: 3, when: "after epoch 1") } catch {
                return "\(error)"
            }
            return "no error"
        }
        for m in messages { #expect(m.contains("disagree on the network weights and buffers after epoch 1")) }
    }

    /// Two ranks as threads train a whole (tiny) run in one directory: rank 0 alone writes,
    /// both end with bit-identical checkpoints' worth of state, and the run resumes in one
    /// process to the end.
    @Test func twoRanksTrainOneRunAndOneProcessResumesIt() throws {
        var config = shapesConfig(images: 128, epochs: 2)
        config.batchSize = 32
        config.precision = "fp32"
        config.invp.backgroundCount = 64
        config.invp.warmUpEpochs = 1
        config.healthSample = 0
        config.syncBatchNorm = true
        let directory = temporaryRunDirectory("parallel")
        defer { try? FileManager.default.removeItem(at: directory) }
        let partial = config
        // An epoch and a step on two ranks, then a stop that rank 1 alone asks for.
        let hashes = try onRanks(2) { rank, c -> [UInt64] in
            let trainer = try Trainer(config: partial, runDirectory: directory, resume: false, communicator: c)
            var steps = 0
            _ = try trainer.run { steps += 1; return rank == 1 && steps == 5 ? .saveAndStop : .none }
            return [StateChecksum.model(trainer.model), StateChecksum.method(trainer.method)]
        }
        #expect(hashes[0] == hashes[1])
        #expect(try readMetrics(directory).count == 1, "rank 0 alone appends the epoch's line")
        let resumed = try Trainer(config: config, runDirectory: directory, resume: true)
        let summary = try resumed.run()
        #expect(summary.finished && summary.completedEpochs == 2)
        #expect(try readMetrics(directory).map(\.epoch) == [1, 2])
    }
}

/// The clustering methods follow the interface's data-parallel rule: their state (ODC's memory,
/// labels and centroids; CoKe's duals, centres and assignments) stays identical on two
/// thread-ranks over two epochs (the trainer compares checksums at every epoch end and would
/// throw), and the ranks end with the same head or predictor.
@Suite struct ClusteringMethodsInParallelTests {
    @Test(arguments: ["odc", "coke"])
    func theirStateStaysIdenticalOnEveryRank(method: String) throws {
        var config = shapesConfig(images: 256, epochs: 2)
        config.method = method
        config.batchSize = 32
        config.knnEvery = 0
        config.healthSample = 0
        var options = MethodOptions()
        var odc = ODCConfig()
        odc.clusters = 8; odc.minimumClusterSize = 4; odc.centroidInterval = 3
        options.odc = odc
        var coke = CoKeConfig()
        coke.clusters = [6, 10]
        options.coke = coke
        config.methodOptions = options
        let directory = temporaryRunDirectory("parallel-\(method)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let run = config
        let hashes = try onRanks(2) { _, c -> [UInt64] in
            let trainer = try Trainer(config: run, runDirectory: directory, resume: false, communicator: c)
            let summary = try trainer.run()
            #expect(summary.finished)
            return [StateChecksum.model(trainer.model), StateChecksum.method(trainer.method)]
        }
        #expect(hashes[0] == hashes[1])
    }
}

/// Ranks that resolved different options are refused before any step.
@Suite struct DataParallelSetupTests {
    @Test func ranksWithOtherOptionsAreRefused() throws {
        let messages = try onRanks(2) { rank, c -> String in
            var config = shapesConfig(images: 128, epochs: 1)
            config.batchSize = 32
            config.invp.backgroundCount = 64
            config.learningRate = rank == 0 ? 0.1 : 0.2
            let directory = temporaryRunDirectory("setup-\(rank)")
            defer { try? FileManager.default.removeItem(at: directory) }
            do { _ = try Trainer(config: config, runDirectory: directory, resume: false, communicator: c) } catch { return "\(error)" }
            return "no error"
        }
        for m in messages { #expect(m.contains("rank 1 resolved another configuration or sees other data than rank 0")) }
    }

    /// What each of `ranks` processes says when it builds a trainer with `configure`'s options.
    func setupMessages(ranks: Int, _ configure: @escaping @Sendable (inout TrainingConfig) -> Void) throws -> [String] {
        try onRanks(ranks) { _, c -> String in
            var config = shapesConfig(images: 128, epochs: 1)
            configure(&config)
            do { _ = try Trainer(config: config, runDirectory: temporaryRunDirectory("setup"), resume: false, communicator: c) } catch { return "\(error)" }
            return "no error"
        }
    }

    /// A batch that the processes cannot share equally is refused, naming both numbers.
    @Test func aBatchThatCannotBeSharedIsRefused() throws {
        for m in try setupMessages(ranks: 3, { $0.batchSize = 32 }) {
            #expect(m.contains("--batch-size 32 must be a multiple of the number of processes (3)"))
        }
    }

    /// A time budget is refused with several processes (each would read its own clock).
    @Test func aTimeBudgetIsRefusedWithSeveralProcesses() throws {
        for m in try setupMessages(ranks: 2, { $0.maxMinutes = 1 }) { #expect(m.contains("--max-minutes works in one process only")) }
    }
}

/// How a process learns it was started by an MPI launcher.
@Suite struct LaunchTests {
    @Test func launchersAreRecognisedByTheirEnvironment() throws {
        #expect(!Launch.isUnderMPI([:]))
        #expect(Launch.isUnderMPI(["OMPI_COMM_WORLD_SIZE": "2"]))
        #expect(Launch.isUnderMPI(["PMIX_RANK": "0"]))
        #expect(Launch.isUnderMPI(["PMI_SIZE": "4"]))
        #expect(try Launch.communicator([:]).size == 1, "alone: a single process, nothing loaded")
        #expect(Launch.localProcessCount(["OMPI_COMM_WORLD_LOCAL_SIZE": "3"]) == 3)
        #expect(Launch.localProcessCount(["OMPI_COMM_WORLD_LOCAL_SIZE": "zero"]) == 1)
    }
}
