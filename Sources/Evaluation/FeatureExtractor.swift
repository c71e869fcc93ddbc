import Data
import Models
import Tensors

/// Features of every image of a dataset computed by a network in evaluation mode.
public struct ExtractedFeatures: Sendable {
    /// Pooled backbone features [N, F] (row-major), when requested.
    public var backbone: [Float]?
    /// Head outputs [N, D], when requested.
    public var head: [Float]?
    /// Dimensions F and D (0 when not requested).
    public var backboneDimension: Int, headDimension: Int
    /// Labels, when the dataset has them.
    public var labels: [Int]?
    /// Dataset indices in row order (0..<N, or the subset asked for).
    public var indices: [Int]
}

/// Runs a ResNet over a dataset without recording gradients (evaluation mode: running
/// statistics), for the kNN monitor, linear probes, clustering and embedding export.
public enum FeatureExtractor {
    /// Features for `indices` (default: every image) with `transform` (deterministic, or random
    /// drawn from `augmentationSeed`).
    /// `batchStatistics` normalises with each batch's statistics as training does (and moves the
    /// running statistics) instead of the running ones. `progress` receives (images done, total).
    public static func extract(model: ResNet, dataset: any ImageDataset, transform: AugmentationPipeline, indices: [Int]? = nil,
                               batchSize: Int = 256, precision: DType = .f32, backbone: Bool = false, head: Bool = true,
                               batchStatistics: Bool = false, workers: Int = 1, augmentationSeed: UInt64 = 0,
                               progress: (Int, Int) -> Void = { _, _ in }) throws -> ExtractedFeatures {
        guard dataset.channels == model.config.inputChannels else {
            throw TensorError.shapeMismatch("the model takes \(model.config.inputChannels)-channel images, dataset \(dataset.name) has \(dataset.channels)-channel images")
        }
        let loader = try DataLoader(dataset: dataset, transform: transform, batchSize: batchSize, shuffle: false, dropLast: false,
                                    seed: augmentationSeed, workers: workers, prefetch: 2, subset: indices)
        var out = ExtractedFeatures(backbone: backbone ? [] : nil, head: head ? [] : nil, backboneDimension: 0, headDimension: 0,
                                    labels: dataset.classCount == nil ? nil : [], indices: [])
        let total = loader.indices.count
        let iterator = loader.epoch(0)
        try GradMode.withoutGradients {
            while let batch = try iterator.next() {
                let x = try Tensor(shape: batch.shape, values: batch.images)
                // Batch statistics need two images; a last batch of one uses the running ones.
                let f = try model.features(x, training: batchStatistics && batch.count > 1, precision: precision)
                if backbone { out.backbone! += f.toArray(); out.backboneDimension = f.shape[1] }
                if head {
                    let y = try model.project(f)
                    out.head! += y.toArray()
                    out.headDimension = y.shape[1]
                }
                out.indices += batch.indices
                if let labels = batch.labels { out.labels? += labels }
                progress(out.indices.count, total)
            }
        }
        return out
    }
}
