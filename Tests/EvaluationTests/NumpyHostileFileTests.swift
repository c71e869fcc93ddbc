#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import Evaluation

/// Broken and hostile `.npy` files: each is refused with an `EvaluationError` whose message names
/// the file and the problem, never a trap or an attempt to allocate what the header claims.
@Suite struct NumpyHostileFileTests {
    /// A version-`major` file with `header` (padded to end in "\n") followed by `data`.
    static func npy(major: UInt8, header: String, data: [UInt8] = []) -> [UInt8] {
        let text = Array((header + "\n").utf8)
        let length: [UInt8] = major == 1
            ? [UInt8(text.count & 0xFF), UInt8(text.count >> 8)]
            : [0, 8, 16, 24].map { UInt8(truncatingIfNeeded: text.count >> $0) }
        return [0x93] + Array("NUMPY".utf8) + [major, 0] + length + text + data
    }

    /// Writes `bytes` to a temporary file, reads it with `NumpyArray(contentsOf:)` and returns
    /// the error's message (nil, with an issue recorded, when the file was accepted) and the path.
    static func refusal(of bytes: [UInt8]) throws -> (message: String?, path: String) {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/hostile.npy"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        do {
            _ = try NumpyArray(contentsOf: path)
            Issue.record("the hostile file was accepted")
            return (nil, path)
        } catch let error as EvaluationError {
            #expect(error.kind == .file)
            return (error.message, path)
        }
    }

    @Test func emptyFileIsRefusedAsEmpty() throws {
        let (message, path) = try Self.refusal(of: [])
        #expect(message?.contains(path) == true && message?.contains("empty") == true, "\(message ?? "")")
    }

    /// 2^61 float64 elements need 2^64 bytes: the element count fits in Int, the byte count does not.
    @Test func shapeWhoseByteCountOverflowsIsRefused() throws {
        let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2305843009213693952,), }"
        let (message, path) = try Self.refusal(of: Self.npy(major: 1, header: header, data: [0, 0, 0, 0, 0, 0, 0, 0]))
        #expect(message?.contains(path) == true && message?.contains("too large") == true, "\(message ?? "")")
    }

    @Test func shapeWhoseElementCountOverflowsIsRefused() throws {
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4), }"
        let (message, path) = try Self.refusal(of: Self.npy(major: 1, header: header))
        #expect(message?.contains(path) == true && message?.contains("too large") == true, "\(message ?? "")")
    }

    @Test func hugeShapeThatFitsIntIsRefusedWithoutAllocating() throws {
        // 10^12 float32 (4 TB) against 4 bytes of data: refused by comparing sizes, not by reading.
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000), }"
        let (message, path) = try Self.refusal(of: Self.npy(major: 1, header: header, data: [0, 0, 0, 0]))
        #expect(message?.contains(path) == true && message?.contains("needs 4000000000000 bytes, file has 4") == true,
                "\(message ?? "")")
    }

    @Test func headerLengthBeyondTheFileIsRefused() throws {
        var bytes = try NumpyArray(floats: [1, 2], shape: [2]).encoded()
        bytes[8] = 0xFF; bytes[9] = 0xFF  // declares a 65 535-byte header in a file of 72 bytes
        let (message, path) = try Self.refusal(of: bytes)
        #expect(message?.contains(path) == true && message?.contains("truncated header") == true, "\(message ?? "")")
        #expect(message?.contains("65535") == true, "\(message ?? "")")
    }

    @Test func versionTwoHeaderWithAFourByteLengthIsRead() throws {
        let header = "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }"
        let data: [UInt8] = [5, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        let array = try NumpyArray(decoding: Self.npy(major: 2, header: header, data: data))
        #expect(array.shape == [2])
        #expect(try array.int64s() == [5, -1])
    }

    /// A version-1 file relabelled 2.0: the 2-byte length and the header's first bytes read as one
    /// 4-byte length far beyond the file.
    @Test func versionTwoLengthBeyondTheFileIsRefused() throws {
        var bytes = try NumpyArray(floats: [1, 2], shape: [2]).encoded()
        bytes[6] = 2
        let (message, path) = try Self.refusal(of: bytes)
        #expect(message?.contains(path) == true && message?.contains("truncated header") == true, "\(message ?? "")")
    }

    @Test func versionTwoFileCutInsideItsLengthIsRefused() throws {
        let (message, path) = try Self.refusal(of: [0x93] + Array("NUMPY".utf8) + [2, 0, 0x40, 0])
        #expect(message?.contains(path) == true && message?.contains("4-byte header length") == true, "\(message ?? "")")
    }

    @Test func unknownVersionIsRefused() throws {
        var bytes = try NumpyArray(floats: [1], shape: [1]).encoded()
        bytes[6] = 4
        let (message, path) = try Self.refusal(of: bytes)
        #expect(message?.contains(path) == true && message?.contains("unsupported format version 4.0") == true, "\(message ?? "")")
    }

    @Test func negativeOrNonNumericShapeIsRefused() throws {
        for shape in ["(-1,)", "(two,)"] {
            let header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }"
            let (message, path) = try Self.refusal(of: Self.npy(major: 1, header: header))
            #expect(message?.contains(path) == true && message?.contains("bad shape") == true, "\(message ?? "")")
        }
    }
    /// A device, a FIFO and a directory are refused by their type before being opened: /dev/zero
    /// used to be read without end and a FIFO without a writer to block forever.
    @Test func nonRegularFilesAreRefusedWithoutReading() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let fifo = directory + "/pipe.npy"
        #expect(mkfifo(fifo, 0o600) == 0)
        // If the reader ever opens the FIFO, a writer arriving after 5 s releases it (and shows it) instead of hanging the tests.
        let released = SharedFlag()
        Thread {
            Thread.sleep(forTimeInterval: 5)
            let fd = open(fifo, O_WRONLY | O_NONBLOCK)
            if fd >= 0 { released.set(); close(fd) }
        }.start()
        for (path, kind) in [("/dev/zero", "a device"), (fifo, "FIFO"), (directory, "a directory")] {
            do {
                _ = try NumpyArray(contentsOf: path)
                Issue.record("\(path) was accepted")
            } catch let error as EvaluationError {
                #expect(error.kind == .file && error.message.contains(path) && error.message.contains(kind), "\(error.message)")
            }
        }
        #expect(!released.isSet, "the FIFO was opened")
    }

    @Test func missingFileIsNamed() throws {
        let path = NSTemporaryDirectory() + "invprop-missing-\(UUID().uuidString).npy"
        #expect(throws: EvaluationError.self) { _ = try NumpyArray(contentsOf: path) }
        do { _ = try NumpyArray(contentsOf: path) } catch let error as EvaluationError {
            #expect(error.message.contains(path) && error.message.contains("does not exist"), "\(error.message)")
        }
    }
}
