import Data
import Evaluation
import Randomness
import Tensors

extension Trainer {
    /// The health sample: `config.resolvedHealthSample` training positions (all when fewer),
    /// drawn once from a fixed seed so that every run of a dataset watches the same images.
    static func healthSample(size: Int, trainingCount n: Int) -> [Int] {
        guard size > 0 else { return [] }
        guard size < n else { return Array(0..<n) }
        var generator = SeededGenerator(seed: 0, streams: [0x4845_414C_5448])   // "HEALTH"
        var positions = Array(0..<n)
        for i in 0..<size { positions.swapAt(i, generator.int(in: i..<n)) }
        return positions.prefix(size).sorted()
    }

    /// The label-free signals of the network after `epoch` (1-based) on the health sample: its
    /// embeddings with the evaluation transform, and two augmented views of its first 256 images
    /// (the training augmentation, drawn from the run's seed and the epoch), all in evaluation
    /// mode so nothing in the model moves. Keeps the neighbour lists for the next epoch.
    func measureHealth(epoch: Int, precision: DType) throws -> HealthSignals? {
        guard healthPositions.count >= 2 else { return nil }
        func embed(_ positions: [Int], _ transform: AugmentationPipeline, seed: UInt64 = 0) throws -> [Float] {
            try FeatureExtractor.extract(model: model, dataset: train, transform: transform, indices: positions, batchSize: 256,
                                         precision: precision, head: true, workers: config.workers, augmentationSeed: seed).head ?? []
        }
        let z = try embed(healthPositions, try AugmentationPresets.pipeline(named: config.evalTransform))
        let viewed = Array(healthPositions.prefix(256))
        let seeds = (1...2).map { view -> UInt64 in   // "VIEW"
            var generator = SeededGenerator(seed: config.seed, streams: [0x5649_4557, UInt64(epoch), UInt64(view)])
            return generator.next()
        }
        let views = (try embed(viewed, trainAugmentation, seed: seeds[0]), try embed(viewed, trainAugmentation, seed: seeds[1]))
        let d = z.count / healthPositions.count
        let (signals, lists) = try HealthMeasure.measure(z, dimension: d, views: views, previous: progress.healthNeighbours)
        progress.healthNeighbours = lists
        return signals
    }
}
