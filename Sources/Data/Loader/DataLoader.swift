import Randomness
import Foundation

/// One mini-batch: dataset indices, augmented images as one contiguous NCHW buffer, labels.
public struct Batch: Sendable, Equatable {
    /// Dataset indices of the samples, in batch order: [B].
    public var indices: [Int]
    /// Images, `[B, C, H, W]` row-major: sample b starts at `b * channels * height * width`.
    public var images: [Float]
    /// Labels [B], nil when the dataset (or any sample) is unlabelled.
    public var labels: [Int]?
    /// C.
    public var channels: Int
    /// H.
    public var height: Int
    /// W.
    public var width: Int

    /// B, the number of samples.
    public var count: Int { indices.count }
    /// The shape `[B, C, H, W]`.
    public var shape: [Int] { [count, channels, height, width] }
}

/// Loads shuffled, augmented mini-batches from an `ImageDataset` on background threads.
///
/// Determinism: the epoch order is a pure function of (seed, epoch), and sample `i`'s
/// augmentation draws from a generator derived from (seed, epoch, i), so an epoch's batches are
/// identical for any number of workers. Workers build whole batches, at most `prefetch` ahead
/// of the consumer (bounded memory); errors thrown by the dataset reach the consumer unchanged.
public final class DataLoader: Sendable {
    /// The images.
    public let dataset: any ImageDataset
    /// The per-sample augmentation (ToTensor first, then its steps).
    public let transform: AugmentationPipeline
    /// Samples per batch.
    public let batchSize: Int
    /// Whether each epoch visits the samples in a fresh random order.
    public let shuffle: Bool
    /// Whether a last, smaller batch is dropped.
    public let dropLast: Bool
    /// The seed of shuffling and augmentation.
    public let seed: UInt64
    /// Background threads; 0 builds batches on the consumer's thread.
    public let workers: Int
    /// The most background threads a loader starts: far more than a batch pipeline can use on
    /// any machine, far fewer than a process may create (tens of thousands would fail to start).
    public static let maximumWorkers = 256
    /// Batches built ahead of the consumer at most (including those in progress).
    public let prefetch: Int
    /// The dataset indices an epoch visits (all of them, or a fixed subset), before shuffling.
    public let indices: [Int]
    /// This process's share of every batch in data-parallel training: rank r of n loads the
    /// r-th of n equal slices of each global batch of `batchSize` ((0, 1): the whole batch).
    public let shard: (rank: Int, count: Int)

    /// A loader over `dataset` (or over `subset` of its indices, e.g. a labelled 1 % split or
    /// "the first 20000"); throws `DataError.invalidOption` for a bad setting.
    public init(dataset: any ImageDataset, transform: AugmentationPipeline, batchSize: Int,
                shuffle: Bool = true, dropLast: Bool = false, seed: UInt64 = 0,
                workers: Int = 2, prefetch: Int = 4, subset: [Int]? = nil, shard: (rank: Int, count: Int) = (0, 1)) throws {
        guard batchSize > 0 else { throw DataError.invalidOption("batch size must be positive, got \(batchSize)") }
        guard shard.count >= 1, (0..<shard.count).contains(shard.rank), batchSize % shard.count == 0 else {
            throw DataError.invalidOption("batch size \(batchSize) cannot be split into \(shard.count) equal shares (rank \(shard.rank))")
        }
        guard (0...Self.maximumWorkers).contains(workers) else {
            throw DataError.invalidOption("workers must be in 0…\(Self.maximumWorkers), got \(workers)")
        }
        guard prefetch > 0 else { throw DataError.invalidOption("prefetch must be positive, got \(prefetch)") }
        // Normalize traps on a channel mismatch; reject it here, where the user can be told why.
        for case let normalize as Normalize in transform.steps where normalize.mean.count != dataset.channels {
            throw DataError.invalidOption("augmentation '\(transform.name)' normalizes \(normalize.mean.count) channels "
                + "but \(dataset.name) has \(dataset.channels)")
        }
        if let subset {
            if let bad = subset.first(where: { $0 < 0 || $0 >= dataset.count }) {
                throw DataError.invalidOption("subset index \(bad) is outside \(dataset.name) (0..<\(dataset.count))")
            }
            indices = subset
        } else {
            indices = Array(0..<dataset.count)
        }
        self.dataset = dataset
        self.transform = transform
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.dropLast = dropLast
        self.seed = seed
        self.workers = workers
        self.prefetch = prefetch
        self.shard = shard
    }

