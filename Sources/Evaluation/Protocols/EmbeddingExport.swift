import Foundation

/// `invprop embed`: features of every image of a split, written as `.npy` (features, labels,
/// indices) and as one safetensors file per layer, named `<split>-<layer>`.
public struct EmbeddingExport: Sendable {
    /// The split to embed.
    public var split: EvaluationSession.Split
    /// The layers to export (head, backbone or both).
    public var layers: [FeatureLayer]

    /// An export of `layers` for `split`.
    public init(split: EvaluationSession.Split = .test, layers: [FeatureLayer] = [.head]) {
        self.split = split
        self.layers = layers
    }

    /// Computes the features and writes them under `directory`; returns the files written.
    @discardableResult
    public func run(_ session: EvaluationSession, directory: String, progress: (String) -> Void = { _ in }) throws -> [String] {
        guard !layers.isEmpty else { throw EvaluationError(.invalidArgument, "--features names no layer") }
        progress("features of \(try session.indices(split).count) \(split.rawValue) images")
        let f = try session.features(split, backbone: layers.contains(.backbone), head: layers.contains(.head))
        // Unlabelled images get -1, which numpy users filter with `labels >= 0`.
        let labels = f.labels ?? [Int](repeating: -1, count: f.indices.count)
        var written: [String] = []
        for layer in layers {
            let embeddings = try Embeddings(features: (layer == .head ? f.head : f.backbone) ?? [],
                                            dimension: layer == .head ? f.headDimension : f.backboneDimension,
                                            indices: f.indices, labels: labels)
            let name = "\(split.rawValue)-\(layer.rawValue)"
            written += try embeddings.writeNumpy(directory: directory, name: name)
            let path = (directory as NSString).appendingPathComponent(name + ".safetensors")
            try embeddings.writeSafeTensors(to: path, metadata: [
                "checkpoint": session.checkpointPath, "dataset": session.datasetName, "split": split.rawValue,
                "layer": layer.rawValue, "transform": session.evalTransformName,
            ])
            written.append(path)
        }
        return written
    }
}
