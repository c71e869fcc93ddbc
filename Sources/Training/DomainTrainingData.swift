import Data
import Evaluation
import Foundation

extension TrainingConfig {
    /// A multi-domain dataset needs a domain selection, and only such a dataset takes one.
    func validateDomains() throws {
        let multiDomain = MultiDomainCatalog.isMultiDomain(dataset)
        if multiDomain && domains == nil {
            throw TrainingError.invalidOption("--dataset \(dataset) trains on source domains and keeps a target domain unseen: "
                                              + "give --target-domain (and optionally --source-domains; default: every other domain)")
        }
        if !multiDomain && domains != nil {
            throw TrainingError.invalidOption("--source-domains and --target-domain apply to the multi-domain datasets "
                                              + "(\(MultiDomainCatalog.names.joined(separator: ", "))), not to \(dataset)")
        }
        if let domains, domains.split < 0 { throw TrainingError.invalidOption("--domain-split must be ≥ 0, got \(domains.split)") }
    }
}

extension Trainer {
    /// The images a run trains on: for a multi-domain dataset the source domains' images
    /// (checked file by file like a folder's), else the catalog's training split.
    static func openTrainingImages(_ config: TrainingConfig, channels: Int, runDirectory: URL,
                                   observer: TrainingObserver?, writes: Bool = true) throws -> any ImageDataset {
        guard let selection = config.domains else {
            return try checkedFolder(DatasetCatalog.open(name: config.dataset, root: config.dataDir, split: .train, channels: channels),
                                     split: .train, skipBad: config.skipBadImages ?? false, runDirectory: runDirectory, observer: observer,
                                     writes: writes)
        }
        let sources = try openDomains(config, selection: selection, part: .sources, channels: channels)
        observer?.note("training on \(selection.sourceDomains.joined(separator: ", ")) (\(sources.count) images, labels unused); "
                       + "target domain \(selection.targetDomain) kept unseen")
        return try checkedDomains(sources, split: .train, config: config, runDirectory: runDirectory, observer: observer)
    }

    /// The images the kNN monitor scores: for a multi-domain dataset the target domain, else the
    /// catalog's test split when the dataset has one; files that exist but do not read are
    /// errors, raised before training starts.
    static func openMonitorImages(_ config: TrainingConfig, channels: Int, runDirectory: URL,
                                  observer: TrainingObserver?, writes: Bool = true) throws -> (any ImageDataset)? {
        guard let selection = config.domains else {
            // An absent test split is no error (the monitor then has nothing to score); a damaged one is.
            return try DatasetCatalog.openIfPresent(name: config.dataset, root: config.dataDir, split: .test, channels: channels).map {
                try checkedFolder($0, split: .test, skipBad: config.skipBadImages ?? false, runDirectory: runDirectory, observer: observer,
                                  writes: writes)
            }
        }
        let target = try openDomains(config, selection: selection, part: .target, channels: channels)
        return try checkedDomains(target, split: .test, config: config, runDirectory: runDirectory, observer: observer)
    }

    /// `part` of the configured collection, data errors turned into the option error the CLI prints.
    static func openDomains(_ config: TrainingConfig, selection: DomainSelection, part: DomainPart,
                            channels: Int) throws -> MultiDomainDataset {
        do {
            return try MultiDomainCatalog.open(name: config.dataset, root: config.dataDir, selection: selection, part: part, channels: channels)
        } catch let error as DataError {
            throw TrainingError.invalidOption(error.description)
        }
    }

    /// The images after the header check of every file, as `checkedFolder` does for a folder.
    static func checkedDomains(_ images: MultiDomainDataset, split: DatasetSplit, config: TrainingConfig, runDirectory: URL,
                               observer: TrainingObserver?) throws -> any ImageDataset {
        let bad = Set(images.checkFiles().map(\.path))
        guard !bad.isEmpty else { return images }
        // The folder's own check words the refusal (or writes the skipped list) for the same files.
        _ = try checkedFolder(images.images, split: split, skipBad: config.skipBadImages ?? false, runDirectory: runDirectory, observer: observer)
        return try images.removing(bad)
    }
}
