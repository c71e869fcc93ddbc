import Foundation

/// Which part of a dataset to open.
public enum DatasetSplit: String, Sendable, CaseIterable {
    /// The labelled training set.
    case train
    /// The test set.
    case test
    /// SVHN's additional 531 131 training images.
    case extra
    /// STL-10's 100 000 unlabelled images.
    case unlabeled
    /// STL-10 train (labelled) followed by unlabeled (nil labels).
    case trainPlusUnlabeled = "train+unlabeled"
}

/// What `invprop datasets` shows for one dataset.
public struct DatasetStatus: Sendable {
    /// Catalog name, e.g. "cifar10".
    public let name: String
    /// True when the training split's files were found.
    public let installed: Bool
    /// The folder holding the files, when installed.
    public let path: String?
    /// Every folder that was searched, in order.
    public let searched: [String]
    /// How to obtain the files.
    public let howToGet: String
    /// Image height × width × channels as stored.
    public let height: Int, width: Int, channels: Int
    /// Number of classes.
    public let classes: Int?
    /// Splits the catalog can open for it.
    public let splits: [DatasetSplit]
}

/// Opens the known datasets by name, finding their files in the usual places:
/// an explicit root (the dataset folder or a parent of `<name>/`), `$INVPROP_DATA/<name>`,
/// `~/.cache/invprop/<name>` and, for Fashion-MNIST, the Debian package's folder.
public enum DatasetCatalog {
    /// Catalog names accepted by `open` (`cifar100-coarse` is CIFAR-100 with its 20 superclasses).
    public static let names = ["fashion-mnist", "mnist", "kmnist", "cifar10", "cifar100", "cifar100-coarse", "svhn", "stl10", "folder", "pacs", "domains"]

