import ArgumentParser
import Data
import Foundation

/// `invprop datasets`: what is installed and how to get the rest (`list`, the default), and the
/// file check of an image folder (`check`).
struct DatasetsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "datasets",
        abstract: "List the datasets invprop reads (default), or check the files of an image folder.",
        subcommands: [ListDatasets.self, CheckFolder.self], defaultSubcommand: ListDatasets.self)
}

/// `invprop datasets [list]`: every dataset, whether it is installed, where, and how to get it.
struct ListDatasets: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list",
        abstract: "List the datasets invprop reads, whether each is installed, and how to get it.")

    @Option(help: "Also look in this directory (as --data-dir does for train).") var dataDir: String?

    func run() throws {
        print("| dataset | installed | images | classes | splits | where / how to get it |")
        print("|---|---|---|---|---|---|")
        for s in DatasetCatalog.status(root: dataDir) {
            let place = s.installed ? (s.path ?? "") : s.howToGet
            print("| \(s.name) | \(s.installed ? "yes" : "no") | \(s.height)×\(s.width)×\(s.channels) | \(s.classes.map(String.init) ?? "-") | "
                  + "\(s.splits.map(\.rawValue).joined(separator: ", ")) | \(place) |")
        }
        print("| shapes | built in | 28×28×1 | 4 | train, test | synthetic bars at 4 angles, for smoke tests (--dataset shapes) |")
    }
}

/// `invprop datasets check --data-dir DIR`: the report `invprop train --dataset folder` makes
/// before it starts: every file whose header (or, with --decode, pixels) cannot be read.
struct CheckFolder: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check",
        abstract: "Check every image file of a folder dataset (its train and test parts) and list the unusable ones with the reason.",
        discussion: "Exits with status 1 when a file is unusable. Without --decode only headers are read (signature, size, colour "
            + "type): fast, but a file damaged after its header is found only by --decode.")

    @Option(help: "The image folder (as --data-dir of `invprop train --dataset folder`, pacs or domains).") var dataDir: String
    @Flag(help: "Decode every image completely (slower; also finds files damaged after their header).") var decode = false

    @Option(help: "folder, a multi-domain dataset (pacs, domains) whose every listed image is checked, or a binary dataset (cifar10, svhn, …) whose files its reader checks.")
    var dataset = "folder"

    func validate() throws {
        guard DatasetCatalog.names.contains(dataset) else {
            throw ValidationError("--dataset must be one of \(DatasetCatalog.names.joined(separator: ", ")), got '\(dataset)'")
        }
    }

    func run() throws {
        if MultiDomainCatalog.isMultiDomain(dataset) { return try checkDomains() }
        // A binary dataset's files are not images to header-check: its reader's own checks
        // apply (an image folder given as CIFAR used to be checked as a folder instead).
        if dataset != "folder" { return try checkBinary() }
        try reportingFailure {
            var unusable = 0
            for split in [DatasetSplit.train, .test] {
                guard let opened = try? DatasetCatalog.open(name: "folder", root: dataDir, split: split, channels: 3) else {
                    if split == .train { _ = try DatasetCatalog.open(name: "folder", root: dataDir, split: split, channels: 3) }
                    continue
                }
                guard let folder = opened as? ImageFolderDataset else { continue }
                let start = Date()
                let bad = folder.checkFiles(decode: decode)
                let seconds = Date().timeIntervalSince(start)
                print("\(split.rawValue): \(folder.count) files, \(folder.classCount.map { "\($0) classes" } ?? "unlabelled"), "
                      + "\(bad.count) unusable (\(decode ? "decoded" : "headers read") in \(String(format: "%.1f", seconds)) s)")
                for file in bad { print("  \(file.path)\t\(file.reason)") }
                unusable += bad.count
            }
            if unusable > 0 { throw ExitCode.failure }
        }
    }
}

extension CheckFolder {
    /// Opens every split of a binary dataset (CIFAR, SVHN, STL-10, the IDX sets) from --data-dir
    /// with its reader, which checks the files' sizes, headers and labels; with --decode, also
    /// reads every image. Reports each split, and fails when one cannot be read.
    func checkBinary() throws {
        try reportingFailure {
            let splits = DatasetCatalog.status(root: dataDir).first { $0.name == dataset }?.splits ?? [.train, .test]
            var failed = 0
            for split in splits {
                let start = Date()
                do {
                    let opened = try DatasetCatalog.open(name: dataset, root: dataDir, split: split)
                    if decode { for index in 0..<opened.count { _ = try opened.image(at: index) } }
                    print("\(split.rawValue): \(opened.count) images, \(opened.classCount.map { "\($0) classes" } ?? "unlabelled"), "
                          + "readable (\(dataset) reader, \(decode ? "every image decoded" : "files checked") in "
                          + "\(String(format: "%.1f", Date().timeIntervalSince(start))) s)")
                } catch {
                    print("\(split.rawValue): unusable: \(error)")
                    failed += 1
                }
            }
            if failed > 0 { throw ExitCode.failure }
        }
    }

    /// Checks every image a multi-domain dataset names (PACS: both lists of split 0 in every
    /// domain, i.e. every image; a folder: every image of every domain), per domain.
    func checkDomains() throws {
        try reportingFailure {
            let parts = try [DatasetSplit.train, .test].filter { $0 == .train || dataset == "pacs" }
                .map { try DatasetCatalog.open(name: dataset, root: dataDir, split: $0, channels: 3) }
                .compactMap { $0 as? MultiDomainDataset }
            let all = try MultiDomainDataset.union(parts, name: dataset)
            let start = Date()
            let bad = all.checkFiles(decode: decode)
            let counts = all.imagesPerDomain.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            print("\(dataset): \(all.count) files (\(counts)), \(all.classCount ?? 0) classes, \(bad.count) unusable "
                  + "(\(decode ? "decoded" : "headers read") in \(String(format: "%.1f", Date().timeIntervalSince(start))) s)")
            for file in bad { print("  \(file.path)\t\(file.reason)") }
            if !bad.isEmpty { throw ExitCode.failure }
        }
    }
}
