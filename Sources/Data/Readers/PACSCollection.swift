import Foundation

/// PACS (Li et al., ICCV 2017) as laid out in DomCLP's `data/pacs/images/`: the images in
/// `<domain>/<class>/<image>.jpg` and, beside them, the published split lists
/// `<domain>_{train,test}_<s>.txt` and `<domain>_{train,test}_<N>p_<s>.txt` (N in 1, 5, 10, 100;
/// s in 0, 1, 2), read by `DomainSplitList`. Nothing is listed that the lists do not name.
public struct PACSCollection: Sendable {
    /// The four domains, in PACS's usual order (which is also name order).
    public static let domains = ["art_painting", "cartoon", "photo", "sketch"]
    /// The seven classes; a list's label is an index into this (sorted) list.
    public static let classes = ["dog", "elephant", "giraffe", "guitar", "horse", "house", "person"]
    /// The label fractions (percent) with published lists.
    public static let publishedFractions = [1, 5, 10, 100]
    /// The published train/test splits.
    public static let splits = 0...2
    /// The list that marks a folder as PACS's (for the catalog's search).
    public static let markerList = "art_painting_train_0.txt"

    /// The folder holding the domain folders and the lists.
    public let root: String

    /// Opens `root`: every domain folder must exist and hold the seven class folders.
    public init(root: String) throws {
        guard ImageFolderDataset.isDirectory(root) else {
            throw DataError.notFound(path: root, hint: "the PACS folder does not exist")
        }
        var classesByDomain: [(domain: String, classes: [String])] = []
        for domain in Self.domains {
            let folder = (root as NSString).appendingPathComponent(domain)
            guard ImageFolderDataset.isDirectory(folder) else {
                throw DataError.malformed(path: root, reason: "the PACS domain folder \(domain)/ is missing (PACS has \(Self.domains.joined(separator: ", ")))")
            }
            let classes = try DomainLayout.subfolders(of: folder).map(\.name)
            guard !classes.isEmpty else { throw DataError.malformed(path: folder, reason: "domain \(domain) is empty: no class folders") }
            classesByDomain.append((domain, classes))
        }
        try DomainLayout.requireSameClasses([("PACS", Self.classes)] + classesByDomain, root: root)
        self.root = root
    }

    /// The path of list `<domain>_<kind>_<split>.txt` (kind: train, test, train_10p, …).
    public func listPath(domain: String, kind: String, split: Int) -> String {
        (root as NSString).appendingPathComponent("\(domain)_\(kind)_\(split).txt")
    }

    /// The images of `part` for `selection`: sources are the source domains' `train` lists, the
    /// target is its `train` and `test` lists together (the whole domain), a labelled fraction
    /// is the source domains' `train_<N>p` lists.
    public func open(_ part: DomainPart, selection: DomainSelection, channels: Int = 3) throws -> MultiDomainDataset {
        try selection.check(knownDomains: Self.domains, collection: "PACS")
        guard Self.splits.contains(selection.split) else {
            throw DataError.invalidOption("PACS has published splits \(Self.splits.map(String.init).joined(separator: ", ")), not \(selection.split)")
        }
        switch part {
        case .sources:
            return try images(selection.sourceDomains.map { ($0, "train") }, split: selection.split, name: "pacs-sources", channels: channels)
        case .target:
            let target = selection.targetDomain
            return try images([(target, "train"), (target, "test")], split: selection.split, name: "pacs-\(target)", channels: channels)
        case .labelledSources(let percent):
            guard Self.publishedFractions.contains(percent) else {
                throw DataError.invalidOption("PACS publishes label fractions of \(Self.publishedFractions.map { "\($0) %" }.joined(separator: ", ")), not \(percent) %")
            }
            return try images(selection.sourceDomains.map { ($0, "train_\(percent)p") }, split: selection.split,
                              name: "pacs-sources-\(percent)p", channels: channels)
        }
    }

    /// The images the lists `(domain, kind)` of `split` name, in list order; every file must exist.
    public func images(_ lists: [(domain: String, kind: String)], split: Int, name: String, channels: Int = 3) throws -> MultiDomainDataset {
        var files: [String] = [], labels: [Int] = [], domainIndices: [Int] = []
        for (domain, kind) in lists {
            let list = listPath(domain: domain, kind: kind, split: split)
            let entries = try DomainSplitList.read(list, domain: domain, classNames: Self.classes)
            guard !entries.isEmpty else { throw DataError.malformed(path: list, reason: "the split list names no image: domain \(domain) would be empty") }
            for (number, entry) in entries.enumerated() {
                let file = (root as NSString).appendingPathComponent(entry.relativePath)
                guard DatasetCatalog.fileExists(file) else {
                    throw DataError.malformed(path: list, reason: "entry \(number + 1) names \(entry.relativePath), which is not a file in \(root)")
                }
                files.append(file)
                labels.append(entry.label)
                domainIndices.append(Self.domains.firstIndex(of: domain) ?? 0)
            }
        }
        return try MultiDomainDataset(name: name, channels: channels, classNames: Self.classes, domainNames: Self.domains,
                                      files: files, labels: labels, domainIndices: domainIndices)
    }
}
