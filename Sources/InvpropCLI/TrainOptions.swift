import ArgumentParser
import Data
import Foundation
import Methods
import Models
import Training

/// The options of `invprop train` that set the configuration: the same names serve the command
/// line and recipe files (`Recipe`), so a recipe is exactly a list of these options.
struct TrainOptions: ParsableArguments {
    @Option(help: "Dataset name (see `invprop datasets`), or 'shapes' for a synthetic smoke test.") var dataset: String?
    @Option(help: "Dataset directory.") var dataDir: String?
    @Option(help: "Train on the first N images only (of those left after --validation).") var trainSubset: Int?
    @Option(help: "Hold out N or P% of the training images for validation: the kNN monitor and checkpoint-best use them, and the test split is scored once at the end (0: none, the paper's protocol).") var validation: String?
    @Option(help: "Seed of the validation draw (default 0, so that every run shares one split).") var validationSeed: UInt64?
    @Option(help: "Training augmentation preset.") var augmentation: String?
    @Option(help: "Evaluation transform preset (kNN monitor).") var evalTransform: String?
    @Option(help: "Lower bound of RandomResizedCrop's area scale, in (0, 1] (default: the augmentation preset's).") var cropScale: Double?
    @Option(help: "Training size in pixels for --dataset folder, pacs or domains (default: the images' median shorter side, at most 64).") var imageSize: Int?
    @Flag(help: "Train without the files of a folder that fail the header check (listed in the run directory) instead of refusing to start.") var skipBadImages = false
    @OptionGroup(title: "Domain generalization (--dataset pacs or domains; docs/domains.md)") var domainOptions: DomainCommandOptions

    @Option(help: "ResNet depth: 18, 34 or 50.") var depth: Int?
    @Option(help: "Stem: cifar or imagenet.") var stem: Stem?
    @Option(help: "Width multiplier of the ResNet.") var width: Double?
    @Option(help: "Input channels (1 for grey images).") var inChannels: Int?
    @Option(help: "Projection head: linear, mlp or none.") var head: HeadKind?
    @Option(help: "Output (embedding) dimension.") var outDim: Int?

    @Option(help: "Method: \(MethodRegistry.entries.map { "\($0.name) (\($0.summary))" }.joined(separator: "; ")).") var method: String?
    @OptionGroup(title: "Memory-bank options (methods invp, npid, instance, darling)") var bankOptions: BankMethodOptions
    @OptionGroup(title: "InvP options (methods invp, instance)") var invpOptions: InvPOptions
    @OptionGroup(title: "Un-Mix options (methods invp, npid, instance)") var unmixOptions: UnMixCommandOptions
    @OptionGroup(title: "ODC options (method odc)") var odcOptions: ODCCommandOptions
    @OptionGroup(title: "CoKe options (method coke)") var cokeOptions: CoKeCommandOptions
    @OptionGroup(title: "DARLING options (method darling)") var darlingOptions: DARLINGCommandOptions

    @Option(help: "Epochs.") var epochs: Int?
    @Option(help: "End training after this many steps in all (inside an epoch if need be); the learning-rate schedule spans them (default: whole epochs).") var maxSteps: Int?
    @Option(help: "End training when this many minutes of the run have passed (setup included), keeping time for the final scoring; the learning-rate schedule follows the time spent. The pace decides the steps, so runs are not bit-for-bit repeatable; one process only.") var maxMinutes: Double?
    @Option(help: "Batch size.") var batchSize: Int?
    @Option(help: "Base learning rate.") var lr: Float?
    @Option(help: "SGD momentum.") var momentum: Float?
    @Flag(help: "Nesterov momentum.") var nesterov = false
    @Option(help: "Weight decay.") var weightDecay: Float?
    @Flag(help: "Exclude batch-norm and bias parameters from weight decay.") var excludeNormDecay = false
    @Option(help: "Learning-rate decay: cosine, multistep or constant.") var schedule: DecayKind?
    @Option(help: "Milestone epochs for multistep, comma-separated.") var milestones: String?
    @Option(help: "Multistep factor.") var gamma: Float?
    @Option(help: "Linear learning-rate warm-up, epochs.") var lrWarmup: Double?

