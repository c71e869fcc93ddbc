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
    @Flag(help: "Leave out images whose header cannot be read (listed in OUTPUT/<split>-skipped-images.txt) instead of refusing.")
    var skipBadImages = false

    /// The layers `--features` names.
    var layers: [FeatureLayer] {
        features == "both" ? [.head, .backbone] : FeatureLayer(rawValue: features).map { [$0] } ?? []
    }

    func validate() throws {
        guard !layers.isEmpty else { throw ValidationError("--features must be head, backbone or both, got '\(features)'") }
        try checkOutputFolder(output, option: "--output")
    }

    /// The indices of `session`'s images in the split whose files cannot be used: checked
    /// first, as `train` checks a folder, so that a bad file stops the command now rather than
    /// when the features reach it. Refused (all listed), or with `--skip-bad-images` listed in
    /// `directory` and returned to be left out.
    func unusableImages(_ session: EvaluationSession, directory: String) throws -> Set<Int> {
        let data = try session.dataset(split)
        let inUse = try session.indices(split)
        let bad = UnusableImages.find(in: data, indices: inUse)
        let listPath = (directory as NSString).appendingPathComponent("\(split.rawValue)-skipped-images.txt")
        guard !bad.isEmpty else {
            // A list left by an earlier export would now describe files these rows include.
            try? FileManager.default.removeItem(atPath: listPath)
            return []
        }
        guard skipBadImages else {
            throw ValidationError(UnusableImages.refusal(bad.map(\.file), total: inUse.count, of: data.name, command: "embed"))
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try UnusableImages.writeList(bad.map(\.file), to: listPath)
        note("skipping \(bad.count) unusable file(s) of \(data.name), listed in \(listPath)")
        return Set(bad.map(\.index))
    }

    func run() throws {
        try reportingFailure {
            let session = try source.open(checkingImages: false)   // `unusableImages` checks, with --skip-bad-images
            let directory = output ?? session.runDirectory.appendingPathComponent("embeddings").path
            try checkOutputFolder(directory, option: output == nil ? "the output folder (choose another with --output)" : "--output")
            var export = EmbeddingExport(split: split, layers: layers)
            export.excludedIndices = try unusableImages(session, directory: directory)
            let written = try export.run(session, directory: directory, progress: note)
            for path in written { print("wrote \(path)") }
        }
    }
}
