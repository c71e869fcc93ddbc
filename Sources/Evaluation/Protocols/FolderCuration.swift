import Data
import Foundation
import Models
import Tensors

/// `invprop curate`: embeds every image of a folder with a checkpoint's network and curates the
/// embeddings (`Curator`), writing file lists a user can act on.
public struct FolderCuration: Sendable {
    /// What to look for.
    public var settings: CurationSettings
    /// Which features to curate on.
    public var layer: FeatureLayer
    /// Convert the folder's images to the network's channels instead of refusing a mismatch.
    public var convertChannels: Bool
    /// Images per forward pass and loader threads.
    public var batchSize: Int, workers: Int
    /// Shrink the diverse subset to the folder's size instead of refusing a larger one (for a
    /// default size the user did not choose).
    public var subsetAtMostFolder = false
    /// fp32, bf16 or auto (nil: the checkpoint's).
    public var precision: String?
    /// Evaluation transform preset (nil: the checkpoint's).
    public var evalTransform: String?
    /// Leave out the files whose header cannot be read (listed in `skipped-images.txt`) instead
    /// of refusing the folder, as `train --skip-bad-images` does.
    public var skipBadImages = false
    /// The list of skipped files, in the output folder.
    public static let skippedListName = "skipped-images.txt"

    /// A curation of the given settings.
    public init(settings: CurationSettings, layer: FeatureLayer = .head, convertChannels: Bool = false, batchSize: Int = 256,
                workers: Int = 1, precision: String? = nil, evalTransform: String? = nil) {
        self.settings = settings; self.layer = layer; self.convertChannels = convertChannels
        self.batchSize = batchSize; self.workers = workers; self.precision = precision; self.evalTransform = evalTransform
    }

    /// What a run produced: the curation, the folder's images and the files written.
    public struct Outcome {
        /// The curation (rows are the folder's images in `images.files` order).
        public var curation: Curation
        /// The folder, opened with the network's channels.
        public var images: ImageFolderDataset
        /// Seconds spent embedding and curating.
        public var embedSeconds: Double, curateSeconds: Double
        /// Files written.
        public var written: [String]
        /// Files left out because they cannot be used (with `skipBadImages`).
        public var skipped: [BadImageFile] = []
    }

    /// Embeds `folder` with the network of `checkpoint`, curates, and writes the lists into `output`.
    /// Everything that can be checked before the long work (checkpoint, folder, channels,
    /// settings, the output folder) is checked first.
    public func run(checkpoint: String, folder: String, output: String, progress: (String) -> Void = { _ in }) throws -> Outcome {
        let network = try EvaluationSession.openNetwork(checkpoint: checkpoint)
        let channels = network.model.config.inputChannels
        let (images, skipped) = try Self.openFolder(folder, channels: channels, convert: convertChannels, skipBad: skipBadImages)
        var settings = self.settings
        if subsetAtMostFolder { settings.subsetSize = min(settings.subsetSize, images.count) }
        try settings.validate(count: images.count)
        let transform = try AugmentationPresets.pipeline(named: evalTransform ?? network.description.evalTransform)
        let dtype = try EvaluationSession.precision(named: precision ?? network.description.precision)
        try Self.makeWritableFolder(output)
        var written: [String] = []
        let list = (output as NSString).appendingPathComponent(Self.skippedListName)
        if !skipped.isEmpty {
            written.append(try UnusableImages.writeList(skipped, to: list))
            progress("skipping \(skipped.count) unusable file(s) of \(folder), listed in \(list)")
        } else {
            // A list left by an earlier curation would now name files these lists include.
            try? FileManager.default.removeItem(atPath: list)
        }

        progress("embedding \(images.count) images of \(folder) (\(CheckpointDescription.describe(network.model.config)), \(layer.rawValue) features)")
        let embedStart = Date()
        let f = try FeatureExtractor.extract(model: network.model, dataset: images, transform: transform, batchSize: batchSize,
                                             precision: dtype, backbone: layer == .backbone, head: layer == .head, workers: workers)
        let embedSeconds = Date().timeIntervalSince(embedStart)
        let curateStart = Date()
        let curation = try Curator.curate(features: (layer == .head ? f.head : f.backbone) ?? [],
                                          dimension: layer == .head ? f.headDimension : f.backboneDimension,
                                          settings: settings, progress: progress)
        let curateSeconds = Date().timeIntervalSince(curateStart)
        let summary = CurationSummary(checkpoint: network.checkpointPath, folder: folder, images: images.count, layer: layer.rawValue,
                                      settings: settings, duplicateGroups: curation.duplicateGroups.count,
                                      imagesInDuplicateGroups: curation.duplicateGroups.reduce(0) { $0 + $1.count },
                                      embedSeconds: embedSeconds, curateSeconds: curateSeconds)
        written += try CurationFiles.write(curation, paths: images.files, summary: summary, to: output)
        return Outcome(curation: curation, images: images, embedSeconds: embedSeconds, curateSeconds: curateSeconds, written: written,
                       skipped: skipped)
    }