    @Option(help: "fp32, bf16, or auto (bf16 where the CPU runs it natively).") var precision: String?
    @Option(help: "Compute threads (default: all cores).") var threads: Int?
    @Option(help: "Loader threads, 0…256 (0: batches are built on the training thread).") var workers: Int?
    @Option(help: "Seed.") var seed: UInt64?
    @Option(help: "kNN monitor neighbours K.") var knnK: Int?
    @Option(help: "kNN monitor temperature σ.") var knnTemperature: Float?
    @Option(help: "Run the kNN monitor every N epochs (0: never).") var knnEvery: Int?
    @Option(help: "kNN monitor training features: bank (the paper's), recompute (evaluation transform) or both.") var knnFeatures: MonitorFeatures?
    @Option(help: "With --knn-features both, recompute the training features only every N epochs and at the last (the bank scores every epoch).") var knnRecomputeEvery: Int?
    @Option(help: "Training images whose embeddings give the label-free health signals each epoch (default 1024; 0: off).") var healthSample: Int?
    @Flag(help: "End training when neighbour stability and uniformity stop changing (docs/health.md); the test split is then scored.") var stopWhenStable = false
    @Flag(help: "Under mpirun: batch norm uses the statistics of the whole global batch instead of each process's share (docs/distributed.md).") var syncBatchnorm = false
    @Option(help: "Also checkpoint every N steps inside an epoch (0: epoch ends only).") var checkpointEvery: Int?
    @Flag(help: "Do not log positive purity.") var noPurity = false

    /// Refuses options given here that `method` does not read (e.g. `--hops` with NPID): each
    /// method's options are listed by `MethodRegistry`.
    func refuseOptionsOfOtherMethods(than method: String) throws {
        guard let entry = MethodRegistry.entry(method) else { return }
        let methodOptions = MethodRegistry.entries.reduce(Set<String>()) { $0.union($1.options) }
        let given = (bankOptions.givenArguments + invpOptions.givenArguments + odcOptions.givenArguments + cokeOptions.givenArguments
                     + darlingOptions.givenArguments)
            .filter { $0.hasPrefix("--") }.map { String($0.dropFirst(2)) }
        if let foreign = given.first(where: { methodOptions.contains($0) && !entry.options.contains($0) }) {
            let owners = MethodRegistry.entries.filter { $0.options.contains(foreign) }.map(\.name)
            throw ValidationError("--\(foreign) is an option of \(owners.joined(separator: ", ")), not of the method in use (\(method))")
        }
    }

