import Codecs
import Foundation
import Testing
@testable import Data

@Suite struct ReaderCatalogTests {
    /// An environment with no data anywhere: HOME and INVPROP_DATA point at `folder`.
    func environment(_ folder: String) -> [String: String] { ["HOME": folder, "INVPROP_DATA": folder + "/data"] }

    @Test func findsDatasetsUnderInvpropDataAndArchiveSubfolders() throws {
        let temp = try TempFolder(); defer { temp.remove() }
        let env = environment(temp.path)
        try temp.write("data/mnist/t10k-images-idx3-ubyte.gz", try Zlib.deflate(Fixture.idxImages(count: 2), container: .gzip))
        try temp.write("data/mnist/t10k-labels-idx1-ubyte", Fixture.idxLabels([4, 2]))
        try temp.write("data/cifar10/cifar-10-batches-bin/test_batch.bin", Fixture.cifar(labels: [[3]]))
        let mnist = try DatasetCatalog.open(name: "mnist", split: .test, environment: env)
        #expect(mnist.count == 2 && mnist.channels == 1 && mnist.label(at: 0) == 4 && mnist.name == "mnist-test")
        let mnistRGB = try DatasetCatalog.open(name: "mnist", split: .test, channels: 3, environment: env)
        let image = try mnistRGB.image(at: 1)
        #expect(image.channels == 3 && image.pixels[0] == image.pixels[2])
        let cifar = try DatasetCatalog.open(name: "cifar10", split: .test, environment: env)
        #expect(cifar.count == 1 && cifar.label(at: 0) == 3)
        let cifarGrey = try DatasetCatalog.open(name: "cifar10", split: .test, channels: 1, environment: env)
        #expect(try cifarGrey.image(at: 0).channels == 1)
        // An explicit root may be the dataset folder itself or its parent.
        #expect(try DatasetCatalog.open(name: "mnist", root: temp.path + "/data", split: .test).count == 2)
        #expect(try DatasetCatalog.open(name: "mnist", root: temp.path + "/data/mnist", split: .test).count == 2)
    }

    @Test func stl10SplitsAndCifar100Coarse() throws {
        let temp = try TempFolder(); defer { temp.remove() }
        let env = environment(temp.path)
        try temp.write(".cache/invprop/stl10/stl10_binary/train_X.bin", Fixture.stlImages(count: 1))
        try temp.write(".cache/invprop/stl10/stl10_binary/train_y.bin", [3])
        try temp.write(".cache/invprop/stl10/stl10_binary/unlabeled_X.bin", Fixture.stlImages(count: 2))
        let both = try DatasetCatalog.open(name: "stl10", split: .trainPlusUnlabeled, environment: env)
        #expect(both.count == 3 && both.label(at: 0) == 2 && both.label(at: 1) == nil)
        #expect(try DatasetCatalog.open(name: "stl10", split: .unlabeled, environment: env).classCount == nil)
        try temp.write("data/cifar100/cifar-100-binary/train.bin", Fixture.cifar(labels: [[4, 77]]))
        #expect(try DatasetCatalog.open(name: "cifar100", environment: env).label(at: 0) == 77)
        #expect(try DatasetCatalog.open(name: "cifar100-coarse", environment: env).label(at: 0) == 4)
        try temp.write("data/svhn/extra_32x32.mat", try MATWriter.svhn(labels: [5], compressed: true))
        #expect(try DatasetCatalog.open(name: "svhn", split: .extra, environment: env).label(at: 0) == 5)
    }

    @Test func folderDatasetWithSplits() throws {
        let temp = try TempFolder(); defer { temp.remove() }
        try temp.write("imgs/train/a/1.png", try Fixture.encoded(0, side: 4, channels: 3, jpeg: false))
        try temp.write("imgs/val/a/2.png", try Fixture.encoded(1, side: 4, channels: 3, jpeg: false))
        let train = try DatasetCatalog.open(name: "folder", root: temp.path + "/imgs", split: .train, channels: 1)
        #expect(train.count == 1 && train.channels == 1 && train.classCount == 1)
        #expect(try DatasetCatalog.open(name: "folder", root: temp.path + "/imgs", split: .test).count == 1)
    }

