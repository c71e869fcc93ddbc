import Foundation

/// One line of a split list: an image path relative to the collection's root and its class.
public struct SplitListEntry: Equatable, Sendable {
    /// `<domain>/<class>/<image>`, relative to the root.
    public var relativePath: String
    /// The class index (the class folders sorted by name).
    public var label: Int
}

/// A PACS split list as published with DomCLP (`data/pacs/images/<domain>_train_0.txt` and the
/// like): one image a line, `<domain>/<class>/<file> <label>`, optionally followed by a domain
/// number (the `train_test_list/` files), separated by spaces or tabs. Blank lines are skipped;
/// lines may end in LF or CRLF.
public enum DomainSplitList {
    /// Largest list read (PACS's biggest is under 400 KB).
    public static let maximumBytes = 16 << 20

    /// Reads and checks the list at `path`: every path stays inside the root, lies in `domain`,
    /// and names the class folder its label names in `classNames`.
    public static func read(_ path: String, domain: String, classNames: [String]) throws -> [SplitListEntry] {
        let text = try contents(of: path)
        var entries: [SplitListEntry] = []
        for (offset, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if fields.isEmpty { continue }
            let entry = try parse(fields, lineNumber: offset + 1, path: path, classCount: classNames.count)
            try check(entry, lineNumber: offset + 1, path: path, domain: domain, classNames: classNames)
            entries.append(entry)
        }
        return entries
    }

    /// The file's text; throws for a missing, unreadable, oversized or non-UTF-8 file.
    static func contents(of path: String) throws -> String {
        guard FileManager.default.fileExists(atPath: path) else {
            throw DataError.notFound(path: path, hint: "the split list does not exist")
        }
        let data: Foundation.Data
        do { data = try FileBytes.mapped(path) } catch { throw DataError.malformed(path: path, reason: "cannot read the split list: \(error)") }
        guard data.count <= maximumBytes else {
            throw DataError.malformed(path: path, reason: "split list of \(data.count) bytes is larger than the \(maximumBytes)-byte limit")
        }
        guard let text = String(data: data, encoding: .utf8), !text.contains("\0") else {
            throw DataError.malformed(path: path, reason: "the split list is not UTF-8 text")
        }
        return text
    }

    /// `path label [domain]` to an entry; the error names the line.
    static func parse(_ fields: [Substring], lineNumber: Int, path: String, classCount: Int) throws -> SplitListEntry {
        let at = "line \(lineNumber)"
        guard fields.count == 2 || fields.count == 3 else {
            throw DataError.malformed(path: path, reason: "\(at): expected '<domain>/<class>/<image> <label>', found \(fields.count) fields")
        }
        guard let label = Int(fields[1]), (0..<classCount).contains(label) else {
            throw DataError.malformed(path: path, reason: "\(at): label '\(fields[1])' is not a class index in 0…\(classCount - 1)")
        }
        if fields.count == 3, Int(fields[2]) == nil {
            throw DataError.malformed(path: path, reason: "\(at): the third field '\(fields[2])' is not a domain number")
        }
        return SplitListEntry(relativePath: String(fields[0]), label: label)
    }

    /// Refuses a path that leaves the root, lies in another domain, or contradicts its label.
    static func check(_ entry: SplitListEntry, lineNumber: Int, path: String, domain: String, classNames: [String]) throws {
        let at = "line \(lineNumber)"
        let parts = entry.relativePath.split(separator: "/", omittingEmptySubsequences: false)
        guard !entry.relativePath.hasPrefix("/"), !parts.contains(".."), !parts.contains(""), parts.count >= 3 else {
            throw DataError.malformed(path: path, reason: "\(at): '\(entry.relativePath)' is not a relative <domain>/<class>/<image> path inside the dataset")
        }
        guard parts[0] == domain else {
            throw DataError.malformed(path: path, reason: "\(at): '\(entry.relativePath)' is not in domain \(domain), which this list is for")
        }
        guard parts[1] == classNames[entry.label] else {
            throw DataError.malformed(path: path, reason: "\(at): '\(entry.relativePath)' has label \(entry.label) (\(classNames[entry.label])) but lies in class folder \(parts[1])")
        }
    }
}
