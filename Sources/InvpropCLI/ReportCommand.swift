import ArgumentParser
import Codecs
import Evaluation
import Foundation
import Report
import RunFormat

/// `invprop report`: the self-contained HTML page of a run directory.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "report",
        abstract: "Write RUN_DIR/report.html: loss, learning rate, kNN and purity curves, evaluations, an embedding map, configuration, montages.",
        discussion: "When the run has a checkpoint, it first writes RUN_DIR/embedding-map.json: --map-points training images "
            + "on the first two principal axes of their embeddings (the memory bank, else recomputed head features), "
            + "with thumbnails, which the page draws.")

    @Argument(help: "Run directory.") var runDirectory: String
    @Option(help: "Training images on the embedding map (0: no map).") var mapPoints = 1000

    func validate() throws {
        guard mapPoints == 0 || mapPoints >= 2 else { throw ValidationError("--map-points must be 0 or ≥ 2, got \(mapPoints)") }
    }

    func run() throws {
        do {
            let directory = URL(fileURLWithPath: runDirectory)
            if mapPoints > 0 { writeMap(in: directory) }
            print(try RunReport.generate(runDirectory: directory).path)
        } catch {
            throw failure(error)
        }
    }

    /// Computes and writes `embedding-map.json`; a run without a usable checkpoint or dataset
    /// still gets its report, without the map (the reason is printed).
    func writeMap(in directory: URL) {
        let hasCheckpoint = RunFileName.checkpointsByPreference.contains {
            FileManager.default.fileExists(atPath: directory.appendingPathComponent($0).path)
        }
        guard hasCheckpoint else { return }
        do {
            let session = try EvaluationSession(checkpoint: directory.path)
            let map = try EmbeddingMap.compute(session, sampleSize: mapPoints)
            let points = try map.points.map { point in
                let image = try session.train.image(at: point.index)
                let png = try PNGCodec.encode(DecodedImage(height: image.height, width: image.width, channels: image.channels, pixels: image.pixels))
                return EmbeddingMapFile.Point(index: point.index, label: point.label, x: point.x, y: point.y,
                                              thumbnail: Data(png).base64EncodedString())
            }
            try EmbeddingMapFile(source: map.source, explainedVariance: map.explainedVariance, points: points).write(in: directory)
        } catch {
            note("no embedding map: \(error)")
        }
    }
}