    @Test func missingDatasetSaysWhereItLookedAndHowToGetIt() throws {
        let temp = try TempFolder(); defer { temp.remove() }
        do {
            _ = try DatasetCatalog.open(name: "cifar10", environment: environment(temp.path))
            Issue.record("found a dataset that is not there")
        } catch DataError.notFound(let path, let hint) {
            #expect(path == temp.path + "/data/cifar10")
            #expect(hint.contains(temp.path + "/data/cifar10/cifar-10-batches-bin"))
            #expect(hint.contains(temp.path + "/.cache/invprop/cifar10"))
            #expect(hint.contains("cifar-10-binary.tar.gz") && hint.contains("--data-dir"))
        }
    }

    @Test func badNamesAndSplitsAreInvalidOptions() {
        #expect(throws: DataError.invalidOption("unknown dataset \"imagenet\"; known: \(DatasetCatalog.names.joined(separator: ", "))")) {
            try DatasetCatalog.open(name: "imagenet")
        }
        #expect(throws: DataError.self) { try DatasetCatalog.open(name: "cifar10", split: .extra) }
        #expect(throws: DataError.self) { try DatasetCatalog.open(name: "mnist", split: .unlabeled) }
    }

    @Test func statusListsEveryDataset() throws {
        let temp = try TempFolder(); defer { temp.remove() }
        try temp.write("data/kmnist/train-images-idx3-ubyte", Fixture.idxImages(count: 1))
        try temp.write("data/kmnist/train-labels-idx1-ubyte", Fixture.idxLabels([1]))
        let rows = DatasetCatalog.status(environment: environment(temp.path))
        #expect(rows.map(\.name) == ["fashion-mnist", "mnist", "kmnist", "cifar10", "cifar100", "svhn", "stl10", "folder", "pacs", "domains"])
        let pacs = try #require(rows.first { $0.name == "pacs" })
        #expect(!pacs.installed && pacs.howToGet.contains("https://github.com/JINSUBY/DomCLP") && pacs.howToGet.contains("data/pacs/images"))
        let kmnist = try #require(rows.first { $0.name == "kmnist" })
        #expect(kmnist.installed && kmnist.path == temp.path + "/data/kmnist" && kmnist.classes == 10 && kmnist.height == 28)
        let cifar = try #require(rows.first { $0.name == "cifar10" })
        #expect(!cifar.installed && cifar.howToGet.contains("toronto") && cifar.searched.count == 4)
    }
}

/// The real Fashion-MNIST from the Debian package, when installed.
@Suite struct ReaderFashionMNISTTests {
    static let folder = "/usr/share/datasets/fashion-mnist"
    static var installed: Bool { FileManager.default.fileExists(atPath: folder + "/train-images-idx3-ubyte.gz") }

    @Test(.enabled(if: installed, "Fashion-MNIST is not installed at /usr/share/datasets/fashion-mnist (apt-get install dataset-fashion-mnist)"))
    func readsRealFashionMNIST() throws {
        // No root and an environment without INVPROP_DATA: the Debian folder must be found.
        let env = ["HOME": "/nonexistent"]
        let train = try DatasetCatalog.open(name: "fashion-mnist", split: .train, environment: env)
        let test = try DatasetCatalog.open(name: "fashion-mnist", split: .test, environment: env)
        #expect(train.count == 60_000 && test.count == 10_000)
        #expect(train.channels == 1 && train.classCount == 10)
        var histogram = [Int](repeating: 0, count: 10)
        for i in 0..<train.count { histogram[train.label(at: i) ?? 10] += 1 }
        #expect(histogram == [Int](repeating: 6000, count: 10))
        for i in [0, 59_999] {
            let image = try train.image(at: i)
            #expect(image.height == 28 && image.width == 28 && image.channels == 1)
            #expect(image.pixels.contains { $0 > 0 })
        }
        // The published first training label is 9 (ankle boot), the first test label 9 as well.
        #expect(train.label(at: 0) == 9 && test.label(at: 0) == 9)
    }
}
