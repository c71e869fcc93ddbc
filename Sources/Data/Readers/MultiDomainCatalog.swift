import Foundation

/// Opens the multi-domain collections of the catalog (`pacs`, `domains`) for a domain selection,
/// finding PACS's folder where `DatasetCatalog` would (docs/domains.md).
public enum MultiDomainCatalog {
    /// Catalog names of the multi-domain collections.
    public static let names = ["pacs", "domains"]

    /// True for a catalog name that is a multi-domain collection.
    public static func isMultiDomain(_ name: String) -> Bool { names.contains(name) }

    /// The domains `name` has at `root` (PACS's four without looking; a folder's subfolders).
    public static func domainNames(name: String, root: String?,
                                   environment: [String: String] = ProcessInfo.processInfo.environment) throws -> [String] {
        if name == "pacs" { return PACSCollection.domains }
        return try MultiDomainFolder(root: try folder(name: name, root: root, environment: environment)).domainNames
    }

    /// The images of `part` of collection `name` for `selection`, decoded to `channels`.
    public static func open(name: String, root: String?, selection: DomainSelection, part: DomainPart, channels: Int = 3,
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws -> MultiDomainDataset {
        let folder = try folder(name: name, root: root, environment: environment)
        switch name {
        case "pacs": return try PACSCollection(root: folder).open(part, selection: selection, channels: channels)
        default: return try MultiDomainFolder(root: folder, channels: channels).open(part, selection: selection)
        }
    }

    /// The folder of `name`, searched as the catalog searches; the error says how to get PACS.
    static func folder(name: String, root: String?, environment: [String: String]) throws -> String {
        guard isMultiDomain(name), let spec = DatasetCatalog.specs[name] else {
            throw DataError.invalidOption("\(name) is not a multi-domain dataset (those are: \(names.joined(separator: ", ")))")
        }
        let searched = DatasetCatalog.searchFolders(spec: spec, root: root, environment: environment)
        guard let found = searched.first(where: { spec.isPresent($0, .train) }) else {
            throw DataError.notFound(path: searched.first ?? name, hint: DatasetCatalog.notFoundHint(spec: spec, split: .train, searched: searched))
        }
        return found
    }

    /// The catalog's view without a selection: PACS's published split 0 of all four domains
    /// (train or test lists); a generic folder's every image as its train split (it has no test split).
    static func openWhole(name: String, folder: String, split: DatasetSplit, channels: Int?) throws -> any ImageDataset {
        if name == "pacs" {
            let kind = split == .train ? "train" : "test"
            return try PACSCollection(root: folder).images(PACSCollection.domains.map { ($0, kind) }, split: 0,
                                                           name: "pacs-\(kind)", channels: channels ?? 3)
        }
        guard split == .train else { throw DataError.notFound(path: folder, hint: "a multi-domain folder has no test split; choose a --target-domain") }
        return try MultiDomainFolder(root: folder, channels: channels ?? 3).all
    }

    /// PACS's catalog entry: where it comes from and how to install it.
    static let pacsHowToGet = "PACS is not in a package registry: clone https://github.com/JINSUBY/DomCLP (its data/pacs/images/ holds the "
        + "9 991 images in <domain>/<class>/ and the split lists) and pass --data-dir DomCLP/data/pacs/images; see docs/domains.md."

    /// The catalog entries of the multi-domain collections.
    static func specs() -> [String: DatasetCatalog.Spec] {
        let pacs = DatasetCatalog.Spec(
            name: "pacs", folderName: "pacs", archiveSubfolder: "images", systemFolders: [],
            splits: [.train, .test], shape: (227, 227, 3), classes: PACSCollection.classes.count, howToGet: pacsHowToGet,
            files: { _ in [PACSCollection.markerList] },
            open: { folder, split, _, channels in try openWhole(name: "pacs", folder: folder, split: split, channels: channels) })
        let domains = DatasetCatalog.Spec(
            name: "domains", folderName: "domains", archiveSubfolder: nil, systemFolders: [],
            splits: [.train], shape: (0, 0, 3), classes: nil,
            howToGet: "put PNG/JPEG images in root/<domain>/<class>/ (the same class folders in every domain); see docs/domains.md.",
            files: { _ in [] },
            open: { folder, split, _, channels in try openWhole(name: "domains", folder: folder, split: split, channels: channels) })
        return ["pacs": pacs, "domains": domains]
    }
}
