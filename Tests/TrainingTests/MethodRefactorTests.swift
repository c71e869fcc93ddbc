import Foundation
import Kernels
import SafeTensors
import Testing
@testable import Training

/// Seeded short runs of InvP and NPID give checkpoint tensors with recorded hashes, so a refactor
/// that should change no result proves it. The method interface passed it against hashes
/// recorded before it (3b957937c447bd50 and 4bf75023ebf4dbc8, commit "Methods are plug-ins");
/// the hashes changed once since, on purpose, when a use-after-free was fixed: a temporary
/// layout copy (e.g. a convolution's reordered input) could go back to the storage pool before
/// the kernel read it, and the next temporary of the same size overwrite it (see `Operand`).
/// The hashes were recorded on the instruction set named beside them; oneDNN picks other kernels
/// (another summation order) on another one, so there the comparison is reported as skipped.
@Suite struct MethodRefactorTests {
    /// Instruction set the hashes were recorded on (`ComputeCapabilities.instructionSet`).
    static let recordedOn = "avx512_core_bf16"
    /// FNV-1a 64 over every tensor of `checkpoint-last` (names sorted, name bytes then data bytes).
    static let recorded: [String: String] = ["invp": "a791513bbff472a7", "npid": "ce31a755fce3377a"]

    static func checkpointHash(_ path: URL) throws -> String {
        let archive = try TensorArchive(contentsOf: path.path)
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ bytes: some Sequence<UInt8>) { for b in bytes { hash = (hash ^ UInt64(b)) &* 0x0000_0100_0000_01B3 } }
        for name in archive.names.sorted() {
            mix(Array(name.utf8))
            mix(try #require(archive[name]).bytes)
        }
        return String(hash, radix: 16)
    }

    static func run(method: String) throws -> String {
        var config = shapesConfig(images: 256, epochs: 2)
        config.method = method
        config.precision = "fp32"
        config.invp.backgroundCount = 128
        config.invp.warmUpEpochs = 1
        let directory = temporaryRunDirectory("refactor-\(method)")
        defer { try? FileManager.default.removeItem(at: directory) }
        _ = try Trainer(config: config, runDirectory: directory, resume: false).run()
        return try checkpointHash(directory.appendingPathComponent("checkpoint-last.safetensors"))
    }

    @Test(.enabled(if: ComputeCapabilities.instructionSet == recordedOn, "skipped: hashes recorded on \(recordedOn), this CPU runs \(ComputeCapabilities.instructionSet)"),
          arguments: ["invp", "npid"])
    func checkpointsMatchTheRecordedHashes(method: String) throws {
        let hash = try Self.run(method: method)
        print("checkpoint hash \(method) on \(ComputeCapabilities.instructionSet): \(hash)")
        #expect(hash == Self.recorded[method])
    }
}
