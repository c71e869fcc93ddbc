import Codecs
import Foundation

/// PNG/JPEG files in a folder, listed when opened and decoded on demand. Labelled layout:
/// `root/<class>/<image>` (recursively inside each class), classes sorted by name give indices
/// 0..C-1 (torchvision's ImageFolder convention). Flat layout: images directly in `root`.
public struct ImageFolderDataset: ImageDataset {
    /// How the folder is organised.
    public enum Layout: Sendable {
        /// One subfolder per class.
        case labelled
        /// Images directly in the root, no labels.
        case flat
        /// Labelled when the root has any (non-hidden) subfolder, flat otherwise.
        case automatic
    }

    /// File extensions listed (compared case-insensitively); other files are skipped.
    public static let imageExtensions: Set<String> = ["png", "jpg", "jpeg"]

    /// A short name for logs.
    public let name: String
    /// 1 (grey) or 3 (RGB): every image is converted to this.
    public let channels: Int
    /// Class folder names in label order; empty for a flat folder.
    public let classNames: [String]
    /// The image files, sorted (by class, then path within the class).
    public let files: [String]
    let labels: [Int]

    /// Number of image files.
    public var count: Int { files.count }
    /// Number of class folders, nil for a flat folder.
    public var classCount: Int? { classNames.isEmpty ? nil : classNames.count }

    /// Lists the images under `root`; throws notFound for a missing root and malformed for a
    /// folder (or class folder) without any PNG/JPEG file.
    public init(root: String, channels: Int = 3, layout: Layout = .automatic, name: String? = nil) throws {
        guard channels == 1 || channels == 3 else { throw DataError.invalidOption("channels must be 1 or 3, not \(channels)") }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory) else {
            throw DataError.notFound(path: root, hint: "the image folder does not exist")
        }
        guard isDirectory.boolValue else { throw DataError.malformed(path: root, reason: "not a folder") }
        let entries = try Self.visibleEntries(root)
        // A link back to the root (or above it) is not a class: following it would list the
        // same images again, level after level.
        let rootPath = Self.canonicalPath(root)
        let subfolders = entries.filter { Self.isDirectory($0.path) && !rootPath.hasPrefix(Self.canonicalPath($0.path)) }
        let labelled: Bool
        switch layout {
        case .labelled: labelled = true
        case .flat: labelled = false
        case .automatic: labelled = !subfolders.isEmpty
        }
        var files: [String] = [], labels: [Int] = [], classNames: [String] = []
        if labelled {
            guard !subfolders.isEmpty else {
                throw DataError.malformed(path: root, reason: "no class subfolders (expected root/<class>/<image>)")
            }
            for (label, folder) in subfolders.enumerated() {
                var visited: Set<String> = [rootPath]
                let images = try Self.imagesRecursively(in: folder.path, depth: 0, visited: &visited)
                guard !images.isEmpty else {
                    throw DataError.malformed(path: folder.path, reason: "class folder has no PNG or JPEG images (looked for .\(Self.imageExtensions.sorted().joined(separator: ", .")))")
                }
                files += images
                labels += Array(repeating: label, count: images.count)
                classNames.append(folder.name)
            }
        } else {
            files = entries.filter { !Self.isDirectory($0.path) && Self.isImageName($0.name) }.map(\.path)
            guard !files.isEmpty else {
                throw DataError.malformed(path: root, reason: "no PNG or JPEG images (looked for .\(Self.imageExtensions.sorted().joined(separator: ", .")))")
            }
        }
        self.files = files
        self.labels = labels
        self.classNames = classNames
        self.channels = channels
        self.name = name ?? URL(fileURLWithPath: root).lastPathComponent
    }

    /// A folder's listing as given (for `removing`).
    init(name: String, channels: Int, classNames: [String], files: [String], labels: [Int]) {
        self.name = name; self.channels = channels; self.classNames = classNames; self.files = files; self.labels = labels
    }

    /// Reads and decodes file `index`; an undecodable file throws malformed naming it.
    public func image(at index: Int) throws -> ImageU8 {
        try checkIndex(index)
        let path = files[index]
        let bytes: Foundation.Data
        do {
            bytes = try Foundation.Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw DataError.malformed(path: path, reason: "cannot read: \(error.localizedDescription)")
        }
        do {
            let decoded = try ImageCodec.decode(bytes, channels: channels)
            return ImageU8(height: decoded.height, width: decoded.width, channels: decoded.channels, pixels: decoded.pixels)
        } catch let error as CodecError {
            throw DataError.malformed(path: path, reason: error.description)
        }
    }

    /// The path of file `index`.
    public func sourcePath(at index: Int) -> String? { files.indices.contains(index) ? files[index] : nil }

    /// The class index of file `index`, nil for a flat folder.
    public func label(at index: Int) -> Int? {
        index >= 0 && index < labels.count ? labels[index] : nil
    }

    /// True for a name with an image extension.
    static func isImageName(_ name: String) -> Bool {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return false }
        return imageExtensions.contains(name[name.index(after: dot)...].lowercased())
    }

    /// Non-hidden entries of `folder`, sorted by name (byte order, like Python's `sorted`).
    static func visibleEntries(_ folder: String) throws -> [(name: String, path: String)] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder)
        } catch {
            throw DataError.malformed(path: folder, reason: "cannot list: \(error.localizedDescription)")
        }
        return names.filter { !$0.hasPrefix(".") }
            .sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            .map { ($0, (folder as NSString).appendingPathComponent($0)) }
    }

    /// Image files under `folder`, depth-first in sorted order; a folder reached twice (through a
    /// link) is listed once, and the depth is capped as well.
    static func imagesRecursively(in folder: String, depth: Int, visited: inout Set<String>) throws -> [String] {
        guard depth < 16, visited.insert(canonicalPath(folder)).inserted else { return [] }
        var result: [String] = []
        for entry in try visibleEntries(folder) {
            if isDirectory(entry.path) {
                result += try imagesRecursively(in: entry.path, depth: depth + 1, visited: &visited)
            } else if isImageName(entry.name) {
                result.append(entry.path)
            }
        }
        return result
    }

    /// `path` with every link resolved and a trailing "/", so that a prefix test means "inside".
    static func canonicalPath(_ path: String) -> String {
        URL(fileURLWithPath: path).resolvingSymlinksInPath().path + "/"
    }

    /// True when `path` is a folder (following links).
    static func isDirectory(_ path: String) -> Bool {
        var flag: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &flag) && flag.boolValue
    }
}
