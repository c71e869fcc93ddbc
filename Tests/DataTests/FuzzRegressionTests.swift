import Foundation
import Testing
@testable import Data

/// Inputs libFuzzer found (Fuzz/, docs/reliability.md), replayed in the normal suite. Each one is
/// also kept in the target's corpus under Fuzz/corpus/, where `make fuzz-smoke` replays it with
/// AddressSanitizer and LeakSanitizer.
@Suite(.serialized) struct FuzzRegressionTests {
    /// Resident memory of this process in bytes (from /proc/self/statm).
    static func residentBytes() throws -> Int {
        let fields = try String(contentsOfFile: "/proc/self/statm", encoding: .utf8).split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { throw InvariantBroken(message: "unreadable /proc/self/statm") }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// FuzzIDX, FuzzSTL10 and FuzzSVHN (inputs `regression-empty-*`): every reader given an
    /// empty file leaked the 4 KB buffer Foundation's `Data(contentsOf:options: .alwaysMapped)`
    /// allocates for it. Each reader must reject the empty file cleanly.
    @Test func emptyFilesAreRejectedByEveryReader() throws {
        let temp = try TempFolder(); defer { temp.remove() }
        let empty = try temp.write("empty", [])
        let images = try temp.write("images", Fixture.idxImages(count: 1, side: 4))
        let stl = try temp.write("stl", Fixture.stlImages(count: 1))
        let openers: [(String, () throws -> any ImageDataset)] = [
            ("IDX images", { try IDXDataset(imagesPath: empty, labelsPath: nil, name: "f") }),
            ("IDX labels", { try IDXDataset(imagesPath: images, labelsPath: empty, name: "f") }),
            ("CIFAR", { try CIFARDataset(files: [empty], variant: .cifar10, name: "f") }),
            ("STL-10 images", { try STL10Dataset(imagesPath: empty, labelsPath: nil, name: "f") }),
            ("STL-10 labels", { try STL10Dataset(imagesPath: stl, labelsPath: empty, name: "f") }),
            ("SVHN", { try SVHNDataset(path: empty, name: "f") }),
        ]
        for (reader, open) in openers {
            do {
                _ = try open()
                Issue.record("\(reader): an empty file was accepted")
            } catch {
                #expect(malformedNames(error, empty), "\(reader): \(error)")
            }
        }
    }

    /// The leak itself, measured without a sanitizer: 20 000 empty files opened must not grow
    /// resident memory by anything near the 80 MB the leaked buffers took.
    @Test func openingEmptyFilesDoesNotLeak() throws {
        let temp = try TempFolder(); defer { temp.remove() }
        let empty = try temp.write("empty", [])
        for _ in 0..<500 { #expect(try FileBytes.mapped(empty).isEmpty) }   // warm up allocator caches
        let before = try Self.residentBytes()
        for _ in 0..<20_000 { _ = try FileBytes.mapped(empty) }
        let growth = try Self.residentBytes() - before
        #expect(growth < 16 << 20, "resident memory grew by \(growth) bytes over 20 000 empty files")
    }
}