    /// Sets every option given here on `c`, leaving the others as the preset or recipe set them.
    func apply(to c: inout TrainingConfig) throws {
        if let dataset { c.dataset = dataset }
        if let dataDir { c.dataDir = dataDir }
        if let trainSubset { c.trainSubset = trainSubset }
        if let validation {
            do { c.validation = try ValidationSize(parsing: validation) } catch { throw ValidationError("\(error)") }
        }
        if let validationSeed { c.validationSeed = validationSeed }
        if let augmentation { c.augmentation = augmentation }
        if let evalTransform { c.evalTransform = evalTransform }
        if let cropScale { c.cropScaleMinimum = cropScale }
        if let depth { c.model.depth = depth }
        if let stem { c.model.stem = stem }
        if let width { c.model.width = width }
        if let inChannels { c.model.inputChannels = inChannels }
        if let head { c.model.head = head }
        if let outDim { c.model.outputDimension = outDim }
        if let method { c.method = method }
        bankOptions.apply(to: &c)
        invpOptions.apply(to: &c)
        try unmixOptions.apply(to: &c)
        odcOptions.apply(to: &c)
        try cokeOptions.apply(to: &c)
        darlingOptions.apply(to: &c)
        if let epochs { c.epochs = epochs }
        if let maxSteps { c.maxSteps = maxSteps }
        if let maxMinutes { c.maxMinutes = maxMinutes }
        if let batchSize { c.batchSize = batchSize }
        if let lr { c.learningRate = lr }
        if let momentum { c.momentum = momentum }
        if nesterov { c.nesterov = true }
        if let weightDecay { c.weightDecay = weightDecay }
        if excludeNormDecay { c.excludeNormFromDecay = true }
        if let schedule { c.decay = schedule }
        if let milestones { c.milestones = try parseList(milestones, option: "--milestones") }
        if let gamma { c.gamma = gamma }
        if let lrWarmup { c.warmupEpochs = lrWarmup }
        if let precision { c.precision = precision }
        if let threads { c.threads = threads }
        if let workers { c.workers = workers }
        if let seed { c.seed = seed }
        if let knnK { c.knnK = knnK }
        if let knnTemperature { c.knnTemperature = knnTemperature }
        if let knnEvery { c.knnEvery = knnEvery }
        if let knnFeatures { c.monitorFeatures = knnFeatures }
        if let knnRecomputeEvery { c.knnRecomputeEvery = knnRecomputeEvery }
        if let healthSample { c.healthSample = healthSample }
        if stopWhenStable { c.stopWhenStable = true }
        if syncBatchnorm { c.syncBatchNorm = true }
        if let checkpointEvery { c.checkpointEverySteps = checkpointEvery }
        if noPurity { c.purity = false }
        if skipBadImages { c.skipBadImages = true }
        try domainOptions.apply(to: &c)
    }
}

/// Options every memory-bank method reads (`MethodRegistry.bankOptions`).
struct BankMethodOptions: ParsableArguments {
    @Option(help: "Temperature τ.") var temperature: Float?
    @Option(help: "Memory-bank momentum m.") var bankMomentum: Float?
    @Option(help: "Memory-bank start: random (the paper) or features (one pass of the initial network).") var bankInit: BankInitialization?
    @Option(help: "Precision of the two memory-bank products z = v·bankᵀ and dv = g·bank: fp32 (the default without a preset), bf16, or auto (bf16 where the CPU runs it natively: the Fashion-MNIST presets' choice; docs/benchmarks.md).") var bankPrecision: BankPrecision?

    /// Sets the options given here on `c`.
    func apply(to c: inout TrainingConfig) {
        if let temperature { c.invp.temperature = temperature }
        if let bankMomentum { c.invp.momentum = bankMomentum }
        if let bankInit { c.bankInitialization = bankInit }
        if let bankPrecision { c.invp.bankPrecision = bankPrecision }
    }
}

/// Options of InvP's loss and neighbour propagation (`MethodRegistry.propagationOptions`).
struct InvPOptions: ParsableArguments {
    @Option(help: "Background size M.") var background: Int?
    @Option(help: "Neighbours per node k.") var neighbours: Int?
    @Option(help: "Propagation hops L.") var hops: Int?
    @Option(help: "Positives P.") var positives: Int?
    @Option(help: "Weight λ of the invariance term.") var lambda: Float?
    @Option(help: "Epochs before the invariance term starts (T).") var invarianceWarmup: Int?
    @Option(help: "Ramp of the invariance term: binary, gaussian or none.") var ramp: WarmUp?
    @Option(help: "Positive selection: hard or easy.") var selection: PositiveSelection?
    @Option(help: "Propagation: reference (concatenation) or exact (breadth-first, no duplicates).") var propagation: PropagationMode?
    @Flag(help: "Keep the anchor's own term in the invariance denominator.") var nonExclusive = false

