import Codecs
import Dispatch
import Foundation

/// An image file that cannot be used, and why.
public struct BadImageFile: Codable, Equatable, Sendable {
    /// The file.
    public var path: String
    /// What is wrong ("cannot read: …", "corrupt data: PNG: …", "unsupported: neither a PNG nor a JPEG signature").
    public var reason: String

    /// A bad file and its reason.
    public init(path: String, reason: String) { self.path = path; self.reason = reason }
}

/// What a sample of a folder's headers says: the facts `invprop train` chooses its defaults from.
public struct FolderSurvey: Equatable, Sendable {
    /// Headers read and how many of them are stored in colour.
    public var sampled: Int, colour: Int
    /// The median over the sample of each image's shorter side, in pixels.
    public var medianShorterSide: Int
    /// Whether every sampled image has the same size.
    public var uniformSize: Bool
}

extension ImageFolderDataset {
    /// Checks every file without decoding pixels (unless `decode`): readable, a PNG or JPEG
    /// signature, a header that parses, a size within the decoders' limit; with `decode`, a full
    /// decode too (which also finds files damaged after their header). Files are checked on all
    /// cores; the result lists the bad ones in file order.
    public func checkFiles(decode: Bool = false) -> [BadImageFile] {
        var reasons = [String?](repeating: nil, count: files.count)
        let chunk = 256
        reasons.withUnsafeMutableBufferPointer { slots in
            let base = slots.baseAddress!
            DispatchQueue.concurrentPerform(iterations: (files.count + chunk - 1) / chunk) { block in
                for index in block * chunk..<min(files.count, (block + 1) * chunk) {
                    base[index] = Self.problem(with: files[index], decode: decode)
                }
            }
        }
        return zip(files, reasons).compactMap { path, reason in reason.map { BadImageFile(path: path, reason: $0) } }
    }

    /// Why the file at `path` cannot be used, nil when it can.
    static func problem(with path: String, decode: Bool) -> String? {
        // A name that is not UTF-8 reaches us with U+FFFD in place of its bytes, and cannot be opened by it.
        if path.contains("\u{FFFD}") && !FileManager.default.fileExists(atPath: path) {
            return "the file name is not valid UTF-8 (shown with \u{FFFD}); rename the file"
        }
        let bytes: Foundation.Data
        do { bytes = try FileBytes.mapped(path) } catch {
            return "cannot read: \(error)"
        }
        do {
            if decode { _ = try ImageCodec.decode(bytes, channels: 3) } else { _ = try ImageCodec.header(bytes) }
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// The same files and labels, decoded to `channels` (1 or 3) instead, without listing the folder again.
    public func converted(toChannels channels: Int) throws -> ImageFolderDataset {
        guard channels == 1 || channels == 3 else { throw DataError.invalidOption("channels must be 1 or 3, not \(channels)") }
        return ImageFolderDataset(name: name, channels: channels, classNames: classNames, files: files, labels: labels)
    }

    /// The same folder without the files in `excluded` (labels and class names kept).
    public func removing(_ excluded: Set<String>) throws -> ImageFolderDataset {
        let kept = files.indices.filter { !excluded.contains(files[$0]) }
        guard !kept.isEmpty else { throw DataError.malformed(path: name, reason: "no usable image is left once the bad files are skipped") }
        return ImageFolderDataset(name: name, channels: channels, classNames: classNames,
                                  files: kept.map { files[$0] }, labels: labels.isEmpty ? [] : kept.map { labels[$0] })
    }

    /// Reads the headers of up to `sampleSize` files spread evenly over the folder (unreadable
    /// ones skipped); throws when none of them can be read.
    public func survey(sampleSize: Int = 64) throws -> FolderSurvey {
        let step = max(1, files.count / max(1, sampleSize))
        let headers = stride(from: 0, to: files.count, by: step).prefix(sampleSize).compactMap { index -> ImageHeader? in
            guard let bytes = try? FileBytes.mapped(files[index]) else { return nil }
            return try? ImageCodec.header(bytes)
        }
        guard !headers.isEmpty else { throw DataError.malformed(path: name, reason: "none of the sampled images has a readable PNG or JPEG header") }
        let sides = headers.map { min($0.width, $0.height) }.sorted()
        return FolderSurvey(sampled: headers.count, colour: headers.filter(\.isColour).count, medianShorterSide: sides[sides.count / 2],
                            uniformSize: Set(headers.map { [$0.width, $0.height] }).count == 1)
    }
}
