import Foundation

/// Checks of where results will be written, made before the work that produces them, so that a
/// mistyped `--json` or `--output` is reported in a second rather than after an hour of
/// evaluation, and with the real reason (Foundation says "the file doesn't exist" when a parent
/// is a file).
public enum OutputLocation {
    /// Why a file cannot be written at `path` (its folder missing, not a folder, not writable, or
    /// `path` itself a folder), or nil when it can as far as can be told without writing.
    /// Result files are written atomically (a temporary file renamed over `path`), so only the
    /// folder needs to be writable.
    public static func fileProblem(_ path: String) -> String? {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            return "\(path) is a folder; give a file name"
        }
        let folder = parent(of: path)
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) else {
            if let blocker = nearestExisting(above: folder), !isFolder(blocker) {
                return "\(blocker) is a file, not a folder, so \(path) cannot be created"
            }
            return "the folder \(folder) does not exist"
        }
        guard isDirectory.boolValue else { return "\(folder) is a file, not a folder, so \(path) cannot be created" }
        guard FileManager.default.isWritableFile(atPath: folder) else { return "the folder \(folder) is not writable" }
        return nil
    }

    /// Why `path` cannot serve as an output folder (a file is in the way, or the folder, or the
    /// nearest existing one above it where it is still to be created, is not writable), or nil.
    public static func folderProblem(_ path: String) -> String? {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { return "\(path) is a file, not a folder" }
            return FileManager.default.isWritableFile(atPath: path) ? nil : "the folder \(path) is not writable"
        }
        // Missing folders are created with their parents: what matters is the nearest that exists.
        guard let existing = nearestExisting(above: path) else { return nil }
        guard isFolder(existing) else { return "\(existing) is a file, not a folder, so \(path) cannot be created" }
        guard FileManager.default.isWritableFile(atPath: existing) else {
            return "\(path) cannot be created: the folder \(existing) is not writable"
        }
        return nil
    }

    /// The folder holding `path` ("." for a bare file name).
    static func parent(of path: String) -> String {
        let folder = (path as NSString).deletingLastPathComponent
        return folder.isEmpty ? "." : folder
    }

    /// `path` itself or the nearest folder above it that exists (nil if none does, which only a
    /// relative path whose working directory vanished could give).
    static func nearestExisting(above path: String) -> String? {
        var candidate = path
        while !FileManager.default.fileExists(atPath: candidate) {
            let up = parent(of: candidate)
            if up == candidate { return nil }
            candidate = up
        }
        return candidate
    }

    /// True when `path` exists and is a folder (or a link to one).
    static func isFolder(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }
}