    /// Sets the options given here on `c`.
    func apply(to c: inout TrainingConfig) {
        if let invarianceWarmup {
            c.invp.warmUpEpochs = invarianceWarmup
            // A warm-up length asks for a warm-up: the CPU preset's "none" ramp would ignore it.
            if ramp == nil && c.invp.warmUp == .none { c.invp.warmUp = .binary }
        }
        if let background { c.invp.backgroundCount = background }
        if let neighbours { c.invp.neighbourCount = neighbours }
        if let hops { c.invp.hops = hops }
        if let positives { c.invp.positiveCount = positives }
        if let lambda { c.invp.invarianceWeight = lambda }
        if let ramp { c.invp.warmUp = ramp }
        if let selection { c.invp.positives = selection }
        if let propagation { c.invp.propagation = propagation }
        if nonExclusive { c.invp.exclusive = false }
    }
}

/// Un-Mix (Shen et al., AAAI 2022) on top of the method in use: `--unmix` switches it on.
struct UnMixCommandOptions: ParsableArguments {
    @Flag(help: "Add Un-Mix's term: a mixture of the batch with itself reversed, λ·L(mixed) + (1 − λ)·L(mixed reversed), the bank fed with clean features only.") var unmix = false
    @Option(help: "Probability of a global mixture; else a region (box) mixture (default 0.5, the authors').") var unmixProbability: Double?
    @Option(help: "β of λ ~ Beta(β, β) (default 1, the authors').") var unmixBeta: Double?
    @Option(help: ArgumentHelp("What the mixed terms score each anchor against: clean (the clean view's background and positives, the authors') or own (each mixed view chooses its own; InvP only, NPID is the same either way) (default clean).",
                               valueName: "clean|own")) var unmixTargets: UnMixTargets?

    /// Sets Un-Mix on `c`; its options without `--unmix` are refused.
    func apply(to c: inout TrainingConfig) throws {
        if !unmix && c.unmix == nil && (unmixProbability != nil || unmixBeta != nil || unmixTargets != nil) {
            throw ValidationError("--unmix-probability, --unmix-beta and --unmix-targets need --unmix")
        }
        if unmix && c.unmix == nil { c.unmix = UnMixOptions() }
        if let unmixProbability { c.unmix?.globalProbability = unmixProbability }
        if let unmixBeta { c.unmix?.beta = unmixBeta }
        if let unmixTargets { c.unmix?.targets = unmixTargets }
    }
}

extension ParsableArguments {
    /// The options given, as command-line arguments that parse back to the same options (what a
    /// recipe written by `invprop tune` records). Read from the parsed properties by reflection:
    /// each property `fooBar` is the option `--foo-bar`, as ArgumentParser names it.
    var givenArguments: [String] {
        var arguments: [String] = []
        for child in Mirror(reflecting: self).children {
            guard let label = child.label, label.hasPrefix("_"), let value = Self.parsedValue(child.value) else { continue }
            let name = "--" + label.dropFirst().flatMap { $0.isUppercase ? ["-", Character($0.lowercased())] : [$0] }
            if let group = value as? any ParsableArguments {
                arguments += group.givenArguments
            } else if let flag = value as? Bool {
                if flag { arguments.append(String(name)) }
            } else if let raw = value as? any RawRepresentable {
                arguments += [String(name), "\(raw.rawValue)"]
            } else {
                arguments += [String(name), "\(value)"]
            }
        }
        return arguments
    }

    /// The value inside a parsed `@Option`/`@Flag` wrapper, unwrapping optionals; nil when absent.
    fileprivate static func parsedValue(_ wrapper: Any) -> Any? {
        var value: Any = wrapper
        // Option<Value> holds one stored property (its parsed state), an enum whose payload is the value.
        for _ in 0..<2 {
            guard let inner = Mirror(reflecting: value).children.first?.value else { return nil }
            value = inner
        }
        let mirror = Mirror(reflecting: value)
        if mirror.displayStyle == .optional { return mirror.children.first?.value }
        return value
    }
}
