import Randomness
import Foundation

/// Throughput of the data pipeline (decode + augment + batch), for `invprop bench data`.
public enum DataBenchmark {
    /// A measurement: images per second, median over runs, with each run's value.
    public struct Result: Sendable, CustomStringConvertible {
        /// Median images per second over the runs.
        public var imagesPerSecond: Double
        /// Images per second of every run.
        public var runs: [Double]
        /// Images per run.
        public var imagesPerRun: Int
        /// Loader threads (0: on the caller's thread).
        public var workers: Int

        /// One line for a report.
        public var description: String {
            let each = runs.map { String(format: "%.0f", $0) }.joined(separator: ", ")
            return String(format: "%.0f images/s (median of %d runs: %@; %d images/run, %d workers)",
                          imagesPerSecond, runs.count, each, imagesPerRun, workers)
        }
    }

    /// Runs `batches` batches through a `DataLoader` `runs` times (a fresh epoch each, after one
    /// untimed warm-up batch) and reports the median images per second. The consumer does no
    /// work, so this is the loader's ceiling.
    public static func measure(dataset: any ImageDataset, transform: AugmentationPipeline, batchSize: Int = 128,
                               workers: Int = 2, batches: Int = 20, runs: Int = 3, prefetch: Int = 4,
                               seed: UInt64 = 0) throws -> Result {
        guard runs > 0, batches > 0 else { throw DataError.invalidOption("runs and batches must be positive") }
        let loader = try DataLoader(dataset: dataset, transform: transform, batchSize: batchSize, shuffle: true,
                                    dropLast: true, seed: seed, workers: workers, prefetch: prefetch)
        guard loader.batchesPerEpoch >= batches + 1 else {
            throw DataError.invalidOption(
                "\(dataset.name) has \(dataset.count) images: too few for \(batches + 1) batches of \(batchSize)")
        }
        var rates: [Double] = []
        var images = 0
        for run in 0..<runs {
            let epoch = loader.epoch(run)
            _ = try epoch.next()  // warm-up: threads started, first batch built
            images = 0
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<batches {
                guard let batch = try epoch.next() else { break }
                images += batch.count
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            epoch.cancel()
            rates.append(Double(images) / max(seconds, 1e-9))
        }
        let sorted = rates.sorted()
        return Result(imagesPerSecond: sorted[sorted.count / 2], runs: rates, imagesPerRun: images, workers: workers)
    }

    /// Single-thread cost of the transform alone on `images` pre-decoded images (images/s,
    /// median of `runs`): the per-core figure without threading or decoding.
    public static func measureTransform(dataset: any ImageDataset, transform: AugmentationPipeline,
                                        images: Int = 2000, runs: Int = 3, seed: UInt64 = 0) throws -> Double {
        let n = min(images, dataset.count)
        guard n > 0, runs > 0 else { throw DataError.invalidOption("need at least one image and one run") }
        let decoded = try (0..<n).map { try dataset.image(at: $0) }
        var rates: [Double] = []
        var sink: Float = 0
        for run in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            for (i, image) in decoded.enumerated() {
                var rng = SeededGenerator(seed: seed, streams: [UInt64(run), UInt64(i)])
                let out = transform(image, rng: &rng)
                sink += out.pixels[0]
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            rates.append(Double(n) / max(seconds, 1e-9))
        }
        if sink.isNaN { rates.append(0) }  // keeps the work observable to the optimiser
        return rates.sorted()[rates.count / 2]
    }
}
