import Foundation
import Randomness

/// The part of a multi-domain collection a step of unsupervised domain generalization uses.
public enum DomainPart: Sendable, Equatable {
    /// The source domains' training images (pre-training; labels unused there).
    case sources
    /// Every image of the target domain (the test of the protocol).
    case target
    /// `percent` % of the source domains' labelled images (the probe's training set).
    case labelledSources(percent: Int)
}

/// Checks shared by the multi-domain readers.
enum DomainLayout {
    /// The visible subfolders of `folder`, sorted by name.
    static func subfolders(of folder: String) throws -> [(name: String, path: String)] {
        try ImageFolderDataset.visibleEntries(folder).filter { ImageFolderDataset.isDirectory($0.path) }
    }

    /// Refuses domains whose class folders differ, naming what each lacks or adds.
    static func requireSameClasses(_ classesByDomain: [(domain: String, classes: [String])], root: String) throws {
        guard let first = classesByDomain.first else { return }
        for other in classesByDomain.dropFirst() where other.classes != first.classes {
            let missing = Set(first.classes).subtracting(other.classes).sorted()
            let extra = Set(other.classes).subtracting(first.classes).sorted()
            var difference: [String] = []
            if !missing.isEmpty { difference.append("\(other.domain) lacks \(missing.joined(separator: ", "))") }
            if !extra.isEmpty { difference.append("\(other.domain) has \(extra.joined(separator: ", ")), which \(first.domain) lacks") }
            throw DataError.malformed(path: root, reason: "class folders differ between domains: \(difference.joined(separator: "; ")) "
                                      + "(every domain needs the same class folders, as the labels are shared)")
        }
    }

    /// A per-class draw of `percent` % of `labels` (at least one image a class), seeded by
    /// (seed, domain, class) so that no class's draw depends on another's; sorted positions.
    static func draw(labels: [Int], percent: Int, seed: UInt64, domain: Int) -> [Int] {
        var members: [Int: [Int]] = [:]
        for (position, label) in labels.enumerated() { members[label, default: []].append(position) }
        var chosen: [Int] = []
        for label in members.keys.sorted() {
            var positions = members[label] ?? []
            let take = min(positions.count, max(1, Int((Double(percent) / 100 * Double(positions.count)).rounded())))
            var generator = SeededGenerator(seed: seed, streams: [0x5544_4746, UInt64(domain), UInt64(label)])
            for i in 0..<take { positions.swapAt(i, i + generator.int(below: positions.count - i)) }
            chosen += positions[0..<take]
        }
        return chosen.sorted()
    }
}

/// A generic multi-domain image folder, `root/<domain>/<class>/<image>`: every domain must have
/// the same class folders, each with at least one PNG or JPEG image.
public struct MultiDomainFolder: Sendable {
    /// The folder.
    public let root: String
    /// Every image of every domain, domains in name order.
    public let all: MultiDomainDataset

    /// Lists every domain; throws for a missing root, a root without domain folders, an empty
    /// domain or class folder, and class folders that differ between domains.
    public init(root: String, channels: Int = 3) throws {
        guard ImageFolderDataset.isDirectory(root) else {
            throw DataError.notFound(path: root, hint: "the multi-domain folder does not exist (expected root/<domain>/<class>/<image>)")
        }
        let domains = try DomainLayout.subfolders(of: root)
        guard !domains.isEmpty else {
            throw DataError.malformed(path: root, reason: "no domain folders (expected root/<domain>/<class>/<image>)")
        }
        let folders = try domains.map { try Self.domainFolder($0.path, domain: $0.name, channels: channels) }
        try DomainLayout.requireSameClasses(zip(domains, folders).map { ($0.name, $1.classNames) }, root: root)
        self.root = root
        all = try MultiDomainDataset(
            name: URL(fileURLWithPath: root).lastPathComponent, channels: channels, classNames: folders[0].classNames,
            domainNames: domains.map(\.name), files: folders.flatMap(\.files), labels: folders.flatMap(\.labels),
            domainIndices: folders.enumerated().flatMap { Array(repeating: $0.offset, count: $0.element.count) })
    }

    /// One domain as a labelled image folder; an empty domain is named as such.
    static func domainFolder(_ path: String, domain: String, channels: Int) throws -> ImageFolderDataset {
        do {
            return try ImageFolderDataset(root: path, channels: channels, layout: .labelled, name: domain)
        } catch DataError.malformed(let at, let reason) {
            throw DataError.malformed(path: at, reason: "domain \(domain) is empty or incomplete: \(reason)")
        }
    }

    /// The domains' names, sorted.
    public var domainNames: [String] { all.domainNames }

    /// The images of `part` for `selection` (checked against this folder's domains first); the
    /// labelled fraction is a seeded per-class draw in each source domain (seed `selection.split`).
    public func open(_ part: DomainPart, selection: DomainSelection) throws -> MultiDomainDataset {
        try selection.check(knownDomains: domainNames, collection: root)
        switch part {
        case .sources: return try all.restricted(to: selection.sourceDomains, name: "\(all.name)-sources")
        case .target: return try all.restricted(to: [selection.targetDomain], name: "\(all.name)-\(selection.targetDomain)")
        case .labelledSources(let percent):
            guard (1...100).contains(percent) else { throw DataError.invalidOption("label fraction must be 1…100 %, got \(percent)") }
            var chosen: [Int] = []
            for domain in selection.sourceDomains {
                let index = domainNames.firstIndex(of: domain) ?? 0
                let members = all.domainIndices.indices.filter { all.domainIndices[$0] == index }
                let labels = members.map { all.label(at: $0) ?? 0 }
                chosen += DomainLayout.draw(labels: labels, percent: percent, seed: UInt64(max(0, selection.split)), domain: index).map { members[$0] }
            }
            return try all.subset(chosen, name: "\(all.name)-sources-\(percent)p")
        }
    }
}
