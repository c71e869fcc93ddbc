import Foundation
import SafeTensors

/// Features of a dataset with the dataset index and label of every row, for export.
public struct Embeddings: Equatable, Sendable {
    /// Features [N, D], row-major.
    public var features: [Float]
    /// Feature dimension D.
    public var dimension: Int
    /// Dataset index of every row, [N].
    public var indices: [Int]
    /// Label of every row, [N] (-1 where the dataset has none, e.g. STL-10 unlabelled).
    public var labels: [Int]

    /// Embeddings after checking that features, indices and labels describe the same N rows.
    public init(features: [Float], dimension: Int, indices: [Int], labels: [Int]) throws {
        let count = try FeatureMatrix.validate(features, dimension: dimension, name: "embeddings", allowEmpty: true)
        guard indices.count == count, labels.count == count else {
            throw EvaluationError(.shapeMismatch,
                "embeddings: \(count) feature rows, \(indices.count) indices, \(labels.count) labels")
        }
        self.features = features
        self.dimension = dimension
        self.indices = indices
        self.labels = labels
    }

    /// Number of rows N.
    public var count: Int { indices.count }

    /// The three `.npy` paths for `name` in `directory`: features, labels, indices.
    public static func numpyPaths(directory: String, name: String) -> (features: String, labels: String, indices: String) {
        let base = (directory as NSString).appendingPathComponent(name)
        return (base + "_features.npy", base + "_labels.npy", base + "_indices.npy")
    }

    /// Writes `<name>_features.npy` (<f4, [N, D]), `<name>_labels.npy` and `<name>_indices.npy`
    /// (<i8, [N]) into `directory` (created if missing); returns the paths written.
    @discardableResult
    public func writeNumpy(directory: String, name: String = "embeddings") throws -> [String] {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw EvaluationError(.file, "cannot create \(directory): \(OutputLocation.folderProblem(directory) ?? error.localizedDescription)")
        }
        let paths = Embeddings.numpyPaths(directory: directory, name: name)
        try NumpyArray(floats: features, shape: [count, dimension]).write(to: paths.features)
        try NumpyArray(int64s: labels.map(Int64.init), shape: [count]).write(to: paths.labels)
        try NumpyArray(int64s: indices.map(Int64.init), shape: [count]).write(to: paths.indices)
        return [paths.features, paths.labels, paths.indices]
    }

    /// Reads the three `.npy` files written by `writeNumpy`.
    public static func readNumpy(directory: String, name: String = "embeddings") throws -> Embeddings {
        let paths = numpyPaths(directory: directory, name: name)
        let features = try NumpyArray(contentsOf: paths.features)
        guard features.shape.count == 2 else {
            throw EvaluationError(.file, "\(paths.features): expected a 2-d array, found shape \(features.shape)")
        }
        let labels = try NumpyArray(contentsOf: paths.labels).int64s()
        let indices = try NumpyArray(contentsOf: paths.indices).int64s()
        return try Embeddings(features: features.floats(), dimension: features.shape[1],
                              indices: try indices.map(intFromFile), labels: try labels.map(intFromFile))
    }

    /// Writes one safetensors file with tensors `features` (F32 [N, D]), `labels` and `indices`
    /// (I64 [N]) and string `metadata` (e.g. checkpoint, dataset, layer).
    public func writeSafeTensors(to path: String, metadata: [String: String] = [:]) throws {
        var archive = TensorArchive(metadata: metadata)
        try archive.set("features", floats: features, shape: [count, dimension])
        try archive.set("labels", int64s: labels.map(Int64.init), shape: [count])
        try archive.set("indices", int64s: indices.map(Int64.init), shape: [count])
        try archive.write(to: path)
    }

    /// Reads a file written by `writeSafeTensors`.
    public static func readSafeTensors(from path: String) throws -> Embeddings {
        let archive = try TensorArchive(contentsOf: path)
        let shape = try archive.shape(of: "features")
        guard shape.count == 2 else {
            throw EvaluationError(.file, "\(path): features must be 2-d, found shape \(shape)")
        }
        return try Embeddings(features: archive.floats("features"), dimension: shape[1],
                              indices: archive.int64s("indices").map(intFromFile),
                              labels: archive.int64s("labels").map(intFromFile))
    }
}

/// Int64 from a file as Int (identical on 64-bit hosts; checked so 32-bit hosts fail clearly).
private func intFromFile(_ value: Int64) throws -> Int {
    guard let int = Int(exactly: value) else { throw EvaluationError(.file, "value \(value) does not fit Int") }
    return int
}
