import Foundation

/// `invprop embed`: features of every image of a split, written as `.npy` (features, labels,
/// indices) and as one safetensors file per layer, named `<split>-<layer>`.
public struct EmbeddingExport: Sendable {
    /// The split to embed.
    public var split: EvaluationSession.Split
    /// The layers to export (head, backbone or both).
    public var layers: [FeatureLayer]
    /// Dataset indices left out (unusable files skipped with `--skip-bad-images`); the rows'
    /// indices file says which images the others are.
    public var excludedIndices: Set<Int> = []

    /// An export of `layers` for `split`.
    public init(split: EvaluationSession.Split = .test, layers: [FeatureLayer] = [.head]) {
        self.split = split
        self.layers = layers
    }

    /// Computes the features and writes them under `directory`; returns the files written.
    @discardableResult
    public func run(_ session: EvaluationSession, directory: String, progress: (String) -> Void = { _ in }) throws -> [String] {
        guard !layers.isEmpty else { throw EvaluationError(.invalidArgument, "--features names no layer") }
        let indices = try session.indices(split).filter { !excludedIndices.contains($0) }
        guard !indices.isEmpty else {
            throw EvaluationError(.emptyInput, "no \(split.rawValue) image is left once the \(excludedIndices.count) unusable ones are skipped")
        }
        progress("features of \(indices.count) \(split.rawValue) images")
        let f = try session.features(split, backbone: layers.contains(.backbone), head: layers.contains(.head), excluding: excludedIndices)
        // Unlabelled images get -1, which numpy users filter with `labels >= 0`.
        let labels = f.labels ?? [Int](repeating: -1, count: f.indices.count)
        let data = try session.dataset(split)
        let paths = f.indices.map { data.sourcePath(at: $0) }
        let hasPaths = paths.allSatisfy { $0 != nil }
        var written: [String] = []
        for layer in layers {
            let embeddings = try Embeddings(features: (layer == .head ? f.head : f.backbone) ?? [],
                                            dimension: layer == .head ? f.headDimension : f.backboneDimension,
                                            indices: f.indices, labels: labels)
            let name = "\(split.rawValue)-\(layer.rawValue)"
            written += try embeddings.writeNumpy(directory: directory, name: name)
            let csv = (directory as NSString).appendingPathComponent(name + ".csv")
            try writeText(embeddings.csv(paths: hasPaths ? paths.map { $0! } : nil), to: csv)
            written.append(csv)
            if hasPaths {
                let list = (directory as NSString).appendingPathComponent(name + "_paths.txt")
                try writeText(paths.map { $0! }.joined(separator: "\n") + "\n", to: list)
                written.append(list)
            }
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

/// Writing comma-separated files.
enum CSV {
    /// `text` as one CSV field, quoted as RFC 4180 says when it holds a comma, quote or line break.
    static func field(_ text: String) -> String {
        text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
            ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
    }
}

/// Writes `text` to `path`, naming the file when it cannot.
func writeText(_ text: String, to path: String) throws {
    do { try text.write(toFile: path, atomically: true, encoding: .utf8) } catch {
        throw EvaluationError(.file, "cannot write \(path): \(error.localizedDescription)")
    }
}

extension Embeddings {
    /// One row per image: `index,path,label,f0,…,f{D−1}` (the path column only when `paths`
    /// are given; labels −1 when unknown), with a header row; fields quoted as RFC 4180 says.
    public func csv(paths: [String]?) -> String {
        let columns = ["index"] + (paths == nil ? [] : ["path"]) + ["label"] + (0..<dimension).map { "f\($0)" }
        var lines = [columns.joined(separator: ",")]
        lines.reserveCapacity(count + 1)
        for row in 0..<count {
            var fields = [String(indices[row])]
            if let paths { fields.append(CSV.field(paths[row])) }
            fields.append(String(labels[row]))
            fields += features[row * dimension..<(row + 1) * dimension].map { String($0) }
            lines.append(fields.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
