import Foundation

/// Whole-file reads for small inputs a user names (recipes, .npy arrays) that must be regular
/// files: a device or FIFO reports size 0 and would be read without end (/dev/zero) or block on
/// open (a FIFO with no writer), so the type is checked, on the file a symbolic link leads to,
/// before anything is opened.
public enum RegularFile {
    /// Why a path could not be read as a regular file; `description` is a phrase that follows the
    /// path ("/tmp/x is a directory").
    public enum Problem: Error, CustomStringConvertible, Equatable {
        /// Nothing there, or no permission to look.
        case missing
        /// A directory, a device or another special file (`kind` says which).
        case notRegular(kind: String)
        /// Larger than the caller's limit.
        case tooLarge(size: Int, limit: Int)
        /// Opening or reading failed.
        case unreadable(reason: String)
        /// The file grew past its measured size while it was read.
        case grew(size: Int)

        /// The phrase after the path.
        public var description: String {
            switch self {
            case .missing: return "does not exist or cannot be read"
            case .notRegular(let kind): return "is \(kind)"
            case .tooLarge(let size, let limit): return "is \(size) bytes, over the limit of \(limit)"
            case .unreadable(let reason): return "cannot be read: \(reason)"
            case .grew(let size): return "grew while it was read (it had \(size) bytes); read it once it is complete"
            }
        }
    }

    /// The bytes of the regular file at `path`, at most `limit` of them, never more than the size
    /// it had when checked (one byte past it is read, so growth is noticed rather than followed).
    public static func read(_ path: String, limit: Int = Int.max - 1) throws(Problem) -> Foundation.Data {
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: resolved) else { throw .missing }
        switch attributes[.type] as? FileAttributeType {
        case .typeRegular?: break
        case .typeDirectory?: throw .notRegular(kind: "a directory")
        case .typeCharacterSpecial?, .typeBlockSpecial?: throw .notRegular(kind: "a device")
        default: throw .notRegular(kind: "not a regular file (a FIFO, socket or other special file)")
        }
        let size = attributes[.size] as? Int ?? 0
        guard size <= limit else { throw .tooLarge(size: size, limit: limit) }
        guard let handle = FileHandle(forReadingAtPath: resolved) else { throw .unreadable(reason: "it cannot be opened") }
        defer { try? handle.close() }
        let data: Foundation.Data
        do { data = try handle.read(upToCount: size + 1) ?? Foundation.Data() } catch {
            throw .unreadable(reason: error.localizedDescription)
        }
        guard data.count <= size else { throw .grew(size: size) }
        return data
    }
}
