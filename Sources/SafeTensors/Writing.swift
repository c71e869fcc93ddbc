#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension TensorArchive {
    /// Where each tensor's bytes go in the data area.
    struct Layout {
        /// The padded header, length prefix included.
        let prefix: [UInt8]
        /// Names in the order their bytes are written.
        let dataOrder: [String]
        /// Total data-area size.
        let dataSize: Int
    }

    /// Builds the header from names, dtypes and shapes only (not the byte arrays, checked as they are written).
    ///
    /// Bytes are laid out by descending element size (stable, so deterministic), which with the
    /// 8-byte-aligned data start aligns every tensor to its element size for readers that map the
    /// file; the header lists tensors in archive order, which is the order a reader gets back.
    func layout(path: String?) throws -> Layout {
        var sizes: [String: (begin: Int, end: Int)] = [:]
        var offset = 0
        let dataOrder = order.enumerated().sorted { a, b in
            let (sa, sb) = (entries[a.element]?.dtype.byteSize ?? 0, entries[b.element]?.dtype.byteSize ?? 0)
            return sa != sb ? sa > sb : a.offset < b.offset
        }.map(\.element)
        for name in dataOrder {
            let entry = try self.entry(name)
            guard name != Self.metadataKey else {
                throw SafeTensorsError(.invalidTensor, path: path, tensor: name, "the name is reserved for metadata")
            }
            guard let byteCount = entry.expectedByteCount else {
                throw SafeTensorsError(.invalidTensor, path: path, tensor: name,
                                       "shape \(entry.shape) has a negative dimension or too many elements")
            }
            let (end, overflow) = offset.addingReportingOverflow(byteCount)
            guard !overflow else {
                throw SafeTensorsError(.invalidTensor, path: path, tensor: name, "archive exceeds Int.max bytes")
            }
            sizes[name] = (offset, end)
            offset = end
        }

        var json: [UInt8] = []
        json.append(UInt8(ascii: "{"))
        var first = true
        func separator() {
            if !first { json.append(UInt8(ascii: ",")) }
            first = false
        }
        if !metadata.isEmpty {
            separator()
            appendJSONString(Self.metadataKey, to: &json)
            json.append(contentsOf: Array(":{".utf8))
            for (i, key) in metadata.keys.sorted().enumerated() {
                if i > 0 { json.append(UInt8(ascii: ",")) }
                appendJSONString(key, to: &json)
                json.append(UInt8(ascii: ":"))
                appendJSONString(metadata[key] ?? "", to: &json)
            }
            json.append(UInt8(ascii: "}"))
        }
        for name in order {
            guard let entry = entries[name], let range = sizes[name] else { continue }
            separator()
            appendJSONString(name, to: &json)
            let shape = entry.shape.map(String.init).joined(separator: ",")
            json.append(contentsOf: Array(
                ":{\"dtype\":\"\(entry.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(range.begin),\(range.end)]}".utf8))
        }
        json.append(UInt8(ascii: "}"))
        // Spaces (valid JSON whitespace) pad the header so the data area starts 8-byte aligned.
        while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
        guard json.count <= Self.maxHeaderSize else {
            throw SafeTensorsError(.invalidTensor, path: path,
                                   "header would be \(json.count) bytes, over the \(Self.maxHeaderSize)-byte limit readers accept")
        }

        var prefix: [UInt8] = []
        prefix.reserveCapacity(8 + json.count)
        var length = UInt64(json.count)
        for _ in 0..<8 {
            prefix.append(UInt8(truncatingIfNeeded: length))
            length >>= 8
        }
        prefix.append(contentsOf: json)
        return Layout(prefix: prefix, dataOrder: dataOrder, dataSize: offset)
    }

    /// Streams the encoding to `emit`, checking each tensor's byte count just before its bytes.
    func encode(path: String?, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        let layout = try layout(path: path)
        try layout.prefix.withUnsafeBytes(emit)
        for name in layout.dataOrder {
            let entry = try self.entry(name)
            try Self.validate(name: name, entry: entry, path: path)
            try entry.bytes.withUnsafeBytes(emit)
        }
    }

    /// The complete safetensors encoding of this archive in memory.
    public func encoded() throws -> [UInt8] {
        var out: [UInt8] = []
        try encode(path: nil) { out.append(contentsOf: $0) }
        return out
    }

    /// Writes the archive to `path` atomically: a temporary file in the same directory is written,
    /// fsynced and renamed over `path`, then the directory is fsynced. A failure or crash at any
    /// point leaves the previous file at `path` (if any) intact; errors name the path.
    public func write(to path: String) throws {
        try write(to: path, beforeChunk: nil)
    }

    /// `write(to:)` with a test seam: `beforeChunk` runs before each chunk reaches the temporary
    /// file, given the bytes written so far, and may throw to simulate a failure mid-write.
    func write(to path: String, beforeChunk: ((_ written: Int) throws -> Void)?) throws {
        let directory: String
        let base: String
        if let slash = path.lastIndex(of: "/") {
            directory = slash == path.startIndex ? "/" : String(path[..<slash])
            base = String(path[path.index(after: slash)...])
        } else {
            directory = "."
            base = path
        }
        guard !base.isEmpty else { throw SafeTensorsError(.io, path: path, "path names a directory, not a file") }

        // Same directory, so rename(2) is atomic (no cross-filesystem move); random so concurrent
        // writers of the same target do not collide; O_EXCL so we never reuse someone's file.
        let temporary = "\(directory)/.\(base).tmp-\(getpid())-\(String(UInt64.random(in: 0...UInt64.max), radix: 16))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw SafeTensorsError(.io, path: path, "cannot create a temporary file in \(directory): \(errnoText())")
        }
        var renamed = false
        defer {
            if !renamed { unlink(temporary) }
        }
        do {
            var written = 0
            try encode(path: path) { buffer in
                try beforeChunk?(written)
                written += buffer.count
                var done = 0
                while done < buffer.count {
                    let wrote = systemWrite(fd, buffer.baseAddress.map { $0 + done }, buffer.count - done)
                    if wrote < 0 {
                        if errno == EINTR { continue }
                        throw SafeTensorsError(.io, path: path, "writing \(temporary) failed: \(errnoText())")
                    }
                    done += wrote
                }
            }
            guard fsync(fd) == 0 else {
                throw SafeTensorsError(.io, path: path, "fsync of \(temporary) failed: \(errnoText())")
            }
        } catch {
            close(fd)
            throw error
        }
        guard close(fd) == 0 else {
            throw SafeTensorsError(.io, path: path, "closing \(temporary) failed: \(errnoText())")
        }
        guard rename(temporary, path) == 0 else {
            throw SafeTensorsError(.io, path: path, "renaming \(temporary) over it failed: \(errnoText())")
        }
        renamed = true
        // Persist the directory entry too, or a crash could forget the rename.
        let dirFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dirFD >= 0 else {
            throw SafeTensorsError(.io, path: path, "cannot open directory \(directory) to sync it: \(errnoText())")
        }
        defer { close(dirFD) }
        // EINVAL: the filesystem cannot sync directories; the rename is done, so nothing more to do.
        guard fsync(dirFD) == 0 || errno == EINVAL else {
            throw SafeTensorsError(.io, path: path, "fsync of directory \(directory) failed: \(errnoText())")
        }
    }
}

/// `write(2)`, named apart from `TensorArchive.write(to:)`, which would otherwise shadow it.
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    write(fd, buffer, count)
}