    /// Stream tags keep shuffle and augmentation generators apart.
    static let shuffleStream: UInt64 = 0x5348_5546  // "SHUF"
    static let augmentStream: UInt64 = 0x4155_4721  // "AUG!"

    /// Number of batches an epoch yields.
    public var batchesPerEpoch: Int {
        dropLast ? indices.count / batchSize : (indices.count + batchSize - 1) / batchSize
    }

    /// The dataset indices in the order epoch `epoch` visits them (a pure function of seed, epoch).
    public func order(epoch: Int) -> [Int] {
        guard shuffle else { return indices }
        var rng = SeededGenerator(seed: seed, streams: [Self.shuffleStream, UInt64(bitPattern: Int64(epoch))])
        var order = indices
        rng.shuffle(&order)
        return order
    }

    /// The batches of epoch `epoch` as lists of dataset indices (this shard's slice of each).
    public func plan(epoch: Int) -> [[Int]] {
        let order = order(epoch: epoch)
        return (0..<batchesPerEpoch).map { b in
            let batch = order[(b * batchSize)..<min((b + 1) * batchSize, order.count)]
            guard shard.count > 1 else { return Array(batch) }
            let share = batch.count / shard.count
            let start = batch.startIndex + shard.rank * share
            return Array(batch[start..<start + share])
        }
    }

    /// The generator sample `index` uses in epoch `epoch`.
    public func generator(epoch: Int, index: Int) -> SeededGenerator {
        SeededGenerator(seed: seed, streams: [Self.augmentStream, UInt64(bitPattern: Int64(epoch)), UInt64(index)])
    }

    /// The augmented image of dataset sample `index` in epoch `epoch` (what a batch holds).
    public func sample(index: Int, epoch: Int) throws -> FloatImage {
        let image = try dataset.image(at: index)
        var rng = generator(epoch: epoch, index: index)
        return transform(image, rng: &rng)
    }

    /// Starts epoch `epoch`: call `next()` until nil. Dropping the iterator (or `cancel()`)
    /// stops and joins its workers (a worker whose thread has not run yet will read nothing). `skippingBatches` resumes an interrupted epoch: the batches
    /// that follow are exactly those an uninterrupted epoch would have yielded.
    public func epoch(_ epoch: Int, skippingBatches skip: Int = 0) -> EpochIterator {
        EpochIterator(loader: self, epoch: epoch, skip: skip)
    }

    /// Builds one batch; `shouldStop` is polled between samples so abandonment is prompt.
    func buildBatch(_ members: [Int], epoch: Int, shouldStop: () -> Bool) throws -> Batch? {
        var images: [Float] = []
        var labels: [Int]? = []
        var shape = (c: 0, h: 0, w: 0)
        for (slot, index) in members.enumerated() {
            if shouldStop() { return nil }
            let image = try sample(index: index, epoch: epoch)
            if slot == 0 {
                shape = (image.channels, image.height, image.width)
                images = [Float](repeating: 0, count: members.count * image.count)
            } else if (image.channels, image.height, image.width) != shape {
                throw DataError.invalidOption(
                    "\(dataset.name) sample \(index) augments to \(image.channels)×\(image.height)×\(image.width), "
                    + "earlier ones to \(shape.c)×\(shape.h)×\(shape.w): the '\(transform.name)' pipeline needs a fixed-size crop or resize")
            }
            let size = image.count
            image.pixels.withUnsafeBufferPointer { src in
                images.withUnsafeMutableBufferPointer { dst in
                    (dst.baseAddress! + slot * size).update(from: src.baseAddress!, count: size)
                }
            }
            if let label = dataset.label(at: index) { labels?.append(label) } else { labels = nil }
        }
        return Batch(indices: members, images: images, labels: labels, channels: shape.c, height: shape.h, width: shape.w)
    }
}

/// The batches of one epoch, in order. Not thread-safe: one consumer calls `next()`.
public final class EpochIterator {
    /// The loader this epoch belongs to.
    public let loader: DataLoader
    /// The epoch number (seeds shuffling and augmentation).
    public let epoch: Int
    private let state: EpochState
    private var finished = false

