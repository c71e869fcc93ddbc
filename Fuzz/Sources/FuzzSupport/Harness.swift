import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The shared part of every fuzz target: turning libFuzzer's pointer into bytes, the per-process
/// scratch file for readers that open paths, the "clean outcome" rule, and seed writing.
///
/// A clean outcome is what `Tests/DataTests/FuzzReaderTests.swift` demands: the reader either
/// reads the input completely with every value in range, or throws the library's own error
/// type. Anything else (another error type, an impossible result, a trap, an AddressSanitizer
/// report, a hang, an oversized allocation) is a bug, and `fail` turns the first two into a
/// crash so libFuzzer saves the input.
public enum Harness {
    /// The input as an array (empty for a null pointer, which libFuzzer passes for size 0).
    public static func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
        guard let data, size > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: size))
    }

    /// A scratch file path for this process (`tag` tells several files of one input apart):
    /// in `INVPROP_FUZZ_SCRATCH` when set, else in /dev/shm (memory, so a million rewrites cost
    /// no disk traffic) when present, else in the temporary folder. Reused by every execution.
    /// The files are removed when the process exits normally (libFuzzer ends with `exit`).
    public static func scratchPath(_ tag: String) -> String {
        scratchLock.lock()
        defer { scratchLock.unlock() }
        if let path = scratchPaths[tag] { return path }
        let environment = ProcessInfo.processInfo.environment
        let folder = environment["INVPROP_FUZZ_SCRATCH"]
            ?? (FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : environment["TMPDIR"] ?? "/tmp")
        let path = "\(folder)/invprop-fuzz-\(getpid())-\(tag)"
        scratchPaths[tag] = path
        if scratchPaths.count == 1 { atexit { Harness.removeScratchFiles() } }
        return path
    }

    /// Scratch paths handed out so far, by tag, and the lock that guards them.
    nonisolated(unsafe) private static var scratchPaths: [String: String] = [:]
    private static let scratchLock = NSLock()

    /// Deletes every scratch file of this process.
    private static func removeScratchFiles() {
        scratchLock.lock()
        defer { scratchLock.unlock() }
        for path in scratchPaths.values { unlink(path) }
    }

    /// Writes `bytes` to `path` with plain POSIX calls (Foundation's `Data.write` fsyncs, far
    /// too slow for a million executions).
    public static func write(_ bytes: [UInt8], to path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { fail("cannot create scratch file \(path)") }
        defer { close(fd) }
        let written = bytes.withUnsafeBytes { $0.count == 0 ? 0 : Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else { fail("short write to scratch file \(path)") }
    }

    /// Runs `body`; an error passes when `isExpected` accepts it, anything else fails.
    public static func expectClean(_ body: () throws -> Void, isExpected: (Error) -> Bool) {
        do { try body() } catch {
            guard isExpected(error) else { fail("unexpected error \(type(of: error)): \(error)") }
        }
    }

    /// Reports a broken invariant and aborts, so libFuzzer records the input as a crash.
    public static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("invprop fuzz: \(message)\n".utf8))
        abort()
    }

    /// Checks `condition`, failing with `message` when it does not hold.
    public static func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
        if !condition() { fail(message()) }
    }

    /// When the environment names a folder in `INVPROP_FUZZ_WRITE_SEEDS`, writes the target's
    /// seed files there and exits; otherwise returns. Called from `LLVMFuzzerInitialize`, so
    /// `make fuzz-seeds` regenerates the committed corpus with the library's own writers.
    public static func writeSeedsIfAsked(_ seeds: () throws -> [(name: String, bytes: [UInt8])]) {
        guard let folder = ProcessInfo.processInfo.environment["INVPROP_FUZZ_WRITE_SEEDS"] else { return }
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            for seed in try seeds() {
                write(seed.bytes, to: "\(folder)/\(seed.name)")
                print("seed \(folder)/\(seed.name): \(seed.bytes.count) bytes")
            }
        } catch {
            fail("writing seeds: \(error)")
        }
        exit(0)
    }
}
