import ArgumentParser
import Evaluation
import Foundation

/// `invprop embed`: features of every image of a split, for use outside invprop.
struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "embed",
        abstract: "Write the features of every image of a split as .npy (features, labels, indices), CSV and safetensors.",
        discussion: "Files are named <split>-<layer>_features.npy, _labels.npy, _indices.npy, <split>-<layer>.csv "
            + "(index, path for image folders, label, f0…) and <split>-<layer>.safetensors, with <split>-<layer>_paths.txt "
            + "(one file path per row, in row order) for image folders; labels are -1 for unlabelled images.")

    @OptionGroup var source: CheckpointSource
    @Option(help: "Split: train (the training images in use) or test.") var split: EvaluationSession.Split = .test
    @Option(help: "Features: head, backbone or both.") var features = "head"
    @Option(help: "Output directory (default: RUN_DIR/embeddings).") var output: String?

    /// The layers `--features` names.
    var layers: [FeatureLayer] {
        features == "both" ? [.head, .backbone] : FeatureLayer(rawValue: features).map { [$0] } ?? []
    }

    func validate() throws {
        guard !layers.isEmpty else { throw ValidationError("--features must be head, backbone or both, got '\(features)'") }
    }

    func run() throws {
        try reportingFailure {
            let session = try source.open()
            let directory = output ?? session.runDirectory.appendingPathComponent("embeddings").path
            let written = try EmbeddingExport(split: split, layers: layers).run(session, directory: directory, progress: note)
            for path in written { print("wrote \(path)") }
        }
    }
}
