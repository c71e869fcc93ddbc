import Dispatch
import Foundation
import Testing
@testable import Kernels
@testable import Training

/// Two trainings in one process at once give exactly what each gives alone: the library keeps
/// no state that one run could change under the other.
@Suite struct ConcurrentTrainingTests {
    func config(seed: UInt64, method: String, precision: String) -> TrainingConfig {
        var c = shapesConfig(images: 256, epochs: 2)
        c.seed = seed
        c.method = method
        c.invp.backgroundCount = 128
        c.invp.warmUpEpochs = 1
        c.precision = precision
        return c
    }

    /// Both on all cores (the `shapesConfig` default of 2 threads): before sgemm was serialised,
    /// oneDNN's sgemm called from two threads at once gave other sums, and both runs drifted.
    @Test(arguments: ["fp32", "auto"])
    func twoTrainingsAtOnceMatchTheirSerialRuns(precision: String) throws {
        let configs = [config(seed: 1, method: "invp", precision: precision), config(seed: 2, method: "npid", precision: precision)]
        func train(_ c: TrainingConfig, _ name: String) throws -> String {
            let directory = temporaryRunDirectory("concurrent-\(name)")
            defer { try? FileManager.default.removeItem(at: directory) }
            _ = try Trainer(config: c, runDirectory: directory, resume: false).run()
            return try MethodRefactorTests.checkpointHash(directory.appendingPathComponent("checkpoint-last.safetensors"))
        }
        let serial = try configs.enumerated().map { try train($1, "serial-\($0)") }
        let results = ResultBox(count: configs.count)
        DispatchQueue.concurrentPerform(iterations: configs.count) { i in
            results.set(i, Result { try train(configs[i], "parallel-\(i)") })
        }
        for i in configs.indices {
            #expect(try results.get(i).get() == serial[i], "run \(i) differs when another trains beside it")
        }
    }
}

/// No computation reads memory after releasing it: a run whose released blocks are filled with
/// NaN bytes gives the same checkpoint as a normal run (before the fix of `Operand`, it did not).
@Suite(.serialized) struct ReleasedMemoryTests {
    @Test func trainingNeverReadsReleasedMemory() throws {
        var c = shapesConfig(images: 256, epochs: 2)
        c.invp.backgroundCount = 128
        c.invp.warmUpEpochs = 1
        func hash(poisoned: Bool) throws -> String {
            StoragePool.shared.poisonReleasedBlocks = poisoned
            defer { StoragePool.shared.poisonReleasedBlocks = false }
            let directory = temporaryRunDirectory("poison-\(poisoned)")
            defer { try? FileManager.default.removeItem(at: directory) }
            _ = try Trainer(config: c, runDirectory: directory, resume: false).run()
            return try MethodRefactorTests.checkpointHash(directory.appendingPathComponent("checkpoint-last.safetensors"))
        }
        #expect(try hash(poisoned: true) == hash(poisoned: false))
    }
}

/// Results written by concurrent workers, read after they finish.
final class ResultBox: @unchecked Sendable {
    private var values: [Result<String, Error>?]
    private let lock = NSLock()
    init(count: Int) { values = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ value: Result<String, Error>) { lock.lock(); values[i] = value; lock.unlock() }
    func get(_ i: Int) -> Result<String, Error> { lock.lock(); defer { lock.unlock() }; return values[i]! }
}
