import ArgumentParser
import Codecs
import Data
import Evaluation
import Foundation
import Methods
import Report

/// `invprop neighbors`: montages of chosen images with their nearest neighbours and propagated positives.
struct NeighborsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "neighbors",
        abstract: "Montages of training images with their nearest neighbours and the positives propagation finds for them.",
        discussion: """
        Writes montages/<name>-nearest.png and montages/<name>-positives.png (with caption files) into the run \
        directory, and <name>.json with every index, label and similarity. One row per image: the image itself \
        (blue frame), then neighbours or positives framed green (same label) or red (another label).
        """)

    @OptionGroup var source: CheckpointSource
    @Option(help: "Training images to inspect, comma-separated indices (e.g. 0,5,17).") var images: String
    @Option(help: "Nearest neighbours shown per image.") var k = 8
    @Option(help: "Features searched: bank (the saved memory bank) or recompute (head features, eval transform).")
    var features: KNNTrainFeatures = .bank
    @Option(help: "Most positives shown per image.") var maxPositives = 16
    @Option(help: "Side of a montage cell in pixels.") var cellSize = 56
    @Option(help: "Base name of the files.") var name = "neighbors"
    @Option(help: "Run directory to write into (default: the checkpoint's).") var output: String?

    func validate() throws {
        let indices: [Int] = try parseList(images, option: "--images")
        if let bad = indices.first(where: { $0 < 0 }) { throw ValidationError("--images must be indices ≥ 0, got \(bad)") }
        guard k >= 1 else { throw ValidationError("--k must be ≥ 1, got \(k)") }
        guard maxPositives >= 0 else { throw ValidationError("--max-positives must be ≥ 0, got \(maxPositives)") }
        guard (8...512).contains(cellSize) else { throw ValidationError("--cell-size must be in 8…512, got \(cellSize)") }
        guard !name.isEmpty, !name.contains("/"), !name.hasPrefix(".") else { throw ValidationError("--name must be a plain file name, got '\(name)'") }
        try checkOutputFolder(output, option: "--output")
        if let output { try checkOutputFolder((output as NSString).appendingPathComponent("montages"), option: "--output") }
    }

    func run() throws {
        try reportingFailure {
            let session = try source.open()
            let anchors: [Int] = try parseList(images, option: "--images")
            let directory = output.map { URL(fileURLWithPath: $0) } ?? session.runDirectory
            if output == nil {
                try checkOutputFolder(directory.appendingPathComponent("montages").path, option: "the run directory (choose another with --output)")
            }
            let inspections = try inspect(session, anchors: anchors)
            let list = anchors.map(String.init).joined(separator: ", ")
            let source = features == .bank ? "memory bank" : "recomputed head features"
            let nearestCaption = "Nearest neighbours (\(source)) of training images \(list); green: same label, red: another label."
            let nearest = try NeighborsCommand.montage(inspections, dataset: session.train, cellSize: cellSize) { $0.neighbors }
            let nearestFile = try Montage.write(nearest, name: name + "-nearest", caption: nearestCaption, runDirectory: directory)
            print("wrote \(nearestFile.path)")
            if inspections.contains(where: { !$0.positives.isEmpty }) {
                let selection = session.checkpoint.invp?.positives.rawValue ?? "hard"
                let caption = "Positives chosen by invariance propagation (\(selection) selection, saved neighbour table) for training "
                    + "images \(list); green: same label, red: another label."
                let positives = try NeighborsCommand.montage(inspections, dataset: session.train, cellSize: cellSize) {
                    Array($0.positives.prefix(maxPositives))
                }
                print("wrote \(try Montage.write(positives, name: name + "-positives", caption: caption, runDirectory: directory).path)")
            } else {
                note("no propagated positives: the checkpoint holds no neighbour table (not an InvP run) or evaluates another dataset")
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let details = directory.appendingPathComponent(name + ".json")
            try encoder.encode(inspections).write(to: details, options: .atomic)
            print("wrote \(details.path)")
        }
    }

    /// The neighbours and positives of `anchors`. The saved bank and neighbour table are checked
    /// on the way; their errors (from Methods) gain the checkpoint's path.
    func inspect(_ session: EvaluationSession, anchors: [Int]) throws -> [AnchorInspection] {
        do {
            return try NeighborInspection(features: features, neighborCount: k).run(session, anchors: anchors, progress: note)
        } catch let error as MethodsError {
            throw EvaluationError(.file, "checkpoint \(session.checkpointPath): \(error)")
        }
    }

    /// One row per anchor: the anchor, then the images `pick` returns, framed by label agreement.
    static func montage(_ inspections: [AnchorInspection], dataset: any ImageDataset, cellSize: Int,
                        pick: (AnchorInspection) -> [RetrievedImage]) throws -> DecodedImage {
        func cell(_ index: Int, _ border: BorderKind) throws -> MontageCell {
            let image = try dataset.image(at: index)
            return MontageCell(image: try DecodedImage(height: image.height, width: image.width, channels: image.channels, pixels: image.pixels),
                               border: border)
        }
        let rows = try inspections.map { inspection in
            try [cell(inspection.anchor, .anchor)]
                + pick(inspection).map { try cell($0.index, BorderKind(anchorLabel: inspection.label, cellLabel: $0.label)) }
        }
        return try Montage.compose(rows: rows, cellSize: cellSize)
    }
}
