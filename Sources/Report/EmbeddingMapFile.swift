import Foundation
import RunFormat

/// `embedding-map.json`: a sample of a run's embeddings on their first two principal axes, with a
/// thumbnail per point; `invprop report` writes it from the checkpoint and draws it.
public struct EmbeddingMapFile: Codable, Equatable, Sendable {
    /// One point: the image's dataset index, label (nil when unknown), coordinates and thumbnail.
    public struct Point: Codable, Equatable, Sendable {
        /// Dataset index of the image.
        public var index: Int
        /// Its label, nil when unknown.
        public var label: Int?
        /// Coordinates on the first two principal axes.
        public var x: Double, y: Double
        /// The image as a base64 PNG, nil when not stored.
        public var thumbnail: String?

        /// A point of the map.
        public init(index: Int, label: Int?, x: Double, y: Double, thumbnail: String?) {
            self.index = index; self.label = label; self.x = x; self.y = y; self.thumbnail = thumbnail
        }
    }

    /// Which embeddings were mapped ("memory bank", "head features (recomputed)").
    public var source: String
    /// Share of the total variance along each of the two axes.
    public var explainedVariance: [Double]
    /// The points.
    public var points: [Point]

    /// A map file's contents.
    public init(source: String, explainedVariance: [Double], points: [Point]) {
        self.source = source; self.explainedVariance = explainedVariance; self.points = points
    }

    /// Reads the run's map; nil when it has none, `ReportError.malformedFile` when it does not decode.
    static func load(in directory: URL) throws -> EmbeddingMapFile? {
        let url = directory.appendingPathComponent(RunFileName.embeddingMap)
        guard let data = try RunFiles.readIfPresent(url) else { return nil }
        do { return try JSONDecoder().decode(EmbeddingMapFile.self, from: data) } catch {
            throw ReportError.malformedFile(path: url.path, reason: "not an embedding map: \(error)")
        }
    }

    /// Writes the map into `directory` atomically.
    public func write(in directory: URL) throws {
        let url = directory.appendingPathComponent(RunFileName.embeddingMap)
        do { try JSONEncoder().encode(self).write(to: url, options: .atomic) } catch {
            throw ReportError.unwritable(path: url.path, reason: error.localizedDescription)
        }
    }
}
