import Codecs
import Foundation
import Testing
@testable import Data

@Suite struct IDXReaderTests {
    @Test(arguments: [false, true])
    func readsBackWhatWasWritten(gzipped: Bool) throws {
        let temp = try TempFolder(); defer { temp.remove() }
        let labels: [UInt8] = [3, 0, 9, 5]
        var images = Fixture.idxImages(count: 4), labelBytes = Fixture.idxLabels(labels)
        if gzipped {
            images = try Zlib.deflate(images, container: .gzip)
            labelBytes = try Zlib.deflate(labelBytes, container: .gzip)
        }
        let suffix = gzipped ? ".gz" : ""
        let dataset = try IDXDataset(imagesPath: try temp.write("i\(suffix)", images),
                                     labelsPath: try temp.write("l\(suffix)", labelBytes), name: "t")
        #expect(dataset.count == 4 && dataset.channels == 1 && dataset.classCount == 10)
        for n in 0..<4 {
            #expect(try dataset.image(at: n) == Fixture.image(n, side: 28, channels: 1))
            #expect(dataset.label(at: n) == Int(labels[n]))
        }
        #expect(throws: DataError.self) { try dataset.image(at: 4) }
    }

    @Test func rejectsMalformedFiles() throws {
        let temp = try TempFolder(); defer { temp.remove() }
        let images = Fixture.idxImages(count: 3), labels = Fixture.idxLabels([1, 2, 3])
        let goodLabels = try temp.write("labels", labels)
        let cases: [(String, [UInt8])] = [
            ("truncated", Array(images.dropLast(5))),
            ("extra bytes", images + [0]),
            ("short header", Array(images.prefix(10))),
            ("wrong magic", [0, 0, 8, 1] + Array(images.dropFirst(4))),
            ("wrong type", [0, 0, 0x0D, 3] + Array(images.dropFirst(4))),
            ("count disagrees", [0, 0, 8, 3] + Fixture.be32(4) + Array(images.dropFirst(8))),
            ("huge dims", [0, 0, 8, 3, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
            ("empty", []),
        ]
        for (what, bytes) in cases {
            let path = try temp.write("images-\(what)", bytes)
            #expect(throws: DataError.self, "\(what)") { try IDXDataset(imagesPath: path, labelsPath: goodLabels, name: "t") }
            do { _ = try IDXDataset(imagesPath: path, labelsPath: goodLabels, name: "t") } catch {
                #expect(malformedNames(error, path) || malformedNames(error, goodLabels), "\(what): \(error)")
            }
        }
        let goodImages = try temp.write("images", images)
        let badLabels: [(String, [UInt8])] = [
            ("label out of range", Fixture.idxLabels([1, 10, 3])),
            ("too few labels", Fixture.idxLabels([1, 2])),
            ("labels magic", [0, 0, 8, 3] + Array(labels.dropFirst(4))),
            ("bad gzip", [0x1F, 0x8B, 8, 0, 0, 0]),
        ]
        for (what, bytes) in badLabels {
            let path = try temp.write("labels-\(what)", bytes)
            do {
                _ = try IDXDataset(imagesPath: goodImages, labelsPath: path, name: "t")
                Issue.record("\(what) accepted")
            } catch {
                #expect(malformedNames(error, path), "\(what): \(error)")
            }
        }
    }
}

@Suite struct CIFARReaderTests {
    @Test func cifar10AcrossBatches() throws {
        let temp = try TempFolder(); defer { temp.remove() }
        let a = try temp.write("a.bin", Fixture.cifar(labels: [[7], [0]]))
        let b = try temp.write("b.bin", Fixture.cifar(labels: [[9]], firstIndex: 2))
        let dataset = try CIFARDataset(files: [a, b], variant: .cifar10, name: "c")
        #expect(dataset.count == 3 && dataset.channels == 3 && dataset.classCount == 10)
        for n in 0..<3 { #expect(try dataset.image(at: n) == Fixture.image(n, side: 32, channels: 3)) }
        #expect([0, 1, 2].map { dataset.label(at: $0) } == [7, 0, 9])
    }

    @Test func cifar100FineAndCoarse() throws {
        let temp = try TempFolder(); defer { temp.remove() }
        let path = try temp.write("train.bin", Fixture.cifar(labels: [[19, 99], [3, 42]]))
        let fine = try CIFARDataset(files: [path], variant: .cifar100(coarse: false), name: "f")
        let coarse = try CIFARDataset(files: [path], variant: .cifar100(coarse: true), name: "c")
        #expect(fine.classCount == 100 && coarse.classCount == 20)
        #expect(fine.label(at: 0) == 99 && fine.label(at: 1) == 42)
        #expect(coarse.label(at: 0) == 19 && coarse.label(at: 1) == 3)
        #expect(try fine.image(at: 1) == Fixture.image(1, side: 32, channels: 3))
    }

    @Test func rejectsMalformedFiles() throws {
        let temp = try TempFolder(); defer { temp.remove() }
        let good = Fixture.cifar(labels: [[1], [2]])
        let cases: [(String, [UInt8], CIFARDataset.Variant)] = [
            ("truncated", Array(good.dropLast(1)), .cifar10),
            ("empty", [], .cifar10),
            ("label 10", Fixture.cifar(labels: [[1], [10]]), .cifar10),
            ("cifar10 file as cifar100", good, .cifar100(coarse: false)),
            ("coarse 20", Fixture.cifar(labels: [[20, 5]]), .cifar100(coarse: false)),
            ("fine 100", Fixture.cifar(labels: [[2, 100]]), .cifar100(coarse: true)),
        ]
        for (what, bytes, variant) in cases {
            let path = try temp.write("\(what).bin", bytes)
            do {
                _ = try CIFARDataset(files: [path], variant: variant, name: "c")
                Issue.record("\(what) accepted")
            } catch {
                #expect(malformedNames(error, path), "\(what): \(error)")
            }
        }
        #expect(throws: DataError.self) { try CIFARDataset(files: [temp.path + "/missing.bin"], variant: .cifar10, name: "c") }
    }
}

@Suite struct STL10ReaderTests {
    @Test func labelledAndUnlabelled() throws {
        let temp = try TempFolder(); defer { temp.remove() }
        let x = try temp.write("train_X.bin", Fixture.stlImages(count: 2))
        let y = try temp.write("train_y.bin", [10, 1])
        let train = try STL10Dataset(imagesPath: x, labelsPath: y, name: "s")
        #expect(train.count == 2 && train.classCount == 10)
        #expect(train.label(at: 0) == 9 && train.label(at: 1) == 0)
        #expect(try train.image(at: 1) == Fixture.image(1, side: 96, channels: 3))
        let unlabelled = try STL10Dataset(imagesPath: x, labelsPath: nil, name: "u")
        #expect(unlabelled.classCount == nil && unlabelled.label(at: 0) == nil)
        let both = try ConcatenatedDataset(parts: [train, unlabelled], name: "b")
        #expect(both.count == 4 && both.classCount == 10 && both.label(at: 1) == 0 && both.label(at: 2) == nil)
        #expect(try both.image(at: 3) == Fixture.image(1, side: 96, channels: 3))
    }

    @Test func rejectsMalformedFiles() throws {
        let temp = try TempFolder(); defer { temp.remove() }
        let x = try temp.write("x.bin", Fixture.stlImages(count: 2))
        for (what, labels) in [("label 0", [0, 1] as [UInt8]), ("label 11", [11, 1]), ("count", [1])] {
            let y = try temp.write("y-\(what).bin", labels)
            do { _ = try STL10Dataset(imagesPath: x, labelsPath: y, name: "s"); Issue.record("\(what) accepted") } catch {
                #expect(malformedNames(error, y), "\(what): \(error)")
            }
        }
        let short = try temp.write("short.bin", Array(Fixture.stlImages(count: 1).dropLast(3)))
        do { _ = try STL10Dataset(imagesPath: short, labelsPath: nil, name: "s"); Issue.record("short accepted") } catch {
            #expect(malformedNames(error, short))
        }
    }
}

@Suite struct SVHNReaderTests {
    @Test(arguments: [(false, false, false), (true, false, false), (false, true, false), (true, true, true)])
    func readsBackWhatWasWritten(compressed: Bool, bigEndian: Bool, labelsAsUInt8: Bool) throws {
        let temp = try TempFolder(); defer { temp.remove() }
        let labels = [10, 1, 9]
        let path = try temp.write("train_32x32.mat", try MATWriter.svhn(labels: labels, compressed: compressed,
                                                                      bigEndian: bigEndian, labelsAsUInt8: labelsAsUInt8))
        let dataset = try SVHNDataset(path: path, name: "svhn")
        #expect(dataset.count == 3 && dataset.classCount == 10 && dataset.channels == 3)
        #expect([0, 1, 2].map { dataset.label(at: $0) } == [0, 1, 9])
        for n in 0..<3 { #expect(try dataset.image(at: n) == Fixture.image(n, side: 32, channels: 3)) }
    }

    @Test func rejectsMalformedFiles() throws {
        let temp = try TempFolder(); defer { temp.remove() }
        let good = try MATWriter.svhn(labels: [1, 2], compressed: false)
        func badLabels(_ labels: [Int]) throws -> [UInt8] { try MATWriter.svhn(labels: labels, compressed: true) }
        var wrongX = MATWriter()
        try wrongX.add(name: "X", arrayClass: 9, dims: [32, 32, 1, 1], dataType: 2, data: [UInt8](repeating: 0, count: 1024))
        try wrongX.add(name: "y", arrayClass: 6, dims: [1, 1], dataType: 2, data: [1])
        var onlyX = MATWriter()
        try onlyX.add(name: "X", arrayClass: 9, dims: [32, 32, 3, 1], dataType: 2, data: [UInt8](repeating: 0, count: 3072))
        var lying = MATWriter(compressed: true)
        try lying.add(name: "X", arrayClass: 9, dims: [32, 32, 3, 2], dataType: 2, data: [UInt8](repeating: 0, count: 3072))
        var v73 = good
        v73[124] = 0; v73[125] = 2
        let cases: [(String, [UInt8])] = [
            ("truncated", Array(good.dropLast(100))),
            ("header only", Array(good.prefix(128))),
            ("short header", Array(good.prefix(60))),
            ("no endian indicator", Array(good.prefix(126)) + [0x41, 0x42] + Array(good.dropFirst(128))),
            ("version 7.3", v73),
            ("label 0", try badLabels([1, 0])),
            ("label 11", try badLabels([11, 1])),
            ("X wrong shape", wrongX.bytes()),
            ("no y", onlyX.bytes()),
            ("dims disagree with data", lying.bytes()),
            ("truncated compressed", Array(try badLabels([1, 2]).dropLast(40))),
        ]
        for (what, bytes) in cases {
            let path = try temp.write("\(what).mat", bytes)
            do { _ = try SVHNDataset(path: path, name: "s"); Issue.record("\(what) accepted") } catch {
                #expect(malformedNames(error, path), "\(what): \(error)")
            }
        }
    }

    @Test func forgedCompressedSizeIsRefusedBeforeInflating() throws {
        // A compressed element whose inner tag claims 2 GB: rejected by the ratio bound.
        var writer = MATWriter()
        let inner = writer.u32(14) + writer.u32(2_000_000_000) + [UInt8](repeating: 0, count: 64)
        let packed = try Zlib.deflate(inner)
        writer.compressed = true
        let bytes = MATWriter().bytes() + writer.u32(15) + writer.u32(packed.count) + packed
        let temp = try TempFolder(); defer { temp.remove() }
        let path = try temp.write("forged.mat", bytes)
        do { _ = try SVHNDataset(path: path, name: "s"); Issue.record("accepted") } catch {
            #expect(malformedNames(error, path), "\(error)")
            #expect("\(error)".contains("impossible"))
        }
    }
}

@Suite struct ImageFolderReaderTests {
    @Test func labelledFolderWithPNGAndJPEG() throws {
        let temp = try TempFolder(); defer { temp.remove() }
        try temp.write("root/cat/b.png", try Fixture.encoded(0, side: 8, channels: 1, jpeg: false))
        try temp.write("root/cat/a.jpg", try Fixture.encoded(1, side: 16, channels: 3, jpeg: true))
        try temp.write("root/cat/notes.txt", Array("not an image".utf8))
        try temp.write("root/ant/deep/c.PNG", try Fixture.encoded(2, side: 4, channels: 3, jpeg: false))
        try temp.write("root/.hidden/d.png", try Fixture.encoded(3, side: 4, channels: 3, jpeg: false))
        let dataset = try ImageFolderDataset(root: temp.path + "/root")
        #expect(dataset.classNames == ["ant", "cat"])
        #expect(dataset.files.map { ($0 as NSString).lastPathComponent } == ["c.PNG", "a.jpg", "b.png"])
        #expect([0, 1, 2].map { dataset.label(at: $0) } == [0, 1, 1])
        #expect(try dataset.image(at: 0) == Fixture.image(2, side: 4, channels: 3))
        let jpeg = try dataset.image(at: 1)
        let expected = Fixture.image(1, side: 16, channels: 3)
        let diff = zip(jpeg.pixels, expected.pixels).map { abs(Int($0) - Int($1)) }.reduce(0, +)
        #expect(jpeg.height == 16 && Double(diff) / Double(expected.pixels.count) < 4)
        // The grey PNG comes back exactly, replicated to RGB (the default), or as grey.
        let rgb = try dataset.image(at: 2)
        #expect(rgb.channels == 3 && stride(from: 0, to: rgb.pixels.count, by: 3).map { rgb.pixels[$0] } == Fixture.image(0, side: 8, channels: 1).pixels)
        let grey = try ImageFolderDataset(root: temp.path + "/root", channels: 1)
        #expect(try grey.image(at: 2) == Fixture.image(0, side: 8, channels: 1))
        // Each image knows its file, through a subset too (what `invprop embed` writes beside the rows).
        #expect(dataset.sourcePath(at: 1) == dataset.files[1] && dataset.sourcePath(at: 3) == nil)
        #expect(try IndexedSubset(base: dataset, indices: [2, 0]).sourcePath(at: 0) == dataset.files[2])
    }

    @Test func flatFolderIsUnlabelled() throws {
        let temp = try TempFolder(); defer { temp.remove() }
        try temp.write("x.png", try Fixture.encoded(0, side: 4, channels: 3, jpeg: false))
        try temp.write("readme.md", [1, 2, 3])
        let dataset = try ImageFolderDataset(root: temp.path)
        #expect(dataset.count == 1 && dataset.classCount == nil && dataset.label(at: 0) == nil)
    }

    @Test func emptyAndBrokenFoldersGiveClearErrors() throws {
        let temp = try TempFolder(); defer { temp.remove() }
        try FileManager.default.createDirectory(atPath: temp.path + "/empty", withIntermediateDirectories: true)
        #expect(throws: DataError.self) { try ImageFolderDataset(root: temp.path + "/empty") }
        try temp.write("texts/a.txt", [1])
        do { _ = try ImageFolderDataset(root: temp.path + "/texts"); Issue.record("accepted") } catch {
            #expect("\(error)".contains("no PNG or JPEG"))
        }
        try temp.write("classes/a/x.png", try Fixture.encoded(0, side: 4, channels: 3, jpeg: false))
        try FileManager.default.createDirectory(atPath: temp.path + "/classes/b", withIntermediateDirectories: true)
        do { _ = try ImageFolderDataset(root: temp.path + "/classes"); Issue.record("accepted") } catch {
            #expect(malformedNames(error, temp.path + "/classes/b"), "\(error)")
        }
        do { _ = try ImageFolderDataset(root: temp.path + "/nowhere"); Issue.record("accepted") } catch {
            guard case DataError.notFound = error else { Issue.record("\(error)"); return }
        }
        let broken = try temp.write("broken/fake.jpg", Array("definitely not a JPEG".utf8))
        let dataset = try ImageFolderDataset(root: temp.path + "/broken")
        do { _ = try dataset.image(at: 0); Issue.record("accepted") } catch {
            #expect(malformedNames(error, broken), "\(error)")
        }
    }
}
