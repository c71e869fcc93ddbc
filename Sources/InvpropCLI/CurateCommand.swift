import ArgumentParser
import Codecs
import Evaluation
import Foundation
import Kernels
import Report

/// `invprop curate`: near-duplicates, a diverse subset, typical images and outliers of a folder.
struct CurateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "curate",
        abstract: "Find near-duplicates, a diverse subset, typical images and outliers in a folder of images, without labels.",
        discussion: """
        Embeds every PNG/JPEG of --folder with the checkpoint's network (evaluation mode) and writes into --output \
        (default RUN_DIR/curation): images.csv (every image: region, density, duplicate group), duplicates.csv, \
        diverse.csv, typical.csv, outliers.csv (one path per row with its score), curation.json (settings, counts, \
        timings) and curation.html, a self-contained review page with thumbnails. See docs/curation.md.
        """)

    @Argument(help: "Run directory (its checkpoint-best.safetensors, else checkpoint-last.safetensors).") var runDirectory: String?
    @Option(help: "Checkpoint file (instead of RUN_DIR).") var checkpoint: String?
    @Option(help: "Folder of PNG/JPEG images to curate (flat, or one subfolder per class).") var folder: String
    @Option(help: "Cosine similarity at or above which two images are near-duplicates, in [0, 1].") var threshold: Float = 0.995
    @Option(help: "Nearest neighbours per image: duplicate candidates and the density's sample.") var neighbors = 10
    @Option(help: "Images in the diverse subset (default: 1000, or every image of a smaller folder).") var subset: Int?
    @Option(help: "Regions (k-means clusters of the embeddings) for typical images and outliers.") var regions = 10
    @Option(help: "Typical images and outliers listed per region.") var perRegion = 10
    @Option(help: "Features: head or backbone.") var features: FeatureLayer = .head
    @Flag(help: "Convert the images to the network's channels (grey or colour) instead of refusing a mismatch.") var convertChannels = false
    @Flag(help: "Leave out files whose header cannot be read (listed in OUTPUT/skipped-images.txt) instead of refusing the folder.")
    var skipBadImages = false
    @Option(help: "Output folder (default: RUN_DIR/curation).") var output: String?
    @Option(help: "Duplicate groups and diverse images shown on the review page.") var pageLimit = 60
    @Option(help: "fp32, bf16 or auto (default: the checkpoint's).") var precision: String?
    @Option(help: "Evaluation transform preset (default: the checkpoint's).") var evalTransform: String?
    @Option(help: "Compute threads (default: all cores).") var threads: Int?
    @Option(help: "Loader threads.") var workers = 1
    @Option(help: "Images per forward pass.") var featureBatchSize = 256
    @Option(help: "Seed of the k-means draws.") var seed: UInt64 = 0

    func validate() throws {
        guard (runDirectory == nil) != (checkpoint == nil) else { throw ValidationError("give either RUN_DIR or --checkpoint PATH (exactly one)") }
        guard threshold.isFinite, (0...1).contains(threshold) else { throw ValidationError("--threshold must be in [0, 1], got \(threshold)") }
        guard neighbors >= 1 else { throw ValidationError("--neighbors must be ≥ 1, got \(neighbors)") }
        if let subset, subset < 1 { throw ValidationError("--subset must be ≥ 1, got \(subset)") }
        guard regions >= 1 else { throw ValidationError("--regions must be ≥ 1, got \(regions)") }
        guard perRegion >= 1 else { throw ValidationError("--per-region must be ≥ 1, got \(perRegion)") }
        guard pageLimit >= 0 else { throw ValidationError("--page-limit must be ≥ 0, got \(pageLimit)") }
        if let precision, !["fp32", "bf16", "auto"].contains(precision) { throw ValidationError("--precision must be fp32, bf16 or auto, got \(precision)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be ≥ 1, got \(threads)") }
        guard workers >= 0 else { throw ValidationError("--workers must be ≥ 0, got \(workers)") }
        guard featureBatchSize >= 1 else { throw ValidationError("--feature-batch-size must be ≥ 1, got \(featureBatchSize)") }
        try checkTransform(evalTransform, option: "--eval-transform")
        try checkOutputFolder(output, option: "--output")
    }

    func run() throws {
        try reportingFailure {
            if let threads { try ComputeThreads.set(threads) }
            let source = checkpoint ?? runDirectory ?? "."
            let checkpointFile = try EvaluationSession.resolveCheckpoint(source)
            let directory = output ?? URL(fileURLWithPath: checkpointFile).deletingLastPathComponent().appendingPathComponent("curation").path
            let settings = CurationSettings(duplicateThreshold: threshold, neighbors: neighbors, subsetSize: subset ?? 1000,
                                            regions: regions, perRegion: perRegion, seed: seed)
            var curation = FolderCuration(settings: settings, layer: features, convertChannels: convertChannels, batchSize: featureBatchSize,
                                          workers: workers, precision: precision, evalTransform: evalTransform)
            curation.subsetAtMostFolder = subset == nil
            curation.skipBadImages = skipBadImages
            let outcome = try curation.run(checkpoint: checkpointFile, folder: folder, output: directory, progress: note)
            let result = outcome.curation
            print("\(outcome.images.count) images: \(result.duplicateGroups.count) near-duplicate groups "
                  + "(\(result.duplicateGroups.reduce(0) { $0 + $1.count }) images) at similarity ≥ \(threshold); "
                  + "diverse subset of \(result.diverse.count); \(regions) regions; embedded in "
                  + String(format: "%.1f s, curated in %.1f s", outcome.embedSeconds, outcome.curateSeconds))
            for path in outcome.written { print("wrote \(path)") }
            let page = (directory as NSString).appendingPathComponent("curation.html")
            try reviewPage(outcome, folder: folder).html().write(toFile: page, atomically: true, encoding: .utf8)
            print("wrote \(page)")
        }
    }

    /// The review page: duplicate groups, the diverse subset, typical images and outliers per region.
    func reviewPage(_ outcome: FolderCuration.Outcome, folder: String) throws -> CurationPage {
        let result = outcome.curation, images = outcome.images
        func item(_ row: Int, _ caption: String) throws -> ReviewImage {
            let image = try images.image(at: row)
            return ReviewImage(image: try DecodedImage(height: image.height, width: image.width, channels: image.channels, pixels: image.pixels),
                               caption: caption, path: images.files[row])
        }
        let groups = try result.duplicateGroups.prefix(pageLimit).enumerated().map { g, group in
            (label: "group \(g) (\(group.count))", images: try group.prefix(12).map { try item($0, String(format: "%.3f", result.duplicateScore[$0])) })
        }
        let diverse = try result.diverse.prefix(pageLimit).enumerated().map { rank, row in
            try item(row, String(format: "#%d %.2f", rank, result.diverseDistance[rank]))
        }
        func perRegion(_ lists: [[Int]]) throws -> [(label: String, images: [ReviewImage])] {
            try lists.enumerated().map { region, rows in
                (label: "region \(region) (\(result.region.filter { $0 == region }.count))",
                 images: try rows.map { try item($0, String(format: "%.3f", result.density[$0])) })
            }
        }
        let facts: [(name: String, value: String)] = [
            ("images", "\(images.count)"), ("near-duplicate groups", "\(result.duplicateGroups.count)"),
            ("images in groups", "\(result.duplicateGroups.reduce(0) { $0 + $1.count })"),
            ("duplicate threshold", String(format: "%.3f", threshold)), ("diverse subset", "\(result.diverse.count)"),
            ("regions", "\(regions)"), ("features", features.rawValue),
        ]
        return CurationPage(title: "Curation of \(folder)", facts: facts, sections: [
            ReviewSection(title: "Near-duplicate groups", note: "Images joined by cosine similarity ≥ \(threshold) among their "
                          + "\(neighbors) nearest neighbours, largest groups first (at most \(pageLimit) groups, 12 images each); caption: "
                          + "the image's highest similarity within its group. All groups are in duplicates.csv.", rows: groups),
            ReviewSection(title: "Diverse subset", note: "Greedy farthest-point selection, in order (first \(pageLimit)); caption: rank and "
                          + "cosine distance to the nearest image chosen before. The whole subset is in diverse.csv.",
                          rows: [(label: "selection order", images: diverse)]),
            ReviewSection(title: "Typical images by region", note: "Regions are k-means clusters of the embeddings; in each, the images "
                          + "with the highest density (mean similarity to their \(neighbors) nearest neighbours), one per duplicate group.",
                          rows: try perRegion(result.typical)),
            ReviewSection(title: "Outliers by region", note: "In each region, the images with the lowest density, lowest first.",
                          rows: try perRegion(result.outliers)),
        ])
    }
}

