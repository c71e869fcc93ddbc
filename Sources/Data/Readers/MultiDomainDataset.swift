import Foundation

/// Which domains of a multi-domain collection a run learns from and which one it is tested on
/// (unsupervised domain generalization, docs/domains.md). Saved in the run's configuration.
public struct DomainSelection: Codable, Sendable, Equatable {
    /// Domains whose images the network is trained on (labels unused).
    public var sourceDomains: [String]
    /// The unseen domain the evaluation tests on.
    public var targetDomain: String
    /// Which of PACS's published train/test splits (`<domain>_train_<split>.txt`, 0, 1 or 2);
    /// for a generic folder, the seed of the labelled-fraction draw.
    public var split: Int

    /// A selection; `split` defaults to PACS's first published split.
    public init(sourceDomains: [String], targetDomain: String, split: Int = 0) {
        self.sourceDomains = sourceDomains
        self.targetDomain = targetDomain
        self.split = split
    }

    /// Checks the selection against the domains a collection has: every name known, the target
    /// not also a source, no source twice, at least one source.
    public func check(knownDomains: [String], collection: String) throws {
        let known = knownDomains.joined(separator: ", ")
        for name in sourceDomains + [targetDomain] where !knownDomains.contains(name) {
            throw DataError.invalidOption("\(collection) has no domain \"\(name)\"; its domains are: \(known)")
        }
        guard !sourceDomains.isEmpty else { throw DataError.invalidOption("no source domain given (\(collection)'s domains are: \(known))") }
        guard !sourceDomains.contains(targetDomain) else {
            throw DataError.invalidOption("the target domain \(targetDomain) is also a source domain: the target must stay unseen in training")
        }
        guard Set(sourceDomains).count == sourceDomains.count else {
            throw DataError.invalidOption("a source domain is named twice in \(sourceDomains.joined(separator: ","))")
        }
    }
}

/// Labelled images from several domains, each image keeping the index of its domain
/// (`domain(at:)`) beside its class label. Files are decoded on demand, as in an image folder.
public struct MultiDomainDataset: ImageDataset {
    /// The images and class labels as an image folder (which decodes and checks them).
    public let images: ImageFolderDataset
    /// Every domain of the collection, in its order; `domainIndices` index this list.
    public let domainNames: [String]
    /// The domain of each image, an index into `domainNames`.
    public let domainIndices: [Int]

    /// Joins `files` with their class `labels` and domain indices; the three lists must agree in length.
    init(name: String, channels: Int, classNames: [String], domainNames: [String],
         files: [String], labels: [Int], domainIndices: [Int]) throws {
        guard channels == 1 || channels == 3 else { throw DataError.invalidOption("channels must be 1 or 3, not \(channels)") }
        guard !files.isEmpty else { throw DataError.malformed(path: name, reason: "no image in the selected domains") }
        precondition(files.count == labels.count && files.count == domainIndices.count, "MultiDomainDataset: lists differ in length")
        images = ImageFolderDataset(name: name, channels: channels, classNames: classNames, files: files, labels: labels)
        self.domainNames = domainNames
        self.domainIndices = domainIndices
    }

    /// A short name for logs.
    public var name: String { images.name }
    /// Number of images.
    public var count: Int { images.count }
    /// 1 or 3.
    public var channels: Int { images.channels }
    /// Number of classes (the same in every domain).
    public var classCount: Int? { images.classCount }
    /// The class names, sorted, shared by every domain.
    public var classNames: [String] { images.classNames }
    /// The image files, in dataset order.
    public var files: [String] { images.files }

    /// Reads and decodes image `index`.
    public func image(at index: Int) throws -> ImageU8 { try images.image(at: index) }
    /// The class of image `index`.
    public func label(at index: Int) -> Int? { images.label(at: index) }
    /// The file of image `index`.
    public func sourcePath(at index: Int) -> String? { images.sourcePath(at: index) }

    /// The domain of image `index`, an index into `domainNames` (nil outside the dataset).
    public func domain(at index: Int) -> Int? {
        domainIndices.indices.contains(index) ? domainIndices[index] : nil
    }

    /// The name of image `index`'s domain.
    public func domainName(at index: Int) -> String? { domain(at: index).map { domainNames[$0] } }

    /// Images per domain name, for logs and checks.
    public var imagesPerDomain: [String: Int] { countPerDomain(Array(0..<count)) }

    /// How many of the images at `indices` each domain has, by name.
    public func countPerDomain(_ indices: [Int]) -> [String: Int] {
        indices.reduce(into: [:]) { counts, index in counts[domainName(at: index) ?? "?", default: 0] += 1 }
    }

    /// The images whose domain is one of `domains`, in dataset order.
    public func restricted(to domains: [String], name: String) throws -> MultiDomainDataset {
        let wanted = Set(domains.compactMap { domainNames.firstIndex(of: $0) })
        let kept = domainIndices.indices.filter { wanted.contains(domainIndices[$0]) }
        return try subset(kept, name: name)
    }

    /// The images at `indices`, in that order.
    public func subset(_ indices: [Int], name: String) throws -> MultiDomainDataset {
        try MultiDomainDataset(name: name, channels: channels, classNames: classNames, domainNames: domainNames,
                               files: indices.map { files[$0] }, labels: indices.map { images.labels[$0] },
                               domainIndices: indices.map { domainIndices[$0] })
    }

    /// The same images decoded to `channels` (1 or 3).
    public func converted(toChannels channels: Int) throws -> MultiDomainDataset {
        try MultiDomainDataset(name: name, channels: channels, classNames: classNames, domainNames: domainNames,
                               files: files, labels: images.labels, domainIndices: domainIndices)
    }

    /// Files whose header cannot be read (see `ImageFolderDataset.checkFiles`).
    public func checkFiles(decode: Bool = false) -> [BadImageFile] { images.checkFiles(decode: decode) }

    /// The same dataset without the files in `excluded`.
    public func removing(_ excluded: Set<String>) throws -> MultiDomainDataset {
        try subset(files.indices.filter { !excluded.contains(files[$0]) }, name: name)
    }
}

extension MultiDomainDataset {
    /// The images of `parts` joined, each file once (at its first place); the parts must come
    /// from one collection (same classes, domains and channels).
    public static func union(_ parts: [MultiDomainDataset], name: String) throws -> MultiDomainDataset {
        guard let first = parts.first else { throw DataError.invalidOption("\(name): nothing to join") }
        guard parts.allSatisfy({ $0.classNames == first.classNames && $0.domainNames == first.domainNames && $0.channels == first.channels }) else {
            throw DataError.invalidOption("\(name): the parts come from different collections")
        }
        var seen = Set<String>()
        var files: [String] = [], labels: [Int] = [], domains: [Int] = []
        for part in parts {
            for index in 0..<part.count where seen.insert(part.files[index]).inserted {
                files.append(part.files[index])
                labels.append(part.images.labels[index])
                domains.append(part.domainIndices[index])
            }
        }
        return try MultiDomainDataset(name: name, channels: first.channels, classNames: first.classNames, domainNames: first.domainNames,
                                      files: files, labels: labels, domainIndices: domains)
    }
}