    /// Opens `path` as an image folder with `channels`. Every file's header is checked first, as
    /// `train` checks a folder: unusable files are refused, all listed, or with `skipBad` left
    /// out and returned. Unless `convert`, a folder whose images have other channels than the
    /// network takes is refused (judged on a sample: colour images have pixels whose red, green
    /// and blue differ).
    public static func openFolder(_ path: String, channels: Int, convert: Bool,
                                  skipBad: Bool = false) throws -> (images: ImageFolderDataset, skipped: [BadImageFile]) {
        let listed = try ImageFolderDataset(root: path, channels: 3)
        let skipped = UnusableImages.find(in: listed).map(\.file)
        if !skipped.isEmpty && !skipBad {
            throw EvaluationError(.file, UnusableImages.refusal(skipped, total: listed.count, of: path, command: "curate"))
        }
        let asColour = skipped.isEmpty ? listed : try listed.removing(Set(skipped.map(\.path)))
        if !convert {
            let sample = Array(stride(from: 0, to: asColour.count, by: max(1, asColour.count / 16)).prefix(16))
            var colourFile: String?
            for index in sample where colourFile == nil {
                if try isColour(asColour.image(at: index)) { colourFile = asColour.files[index] }
            }
            if channels == 1, let colourFile {
                throw EvaluationError(.shapeMismatch, "the checkpoint's network takes 1-channel (grey) images but \(path) holds colour "
                                      + "images (e.g. \(colourFile)); pass --convert-channels to curate them as grey images")
            }
            if channels == 3, colourFile == nil {
                throw EvaluationError(.shapeMismatch, "the checkpoint's network takes 3-channel (colour) images but the images of \(path) "
                                      + "are grey (\(sample.count) sampled); pass --convert-channels to curate them as colour images")
            }
        }
        return (try asColour.converted(toChannels: channels), skipped)
    }

    /// True when some pixel of the RGB `image` has unequal red, green and blue.
    static func isColour(_ image: ImageU8) -> Bool {
        let p = image.pixels
        for i in stride(from: 0, to: p.count - 2, by: 3) where p[i] != p[i + 1] || p[i] != p[i + 2] { return true }
        return false
    }

    /// Creates `path` if needed and checks that a file can be written there.
    static func makeWritableFolder(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw EvaluationError(.file, "cannot create the output folder \(path): \(error.localizedDescription)")
        }
        guard FileManager.default.isWritableFile(atPath: path) else {
            throw EvaluationError(.file, "the output folder \(path) is not writable")
        }
    }
}

/// `curation.json`: where the lists came from, with their settings, counts and timings.
public struct CurationSummary: Codable, Sendable {
    /// The checkpoint file and the image folder.
    public var checkpoint: String, folder: String
    /// Images curated and the features used (head or backbone).
    public var images: Int, layer: String
    /// The settings.
    public var settings: CurationSettings
    /// Near-duplicate groups found and the images in them.
    public var duplicateGroups: Int, imagesInDuplicateGroups: Int
    /// Seconds spent embedding and curating.
    public var embedSeconds: Double, curateSeconds: Double
}

/// The files `invprop curate` writes, one list per question, each row naming an image by its path.
public enum CurationFiles {
    /// File names inside the output folder.
    public static let images = "images.csv", duplicates = "duplicates.csv", diverse = "diverse.csv",
                      typical = "typical.csv", outliers = "outliers.csv", summary = "curation.json"

    /// Writes every list and the summary into `folder`; returns their paths.
    /// - images.csv: `index,path,region,density,duplicate_group,duplicate_score` for every image;
    /// - duplicates.csv: `group,path,index,score`, the members of each near-duplicate group;
    /// - diverse.csv: `rank,path,index,distance`, the diverse subset in selection order;
    /// - typical.csv, outliers.csv: `region,rank,path,index,density`.
    public static func write(_ curation: Curation, paths: [String], summary: CurationSummary, to folder: String) throws -> [String] {
        func path(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }
        func number(_ value: Float) -> String { String(format: "%.6f", value) }
        var tables: [(String, [String])] = []
        tables.append((images, ["index,path,region,density,duplicate_group,duplicate_score"] + paths.indices.map { i in
            "\(i),\(CSV.field(paths[i])),\(curation.region[i]),\(number(curation.density[i])),"
                + "\(curation.duplicateGroup[i]),\(number(curation.duplicateScore[i]))"
        }))
        tables.append((duplicates, ["group,path,index,score"] + curation.duplicateGroups.enumerated().flatMap { g, group in
            group.map { "\(g),\(CSV.field(paths[$0])),\($0),\(number(curation.duplicateScore[$0]))" }
        }))
        tables.append((diverse, ["rank,path,index,distance"] + curation.diverse.enumerated().map { rank, row in
            "\(rank),\(CSV.field(paths[row])),\(row),\(number(curation.diverseDistance[rank]))"
        }))
        for (name, lists) in [(typical, curation.typical), (outliers, curation.outliers)] {
            tables.append((name, ["region,rank,path,index,density"] + lists.enumerated().flatMap { region, rows in
                rows.enumerated().map { rank, row in "\(region),\(rank),\(CSV.field(paths[row])),\(row),\(number(curation.density[row]))" }
            }))
        }
        var written: [String] = []
        for (name, lines) in tables {
            try writeText(lines.joined(separator: "\n") + "\n", to: path(name))
            written.append(path(name))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do { try encoder.encode(summary).write(to: URL(fileURLWithPath: path(Self.summary)), options: .atomic) } catch {
            throw EvaluationError(.file, "cannot write \(path(Self.summary)): \(error.localizedDescription)")
        }
        return written + [path(Self.summary)]
    }
}
