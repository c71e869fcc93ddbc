import ArgumentParser
import Data
import Foundation
import Training

/// The options of unsupervised domain generalization (`--dataset pacs` or `domains`): which
/// domains to train on and which one to keep unseen (docs/domains.md).
struct DomainCommandOptions: ParsableArguments {
    @Option(help: "Source domains to train on, comma-separated (default: every domain but the target).") var sourceDomains: String?
    @Option(help: "The target domain, never seen in training; `invprop eval udg` tests on it.") var targetDomain: String?
    @Option(help: "PACS's published split 0, 1 or 2 (default 0); for --dataset domains, the seed of the labelled-fraction draw.") var domainSplit: Int?

    /// Whether any domain option was given.
    var isEmpty: Bool { sourceDomains == nil && targetDomain == nil && domainSplit == nil }

    /// Sets the domain selection on `c` (a multi-domain dataset's), checked against its domains:
    /// unknown names are refused with the known ones, and so is a target that is also a source.
    func apply(to c: inout TrainingConfig) throws {
        guard !isEmpty else { return }
        guard MultiDomainCatalog.isMultiDomain(c.dataset) else {
            throw ValidationError("--source-domains, --target-domain and --domain-split apply to --dataset "
                                  + "\(MultiDomainCatalog.names.joined(separator: " or ")), not to \(c.dataset)")
        }
        guard let target = targetDomain ?? c.domains?.targetDomain else {
            throw ValidationError("--source-domains and --domain-split need --target-domain (the unseen domain)")
        }
        let known: [String]
        do { known = try MultiDomainCatalog.domainNames(name: c.dataset, root: c.dataDir) } catch { throw ValidationError("\(error)") }
        let sources = try sourceDomains.map { try Self.parseDomains($0) } ?? known.filter { $0 != target }
        let selection = DomainSelection(sourceDomains: sources, targetDomain: target, split: domainSplit ?? c.domains?.split ?? 0)
        do { try selection.check(knownDomains: known, collection: c.dataset) } catch { throw ValidationError("\(error)") }
        c.domains = selection
    }

    /// "art_painting,cartoon" to its names; an empty name is refused.
    static func parseDomains(_ text: String) throws -> [String] {
        let names = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard !names.contains("") else { throw ValidationError("--source-domains must be comma-separated domain names, got '\(text)'") }
        return names
    }
}

extension FolderDefaults {
    /// The defaults of a multi-domain dataset's source images, surveyed like a folder's.
    init(domains c: TrainingConfig) throws {
        guard let selection = c.domains else { throw ValidationError("--dataset \(c.dataset) needs --target-domain") }
        let sources: MultiDomainDataset
        do {
            sources = try MultiDomainCatalog.open(name: c.dataset, root: c.dataDir, selection: selection, part: .sources, channels: 3)
        } catch { throw ValidationError("\(error)") }
        let survey = try sources.images.survey()
        let training = try TrainValidationSplit(total: sources.count, validation: c.validation, labelled: true,
                                                trainLimit: c.trainSubset, seed: c.validationSeed ?? 0).training.count
        self.init(survey: survey, trainingImages: training)
    }

    /// Defaults from facts already gathered.
    init(survey: FolderSurvey, trainingImages: Int) {
        self.survey = survey
        self.trainingImages = trainingImages
    }
}

extension TrainOptions {
    /// The validation share of a multi-domain run's source images unless --validation says otherwise.
    static let domainValidation = ValidationSize.percent(10)

    /// For a multi-domain dataset, the choices an image folder gets (`FolderDefaults`: channels,
    /// a training size of at most 64 px unless --image-size, the folder presets at that size),
    /// made from the source domains' images, and 10 % of them held out for validation.
    func chooseDomainDefaults(for c: inout TrainingConfig, preset: String?, log: (String) -> Void) throws {
        guard MultiDomainCatalog.isMultiDomain(c.dataset), c.domains != nil else { return }
        let base = try Recipe.starting(preset: preset, recipe: nil).configuration()
        if validation == nil && c.validation == base.validation && c.validation != Self.domainValidation {
            // The preset's count suits its own dataset; a share of the source images keeps the
            // monitor and checkpoint-best off the target domain, which is scored once at the end.
            c.validation = Self.domainValidation
            log("\(c.dataset): holding out \(Self.domainValidation.description) of the source images for validation (--validation 0: none)")
        }
        let given = FolderDefaults.Given(channels: inChannels != nil, augmentation: augmentation != nil, evalTransform: evalTransform != nil,
                                         background: invpOptions.background != nil, batchSize: batchSize != nil)
        let chosen = try FolderDefaults(domains: c).apply(to: &c, preset: base, given: given, imageSize: imageSize)
        if !chosen.isEmpty { log(chosen.replacingOccurrences(of: "image folder:", with: "\(c.dataset) source domains:")) }
    }
}