    /// `startThread` starts each worker's thread (tests replace it to play a system that
    /// refuses new threads: Foundation's `start()` then fails without a word).
    init(loader: DataLoader, epoch: Int, skip: Int, startThread: (Thread) -> Void = { $0.start() }) {
        self.loader = loader
        self.epoch = epoch
        state = EpochState(plan: Array(loader.plan(epoch: epoch).dropFirst(max(skip, 0))), window: loader.prefetch)
        for worker in 0..<loader.workers {
            let state = self.state
            let thread = Thread { [loader, epoch] in state.runWorker(loader: loader, epoch: epoch) }
            thread.name = "invprop-loader-\(worker)"
            // A worker counts itself once it runs: one whose thread never starts is never waited for.
            startThread(thread)
        }
    }

    deinit { cancel() }

    /// Number of batches this epoch yields.
    public var batchCount: Int { state.plan.count }

    /// The next batch, nil at the end of the epoch; rethrows the dataset's error for a sample
    /// (after which the epoch is over).
    public func next() throws -> Batch? {
        if finished { return nil }
        if loader.workers == 0 {
            guard state.consumed < state.plan.count else { finished = true; return nil }
            let b = state.consumed
            state.consumed += 1
            do {
                return try loader.buildBatch(state.plan[b], epoch: epoch, shouldStop: { false })
            } catch {
                finished = true
                throw error
            }
        }
        switch state.take(loader: loader, epoch: epoch) {
        case .none:
            finished = true
            cancel()
            return nil
        case .some(.success(let batch)):
            return batch
        case .some(.failure(let error)):
            finished = true
            cancel()
            throw error
        }
    }

    /// Stops the workers and waits until every one has exited; later `next()` returns nil.
    public func cancel() {
        finished = true
        state.stopAndJoin()
    }
}

/// State shared by an epoch's workers and its consumer, guarded by `condition`.
final class EpochState: @unchecked Sendable {
    let plan: [[Int]]
    let window: Int
    private let condition = NSCondition()
    private var nextToClaim = 0
    /// Batches handed to the consumer (the consumer-side cursor).
    var consumed = 0
    private var results: [Int: Result<Batch, Error>] = [:]
    private var stopped = false
    private var liveWorkers = 0

    init(plan: [[Int]], window: Int) {
        self.plan = plan
        self.window = window
    }

    var isStopped: Bool {
        condition.lock(); defer { condition.unlock() }
        return stopped
    }

    /// A worker: claims the lowest unclaimed batch inside the window, builds it, publishes it.
    /// It counts itself live only here, once its thread runs (after a stop it leaves at once).
    func runWorker(loader: DataLoader, epoch: Int) {
        condition.lock()
        liveWorkers += 1
        while !stopped && nextToClaim < plan.count {
            if nextToClaim >= consumed + window { condition.wait(); continue }
            let b = nextToClaim
            nextToClaim += 1
            condition.unlock()
            let result: Result<Batch, Error>?
            do {
                result = try loader.buildBatch(plan[b], epoch: epoch, shouldStop: { self.isStopped }).map { .success($0) }
            } catch {
                result = .failure(error)
            }
            condition.lock()
            if let result { results[b] = result }
            condition.broadcast()
        }
        liveWorkers -= 1
        condition.broadcast()
        condition.unlock()
    }

    /// The consumer: waits for the next batch in order; nil at the end or after a stop. While
    /// no worker runs (none started yet, or the system refused their threads) the consumer
    /// builds the batch itself, so it never waits for a thread that may never come.
    func take(loader: DataLoader, epoch: Int) -> Result<Batch, Error>? {
        condition.lock()
        defer { condition.unlock() }
        guard consumed < plan.count else { return nil }
        while results[consumed] == nil && !stopped {
            // Without a live worker the batch is unclaimed: a worker publishes what it claimed
            // before it stops counting itself.
            guard liveWorkers == 0, nextToClaim == consumed else { condition.wait(); continue }
            let b = nextToClaim
            nextToClaim += 1
            condition.unlock()
            let result: Result<Batch, Error>?
            do {
                result = try loader.buildBatch(plan[b], epoch: epoch, shouldStop: { false }).map { .success($0) }
            } catch {
                result = .failure(error)
            }
            condition.lock()
            if let result { results[b] = result }
        }
        guard let result = results.removeValue(forKey: consumed) else { return nil }
        consumed += 1
        condition.broadcast()  // the window moved: idle workers may claim more
        return result
    }

    /// Sets the stop flag and waits until every running worker has left its loop (a thread that
    /// starts later sees the flag and leaves without reading anything).
    func stopAndJoin() {
        condition.lock()
        stopped = true
        results.removeAll()
        condition.broadcast()
        while liveWorkers > 0 { condition.wait() }
        condition.unlock()
    }
}
