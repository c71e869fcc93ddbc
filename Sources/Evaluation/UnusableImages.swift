import Data
import Foundation

/// The header check `invprop train` makes of image files before it starts
/// (`ImageFolderDataset.checkFiles`), for the commands that read images outside training
/// (`curate`, `embed`): a 0-byte file or a header declaring 100000×100000 pixels is reported
/// with every other unusable file before the network runs, instead of stopping it half-way.
public enum UnusableImages {
    /// The unusable files among `indices` of `dataset` (all of them when nil), with their
    /// dataset index, in index order. Datasets that are not image files (CIFAR, IDX, …) are
    /// checked by their readers when opened, so give none.
    public static func find(in dataset: any ImageDataset, indices: [Int]? = nil) -> [(index: Int, file: BadImageFile)] {
        let checked: [BadImageFile]
        switch unwrapped(dataset) {
        case let folder as ImageFolderDataset: checked = folder.checkFiles()
        case let domains as MultiDomainDataset: checked = domains.checkFiles()
        default: return []
        }
        guard !checked.isEmpty else { return [] }
        let wanted = indices.map(Set.init)
        var indexOfPath: [String: Int] = [:]
        for index in 0..<dataset.count {
            if let path = dataset.sourcePath(at: index), indexOfPath[path] == nil { indexOfPath[path] = index }
        }
        return checked.compactMap { file in
            guard let index = indexOfPath[file.path], wanted?.contains(index) ?? true else { return nil }
            return (index, file)
        }.sorted { $0.index < $1.index }
    }

    /// `dataset` without the channel conversion a session may have wrapped around it.
    static func unwrapped(_ dataset: any ImageDataset) -> any ImageDataset {
        (dataset as? ChannelConvertedDataset).map { unwrapped($0.base) } ?? dataset
    }

    /// The refusal `train` gives, worded for `command` (nil: a command without
    /// `--skip-bad-images`): how many of `total` files of `name` cannot be used, the first ten
    /// with their reasons, and the ways on.
    public static func refusal(_ bad: [BadImageFile], total: Int, of name: String, command: String?) -> String {
        let shown = bad.prefix(10).map { "\($0.path)\t\($0.reason)" }.joined(separator: "\n  ")
        return "\(bad.count) of \(total) files of \(name) cannot be used:\n  \(shown)"
            + (bad.count > 10 ? "\n  … and \(bad.count - 10) more" : "")
            + "\nremove or repair them" + (command.map { ", or pass --skip-bad-images to \($0) without them" } ?? "")
            + " (invprop datasets check --data-dir DIR lists them all)"
    }

    /// Writes the skipped files, one `path<TAB>reason` line each, to `path`; returns `path`.
    @discardableResult
    public static func writeList(_ bad: [BadImageFile], to path: String) throws -> String {
        try writeText(bad.map { "\($0.path)\t\($0.reason)" }.joined(separator: "\n") + "\n", to: path)
        return path
    }
}