    /// Opens `name`'s `split`, converted to `channels` (1 or 3) when given, else as stored.
    /// Throws `notFound` listing every folder searched, `invalidOption` for an unknown name or a
    /// split the dataset lacks, and `malformed` for damaged files.
    public static func open(name: String, root: String? = nil, split: DatasetSplit = .train, channels: Int? = nil,
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws -> any ImageDataset {
        guard let spec = specs[name] else {
            throw DataError.invalidOption("unknown dataset \"\(name)\"; known: \(names.joined(separator: ", "))")
        }
        guard spec.splits.contains(split) else {
            throw DataError.invalidOption("\(name) has no \(split.rawValue) split; it has \(spec.splits.map(\.rawValue).joined(separator: ", "))")
        }
        let searched = searchFolders(spec: spec, root: root, environment: environment)
        guard let folder = searched.first(where: { spec.isPresent($0, split) }) else {
            throw DataError.notFound(path: searched.first ?? name, hint: notFoundHint(spec: spec, split: split, searched: searched))
        }
        let dataset = try spec.open(folder, split, "\(name)-\(split.rawValue)", channels)
        if let channels, dataset.channels != channels {
            return try ChannelConvertedDataset(base: dataset, channels: channels)
        }
        return dataset
    }

    /// One status row per catalog dataset (except `cifar100-coarse`), for `invprop datasets`.
    public static func status(root: String? = nil,
                              environment: [String: String] = ProcessInfo.processInfo.environment) -> [DatasetStatus] {
        names.filter { $0 != "cifar100-coarse" }.compactMap { name in
            guard let spec = specs[name] else { return nil }
            let searched = searchFolders(spec: spec, root: root, environment: environment)
            let found = searched.first { spec.isPresent($0, spec.splits[0]) }
            return DatasetStatus(name: name, installed: found != nil, path: found, searched: searched,
                                 howToGet: spec.howToGet, height: spec.shape.0, width: spec.shape.1,
                                 channels: spec.shape.2, classes: spec.classes, splits: spec.splits)
        }
    }

    // MARK: - Locating files

    /// Folders to try, most specific first; each also tried through its archive subfolder.
    static func searchFolders(spec: Spec, root: String?, environment: [String: String]) -> [String] {
        var bases: [String] = []
        if let root {
            bases = [root, (root as NSString).appendingPathComponent(spec.folderName)]
        } else {
            if let data = environment["INVPROP_DATA"], !data.isEmpty {
                bases.append((data as NSString).appendingPathComponent(spec.folderName))
            }
            let home = environment["HOME"] ?? NSHomeDirectory()
            bases.append(((home as NSString).appendingPathComponent(".cache/invprop") as NSString).appendingPathComponent(spec.folderName))
            bases += spec.systemFolders
        }
        var folders: [String] = []
        for base in bases {
            folders.append(base)
            if let sub = spec.archiveSubfolder { folders.append((base as NSString).appendingPathComponent(sub)) }
        }
        var seen = Set<String>()
        return folders.filter { seen.insert($0).inserted }
    }

    /// The `notFound` hint: where we looked, which files we wanted, and how to get them.
    static func notFoundHint(spec: Spec, split: DatasetSplit, searched: [String]) -> String {
        "Looked for \(spec.name) (\(split.rawValue): \(spec.describeFiles(split))) in: \(searched.joined(separator: ", ")). "
            + "To get it: \(spec.howToGet) Then point to it with --data-dir DIR or INVPROP_DATA=DIR (files in DIR/\(spec.folderName)/)."
    }

    /// True when `path` names an existing regular file (or link to one).
    static func fileExists(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }

    /// `folder/file`, or `folder/file.gz` when only the gzipped form exists.
    static func idxFile(_ folder: String, _ file: String) -> String? {
        let plain = (folder as NSString).appendingPathComponent(file)
        if fileExists(plain) { return plain }
        return fileExists(plain + ".gz") ? plain + ".gz" : nil
    }

    // MARK: - Per-dataset knowledge

    /// Everything the catalog knows about one dataset.
    struct Spec: Sendable {
        let name: String
        /// Folder name under a data directory.
        let folderName: String
        /// The folder the official archive extracts to, if any.
        let archiveSubfolder: String?
        /// Extra folders searched when no root is given.
        let systemFolders: [String]
        let splits: [DatasetSplit]
        /// Stored image shape (height, width, channels).
        let shape: (Int, Int, Int)
        let classes: Int?
        let howToGet: String
        /// Files each split needs (for messages and presence checks).
        let files: @Sendable (DatasetSplit) -> [String]
        /// Opens a split from a folder where `isPresent` held.
        let open: @Sendable (String, DatasetSplit, String, Int?) throws -> any ImageDataset

        /// True when every file of `split` is in `folder` (IDX files may be gzipped).
        func isPresent(_ folder: String, _ split: DatasetSplit) -> Bool {
            if name == "folder" { return DatasetCatalog.folderRoot(folder, split) != nil }
            if name == "domains" { return split == .train && ImageFolderDataset.isDirectory(folder) }
            let isIDX = ["mnist", "fashion-mnist", "kmnist"].contains(name)
            return files(split).allSatisfy { file in
                isIDX ? DatasetCatalog.idxFile(folder, file) != nil : DatasetCatalog.fileExists((folder as NSString).appendingPathComponent(file))
            }
        }

        /// The wanted files, for messages.
        func describeFiles(_ split: DatasetSplit) -> String {
            if name == "domains" { return "root/<domain>/<class>/<image>" }
            return name == "folder" ? "root/<class>/<image> or root/\(split.rawValue)/..." : files(split).joined(separator: ", ")
        }
    }

    /// For `folder`: `root/train` (or `root` itself) for train, `root/test` or `root/val` for test.
    static func folderRoot(_ root: String, _ split: DatasetSplit) -> String? {
        let candidates = split == .train ? ["train", ""] : ["test", "val"]
        return candidates.map { $0.isEmpty ? root : (root as NSString).appendingPathComponent($0) }
            .first { ImageFolderDataset.isDirectory($0) }
    }

    static let specs: [String: Spec] = {
        var table: [String: Spec] = [:]
        let idxHow = [
            "fashion-mnist": "apt-get install dataset-fashion-mnist (Debian), or download the four *-ubyte.gz files from https://github.com/zalandoresearch/fashion-mnist.",
            "mnist": "download train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz from an MNIST mirror (e.g. https://ossci-datasets.s3.amazonaws.com/mnist/).",
            "kmnist": "download the four *-ubyte.gz IDX files of Kuzushiji-MNIST from https://github.com/rois-codh/kmnist (http://codh.rois.ac.jp/kmnist/dataset/kmnist/).",
        ]
        for name in ["fashion-mnist", "mnist", "kmnist"] {
            table[name] = Spec(
                name: name, folderName: name, archiveSubfolder: nil,
                systemFolders: name == "fashion-mnist" ? ["/usr/share/datasets/fashion-mnist"] : [],
                splits: [.train, .test], shape: (28, 28, 1), classes: 10, howToGet: idxHow[name] ?? "",
                files: { split in
                    let prefix = split == .train ? "train" : "t10k"
                    return ["\(prefix)-images-idx3-ubyte", "\(prefix)-labels-idx1-ubyte"]
                },
                open: { folder, split, label, _ in
                    let prefix = split == .train ? "train" : "t10k"
                    guard let images = idxFile(folder, "\(prefix)-images-idx3-ubyte"),
                          let labels = idxFile(folder, "\(prefix)-labels-idx1-ubyte") else {
                        throw DataError.notFound(path: folder, hint: "IDX files vanished while opening")
                    }
                    return try IDXDataset(imagesPath: images, labelsPath: labels, name: label)
                })
        }
        table["cifar10"] = Spec(
            name: "cifar10", folderName: "cifar10", archiveSubfolder: "cifar-10-batches-bin", systemFolders: [],
            splits: [.train, .test], shape: (32, 32, 3), classes: 10,
            howToGet: "download and extract https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz (the binary version).",
            files: { $0 == .train ? (1...5).map { "data_batch_\($0).bin" } : ["test_batch.bin"] },
            open: { folder, split, label, _ in
                let files = (split == .train ? (1...5).map { "data_batch_\($0).bin" } : ["test_batch.bin"])
                    .map { (folder as NSString).appendingPathComponent($0) }
                return try CIFARDataset(files: files, variant: .cifar10, name: label)
            })
        for coarse in [false, true] {
            let name = coarse ? "cifar100-coarse" : "cifar100"
            table[name] = Spec(
                name: name, folderName: "cifar100", archiveSubfolder: "cifar-100-binary", systemFolders: [],
                splits: [.train, .test], shape: (32, 32, 3), classes: coarse ? 20 : 100,
                howToGet: "download and extract https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz (the binary version).",
                files: { [$0 == .train ? "train.bin" : "test.bin"] },
                open: { folder, split, label, _ in
                    let file = (folder as NSString).appendingPathComponent(split == .train ? "train.bin" : "test.bin")
                    return try CIFARDataset(files: [file], variant: .cifar100(coarse: coarse), name: label)
                })
        }
        table["svhn"] = Spec(
            name: "svhn", folderName: "svhn", archiveSubfolder: nil, systemFolders: [],
            splits: [.train, .test, .extra], shape: (32, 32, 3), classes: 10,
            howToGet: "download train_32x32.mat, test_32x32.mat (and extra_32x32.mat) from http://ufldl.stanford.edu/housenumbers/.",
            files: { ["\($0.rawValue)_32x32.mat"] },
            open: { folder, split, label, _ in
                try SVHNDataset(path: (folder as NSString).appendingPathComponent("\(split.rawValue)_32x32.mat"), name: label)
            })
        table["stl10"] = Spec(
            name: "stl10", folderName: "stl10", archiveSubfolder: "stl10_binary", systemFolders: [],
            splits: [.train, .test, .unlabeled, .trainPlusUnlabeled], shape: (96, 96, 3), classes: 10,
            howToGet: "download and extract http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz.",
            files: { split in
                switch split {
                case .train, .test: return ["\(split.rawValue)_X.bin", "\(split.rawValue)_y.bin"]
                case .unlabeled: return ["unlabeled_X.bin"]
                default: return ["train_X.bin", "train_y.bin", "unlabeled_X.bin"]
                }
            },
            open: { folder, split, label, _ in
                func part(_ stem: String, labelled: Bool) throws -> STL10Dataset {
                    let path = { (folder as NSString).appendingPathComponent($0) }
                    return try STL10Dataset(imagesPath: path("\(stem)_X.bin"), labelsPath: labelled ? path("\(stem)_y.bin") : nil,
                                            name: "stl10-\(stem)")
                }
                switch split {
                case .train, .test: return try part(split.rawValue, labelled: true)
                case .unlabeled: return try part("unlabeled", labelled: false)
                default: return try ConcatenatedDataset(parts: [try part("train", labelled: true), try part("unlabeled", labelled: false)], name: label)
                }
            })
        table["folder"] = Spec(
            name: "folder", folderName: "folder", archiveSubfolder: nil, systemFolders: [],
            splits: [.train, .test], shape: (0, 0, 3), classes: nil,
            howToGet: "put PNG/JPEG images in root/<class>/ (labelled) or directly in root (unlabelled).",
            files: { _ in [] },
            open: { folder, split, label, channels in
                guard let root = folderRoot(folder, split) else { throw DataError.notFound(path: folder, hint: "no \(split.rawValue) folder") }
                return try ImageFolderDataset(root: root, channels: channels ?? 3, name: label)
            })
        table.merge(MultiDomainCatalog.specs()) { current, _ in current }
        return table
    }()
}
