import Foundation
import Testing
@testable import SafeTensors

/// Writing replaces the target all at once or not at all.
@Suite struct AtomicWriteTests {
    struct InjectedFailure: Error {}

    @Test func failureMidWriteKeepsThePreviousFile() throws {
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        let path = dir.file("ckpt.safetensors")
        let old = try sampleArchive()
        try old.write(to: path)
        let oldBytes = try readBytes(path)

        var new = TensorArchive(metadata: ["epoch": "4"])
        try new.set("w", floats: [Float](repeating: 1, count: 4096), shape: [64, 64])
        try new.set("b", floats: [Float](repeating: 2, count: 64), shape: [64])
        // Fail after the header and the first tensor reached the temporary file.
        var calls = 0
        #expect(throws: InjectedFailure.self) {
            try new.write(to: path) { written in
                calls += 1
                if written > 0 && calls == 3 { throw InjectedFailure() }
            }
        }
        #expect(calls == 3)
        #expect(try readBytes(path) == oldBytes)
        #expect(try TensorArchive(contentsOf: path) == old)
        #expect(dir.contents() == ["ckpt.safetensors"])  // the temporary file was removed

        try new.write(to: path)
        #expect(try TensorArchive(contentsOf: path) == new)
        #expect(dir.contents() == ["ckpt.safetensors"])
    }

    @Test func aLeftoverTemporaryFileFromACrashIsHarmless() throws {
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        let path = dir.file("ckpt.safetensors")
        let archive = try sampleArchive()
        try archive.write(to: path)
        // What a crash before rename would leave behind: a partial temporary file.
        try writeBytes(Array(try archive.encoded().prefix(20)), to: dir.file(".ckpt.safetensors.tmp-1-dead"))
        #expect(try TensorArchive(contentsOf: path) == archive)
        try archive.write(to: path)
        #expect(try TensorArchive(contentsOf: path) == archive)
    }

    @Test func failureBeforeTheFirstByteKeepsTheTarget() throws {
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        let path = dir.file("ckpt.safetensors")
        try writeBytes(Array("previous".utf8), to: path)
        var archive = TensorArchive()
        try archive.set("x", floats: [1], shape: [1])
        #expect(throws: InjectedFailure.self) {
            try archive.write(to: path) { _ in throw InjectedFailure() }
        }
        #expect(try readBytes(path) == Array("previous".utf8))
        #expect(dir.contents() == ["ckpt.safetensors"])
    }

    @Test func unwritableLocationsNameThePath() throws {
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        let archive = try sampleArchive()
        let inMissingDir = dir.file("no/such/dir/ckpt.safetensors")
        do {
            try archive.write(to: inMissingDir)
            Issue.record("wrote into a missing directory")
        } catch let error as SafeTensorsError {
            #expect(error.kind == .io && error.description.contains(inMissingDir), "\(error)")
        }
        // A directory sits where the file should go: rename fails, the directory survives.
        let occupied = dir.file("occupied")
        try FileManager.default.createDirectory(atPath: occupied + "/inner", withIntermediateDirectories: true)
        do {
            try archive.write(to: occupied)
            Issue.record("replaced a directory")
        } catch let error as SafeTensorsError {
            #expect(error.kind == .io && error.description.contains(occupied), "\(error)")
        }
        #expect(FileManager.default.fileExists(atPath: occupied + "/inner"))
        #expect(dir.contents() == ["occupied"])
        // Permission bits stop only non-root users; the check is skipped when running as root.
        if geteuid() != 0 {
            let locked = dir.file("locked")
            try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: true)
            chmod(locked, 0o555)
            defer { chmod(locked, 0o755) }
            #expect(throws: SafeTensorsError.self) { try archive.write(to: locked + "/ckpt.safetensors") }
        }
    }

    @Test func pathsWithDotSegmentsWork() throws {
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        // The temporary file goes next to the target, in "dir/.", the same directory.
        try sampleArchive().write(to: dir.path + "/./dot.safetensors")
        #expect(try TensorArchive(contentsOf: dir.file("dot.safetensors")) == sampleArchive())
        #expect(dir.contents() == ["dot.safetensors"])
    }
}
