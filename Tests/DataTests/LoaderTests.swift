import Foundation
import Testing
@testable import Data

/// Drains an epoch into an array.
func allBatches(_ loader: DataLoader, epoch: Int) throws -> [Batch] {
    let iterator = loader.epoch(epoch)
    var batches: [Batch] = []
    while let batch = try iterator.next() { batches.append(batch) }
    return batches
}

@Suite("DataLoader")
struct LoaderTests {
    let cifar = AugmentationPresets.cifarInvP()

    @Test("a seed reproduces every batch exactly with 0, 1 and 3 workers")
    func deterministicAcrossWorkers() throws {
        let dataset = SyntheticImageDataset(count: 100)
        var runs: [[Batch]] = []
        for workers in [0, 1, 3] {
            let loader = try DataLoader(dataset: dataset, transform: cifar, batchSize: 16, seed: 9, workers: workers, prefetch: 3)
            runs.append(try allBatches(loader, epoch: 2))
        }
        #expect(runs[0].count == 7)
        for run in runs.dropFirst() {
            #expect(run.count == runs[0].count)
            for (a, b) in zip(run, runs[0]) {
                #expect(a.indices == b.indices && a.labels == b.labels && a.images == b.images)
                #expect(a.shape == b.shape)
            }
        }
        #expect(runs[0][0].shape == [16, 3, 32, 32])
        #expect(runs[0][6].shape == [4, 3, 32, 32])
        // The batch holds what `sample` gives for each index, at offset b·C·H·W.
        let loader = try DataLoader(dataset: dataset, transform: cifar, batchSize: 16, seed: 9, workers: 0)
        let third = try loader.sample(index: runs[0][1].indices[2], epoch: 2)
        #expect(Array(runs[0][1].images[(2 * 3072)..<(3 * 3072)]) == third.pixels)
        #expect(runs[0][1].labels == runs[0][1].indices.map { $0 % 10 })
        // Another seed or epoch augments differently.
        let other = try DataLoader(dataset: dataset, transform: cifar, batchSize: 16, seed: 10, workers: 1)
        #expect(try allBatches(other, epoch: 2)[0].images != runs[0][0].images)
        #expect(try allBatches(loader, epoch: 3)[0].indices != runs[0][0].indices)
    }

    @Test("drop-last drops the short batch; otherwise every index appears once")
    func dropLast() throws {
        let dataset = InMemoryDataset(count: 10)
        let eval = AugmentationPipeline(name: "identity", [])
        let dropping = try DataLoader(dataset: dataset, transform: eval, batchSize: 4, dropLast: true, workers: 2)
        #expect(dropping.batchesPerEpoch == 2)
        #expect(try allBatches(dropping, epoch: 0).map(\.count) == [4, 4])
        let keeping = try DataLoader(dataset: dataset, transform: eval, batchSize: 4, dropLast: false, workers: 2)
        let batches = try allBatches(keeping, epoch: 0)
        #expect(batches.map(\.count) == [4, 4, 2])
        #expect(batches.flatMap(\.indices).sorted() == Array(0..<10))
        // The identity pipeline's batch is ToTensor of the image: first value index / 255.
        for batch in batches {
            for (slot, index) in batch.indices.enumerated() {
                #expect(batch.images[slot * 3 * 64] == Float(index) / 255)
            }
        }
    }

    @Test("the epoch order is a permutation, a pure function of (seed, epoch)")
    func shuffleOrder() throws {
        let dataset = InMemoryDataset(count: 1000)
        let loader = try DataLoader(dataset: dataset, transform: cifar, batchSize: 10, seed: 5)
        let order = loader.order(epoch: 0)
        #expect(order.sorted() == Array(0..<1000))
        #expect(order != Array(0..<1000))
        #expect(loader.order(epoch: 0) == order)
        #expect(loader.order(epoch: 1) != order)
        let twin = try DataLoader(dataset: dataset, transform: cifar, batchSize: 64, seed: 5, workers: 7)
        #expect(twin.order(epoch: 0) == order)
        let sequential = try DataLoader(dataset: dataset, transform: cifar, batchSize: 10, shuffle: false)
        #expect(sequential.order(epoch: 3) == Array(0..<1000))
    }

    @Test("a fixed subset is visited exactly; bad subsets and settings are rejected")
    func subset() throws {
        let dataset = InMemoryDataset(count: 50)
        let subset = [5, 7, 9, 11, 40]
        let loader = try DataLoader(dataset: dataset, transform: AugmentationPipeline(name: "id", []),
                                    batchSize: 2, seed: 1, workers: 2, subset: subset)
        let seen = try allBatches(loader, epoch: 0).flatMap(\.indices)
        #expect(seen.sorted() == subset)
        #expect(throws: DataError.self) {
            try DataLoader(dataset: dataset, transform: cifar, batchSize: 2, subset: [50])
        }
        #expect(throws: DataError.self) { try DataLoader(dataset: dataset, transform: cifar, batchSize: 0) }
        // CIFAR statistics on a grey dataset: rejected before any work.
        #expect(throws: DataError.self) {
            try DataLoader(dataset: InMemoryDataset(count: 4, channels: 1), transform: cifar, batchSize: 2)
        }
    }

    @Test("unlabelled datasets give nil labels")
    func unlabelled() throws {
        let dataset = InMemoryDataset(count: 6, classCount: nil)
        let loader = try DataLoader(dataset: dataset, transform: AugmentationPipeline(name: "id", []), batchSize: 3, workers: 1)
        #expect(try allBatches(loader, epoch: 0).allSatisfy { $0.labels == nil })
    }

    @Test("a decoding error reaches the consumer, naming the file, with 0 and 2 workers")
    func decodingError() throws {
        let dataset = InMemoryDataset(count: 40, failing: [13])
        for workers in [0, 2] {
            let loader = try DataLoader(dataset: dataset, transform: cifar, batchSize: 4, shuffle: false, workers: workers)
            let iterator = loader.epoch(0)
            var delivered = 0
            do {
                while try iterator.next() != nil { delivered += 1 }
                Issue.record("no error thrown")
            } catch let error as DataError {
                #expect(error == .malformed(path: "images/13.png", reason: "truncated PNG"))
                #expect(error.description.contains("images/13.png"))
            }
            #expect(delivered == 3)  // batches 0, 1, 2 come before the one holding index 13
            #expect(try iterator.next() == nil)  // the epoch is over after an error
        }
    }

    @Test("abandoning an epoch early joins the workers: no read after release, none past the prefetch window")
    func earlyAbandonment() throws {
        let counter = ReadCounter()
        let dataset = InMemoryDataset(count: 2000, delaySeconds: 0.002, reads: counter)
        let loader = try DataLoader(dataset: dataset, transform: cifar, batchSize: 32, workers: 3, prefetch: 3)
        var iterator: EpochIterator? = loader.epoch(0)
        #expect(try iterator?.next()?.count == 32)
        iterator = nil  // deinit cancels and joins
        // Promptness as work, not wall-clock time (which depends on the machine): with batch 0
        // consumed, workers may claim batches 1...3 only, so at most 4 × 32 reads ever happen,
        // and once the release has returned the workers are joined, so the count no longer moves.
        let readsAtStop = counter.count
        #expect(readsAtStop <= 32 * (1 + 3))
        Thread.sleep(forTimeInterval: 0.1)  // time for a worker left running to show itself by reading
        #expect(counter.count == readsAtStop)
        // An explicit cancel mid-epoch, then next() is nil.
        let second = loader.epoch(1)
        _ = try second.next()
        second.cancel()
        #expect(try second.next() == nil)
    }

    @Test("worker threads that never start cost no batch and no hang; too many workers are refused")
    func workersThatNeverStart() throws {
        // Foundation's Thread.start() fails without a word past the system's thread limit: the
        // epoch used to count such a worker as live and wait for it forever at its end.
        let dataset = SyntheticImageDataset(count: 100)
        let loader = try DataLoader(dataset: dataset, transform: cifar, batchSize: 16, seed: 3, workers: 3, prefetch: 2)
        let expected = try allBatches(DataLoader(dataset: dataset, transform: cifar, batchSize: 16, seed: 3, workers: 0), epoch: 2)
        for started in [0, 1] {
            var threads = 0
            let iterator = EpochIterator(loader: loader, epoch: 2, skip: 0) { thread in
                if threads < started { thread.start() }   // the rest are "refused"
                threads += 1
            }
            var batches: [Batch] = []
            while let batch = try iterator.next() { batches.append(batch) }
            #expect(batches == expected, "\(started) of 3 workers started")
            // Cancelling mid-epoch must not wait for the workers that never ran either.
            let partial = EpochIterator(loader: loader, epoch: 2, skip: 0) { _ in }
            #expect(try partial.next() == expected.first)
            partial.cancel()
            #expect(try partial.next() == nil)
        }
        #expect(throws: DataError.invalidOption("workers must be in 0…\(DataLoader.maximumWorkers), got 40000")) {
            try DataLoader(dataset: dataset, transform: cifar, batchSize: 16, workers: 40_000)
        }
    }

    @Test("prefetch bounds the work done ahead of the consumer")
    func boundedPrefetch() throws {
        let counter = ReadCounter()
        let dataset = InMemoryDataset(count: 400, reads: counter)
        let loader = try DataLoader(dataset: dataset, transform: cifar, batchSize: 10, workers: 2, prefetch: 2)
        let iterator = loader.epoch(0)
        _ = try iterator.next()
        // The consumer holds batch 0; workers may build batches 1 and 2 only (30 reads in all).
        // Wait (up to 5 s on a busy machine) until they have, then give them time to overrun.
        let deadline = Date().addingTimeInterval(5)
        while counter.count < 30 && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        Thread.sleep(forTimeInterval: 0.2)
        #expect(counter.count == 30)
        iterator.cancel()
    }

    @Test("benchmark reports images per second on the synthetic CIFAR-like set")
    func benchmark() throws {
        let dataset = SyntheticImageDataset(count: 1024)
        let result = try DataBenchmark.measure(dataset: dataset, transform: cifar, batchSize: 64, workers: 2, batches: 4, runs: 3)
        #expect(result.runs.count == 3 && result.imagesPerSecond > 0 && result.imagesPerRun == 256)
        let perCore = try DataBenchmark.measureTransform(dataset: dataset, transform: cifar, images: 500)
        print("cifar-invp loader (2 workers): \(result); transform alone, 1 thread: \(Int(perCore)) images/s")
    }
}
