import Data
import Foundation
import Kernels
import Methods
import Models
import Tensors

/// The learning-rate decay after warm-up.
public enum DecayKind: String, Codable, Sendable, CaseIterable {
    /// Cosine to zero over the run.
    case cosine
    /// ×gamma at each milestone epoch.
    case multistep
    /// Constant.
    case constant
}

/// How the memory bank starts.
public enum BankInitialization: String, Codable, Sendable, CaseIterable {
    /// Uniform noise, as the reference code does (SPEC step 11).
    case random
    /// The normalised outputs of the initial network on every training image (evaluation
    /// transform, batch statistics): one forward pass, so the first epoch's neighbours and
    /// negatives are real images rather than noise.
    case features
}

/// Which training features the kNN monitor compares the test images with.
public enum MonitorFeatures: String, Codable, Sendable, CaseIterable {
    /// The memory bank (the paper's monitor; free).
    case bank
    /// Head features recomputed with the evaluation transform (one more pass over the training set).
    case recompute
    /// Both; `knn_top1` is the bank's, `knn_recomputed_top1` the other.
    case both
}

/// Un-Mix's options, defined beside its mixing hook in Methods.
public typealias UnMixOptions = Methods.UnMixOptions

/// Everything that defines a training run; saved as `config.json` beside the run and inside
/// every checkpoint, so a run can be resumed and reproduced.
public struct TrainingConfig: Codable, Sendable, Equatable {
    /// Name of the preset this configuration started from.
    public var preset: String = "fashion-mnist"
    /// Dataset name (see `invprop datasets`) and optional directory.
    public var dataset: String = "fashion-mnist"
    /// Dataset directory (nil: the default places).
    public var dataDir: String?
    /// Use only the first N training images left after the validation split (nil: all).
    public var trainSubset: Int?
    /// Training images held out for validation (nil or 0: none; the kNN monitor then scores the
    /// test split, as the paper does). With it, the monitor and `checkpoint-best` use validation
    /// and the test split is scored once, at the end of the run.
    public var validation: ValidationSize?
    /// Seed of the validation draw (nil: 0; kept apart from `seed` so that every run shares one split).
    public var validationSeed: UInt64?
    /// Augmentation preset for training and the deterministic transform for evaluation.
    public var augmentation: String = "fashion-mnist-invp"
    /// Transform used to compute test features for the kNN monitor.
    public var evalTransform: String = "fashion-mnist-eval"
    /// The network.
    public var model = ResNetConfig(depth: 18, stem: .cifar, inputChannels: 1, width: 0.25, head: .linear, outputDimension: 128)
    /// The objective: a name from `MethodRegistry` (default: its first entry, InvP).
    public var method: String = MethodRegistry.defaultName
    /// InvP options (τ, m, M, k, L, P, λ, warm-up, …); τ and m also serve NPID.
    public var invp = InvPConfig()
    /// The options of the methods that have their own (nil: every method's defaults).
    public var methodOptions: MethodOptions?
    /// Epochs and batch size.
    public var epochs: Int = 15, batchSize: Int = 128
    /// End training after this many optimizer steps in all, inside the last epoch if need be;
    /// the learning-rate schedule then spans these steps (nil: whole epochs, `epochs` of them).
    /// It lets a time budget be filled by a fraction of an epoch.
    public var maxSteps: Int?
    /// End training when this many minutes of the run have passed (setup included), keeping
    /// time for the final scoring; the learning-rate schedule follows the larger of the shares
    /// of steps and of time spent, so the decay ends with the budget (nil: no time limit).
    /// The pace then decides the number of steps, so such runs are not bit-for-bit repeatable.
    public var maxMinutes: Double?
    /// SGD settings.
    public var learningRate: Float = 0.03, momentum: Float = 0.9, nesterov: Bool = false, weightDecay: Float = 5e-4
    /// Exclude batch-norm and bias parameters from weight decay.
    public var excludeNormFromDecay: Bool = false
    /// Schedule after `warmupEpochs` epochs of linear warm-up.
    public var decay: DecayKind = .cosine
    /// Milestones and factor for multi-step decay.
    public var milestones: [Int] = [], gamma: Float = 0.1
    /// Linear learning-rate warm-up, in epochs.
    public var warmupEpochs: Double = 0
    /// "fp32", "bf16", or "auto" (bf16 where the CPU runs it natively — AVX-512 BF16 or AMX —
    /// else fp32; the Fashion-MNIST preset's default, measured in docs/results.md).
    public var precision: String = "auto"
    /// Compute threads (nil: all cores) and loader worker threads.
    public var threads: Int?
    /// Loader threads.
    public var workers: Int = 1
    /// Seed of initialisation, bank, shuffling and augmentation.
    public var seed: UInt64 = 0
    /// kNN monitor: neighbours K, temperature σ, every how many epochs (0: never).
    public var knnK: Int = 200, knnTemperature: Float = 0.07, knnEvery: Int = 1
    /// Also write a checkpoint every this many steps inside an epoch (0: only at epoch ends).
    public var checkpointEverySteps: Int = 0
    /// Log positive purity (needs labels; never used for training).
    public var purity: Bool = true
    /// Lower bound of RandomResizedCrop's area scale, replacing the augmentation preset's (nil: keep it).
    public var cropScaleMinimum: Double?
    /// Leave out the image files of a folder dataset that fail the header check (listed in the
    /// run directory's `skipped-images-train.txt`) instead of refusing to start (nil: refuse).
    public var skipBadImages: Bool?
    /// Un-Mix's mixed-image term (nil: off).
    public var unmix: UnMixOptions?
    /// How the memory bank starts (nil: random, the paper's).
    public var bankInitialization: BankInitialization?
    /// Training features of the kNN monitor (nil: bank, the paper's).
    public var monitorFeatures: MonitorFeatures?
    /// With `monitorFeatures` both: recompute the training features only on epochs that are a
    /// multiple of this and on the last (the bank scores every monitored epoch; nil: every epoch).
    public var knnRecomputeEvery: Int?
    /// Training images whose embeddings give the label-free health signals every epoch (nil:
    /// 1 024; 0: none).
    public var healthSample: Int?

    /// End the run when the health signals stop changing (`StabilityStoppingRule`; nil: off).
    public var stopWhenStable: Bool?

    /// In data-parallel training (`mpirun`), batch norm uses the statistics of the global batch
    /// instead of each process's share (nil: each process's, as PyTorch DDP does by default).
    public var syncBatchNorm: Bool?

    /// Source and target domains of a multi-domain dataset (`pacs`, `domains`; nil for the others).
    public var domains: DomainSelection?

    /// The health sample in force.
    public var resolvedHealthSample: Int { healthSample ?? 1024 }

    /// A configuration with every default: the Fashion-MNIST dataset and network with the paper's
    /// loss settings; `TrainingPresets` layers each preset on top of it.
    public init() {}

    /// Throws a message naming the first option that is out of range.
    public func validate() throws {
        func fail(_ m: String) -> Error { TrainingError.invalidOption(m) }
        guard MethodRegistry.names.contains(method) else {
            throw fail("--method must be one of \(MethodRegistry.names.joined(separator: ", ")), got '\(method)'")
        }
        guard (1...Self.maximumEpochs).contains(epochs) else { throw fail("--epochs must be in 1…\(Self.maximumEpochs), got \(epochs)") }
        if let maxSteps, maxSteps < 1 { throw fail("--max-steps must be ≥ 1, got \(maxSteps)") }
        if let maxMinutes, !(maxMinutes > 0 && maxMinutes.isFinite) { throw fail("--max-minutes must be a number of minutes > 0, got \(maxMinutes)") }
        guard batchSize >= 2 else { throw fail("--batch-size must be ≥ 2 (batch norm needs two images), got \(batchSize)") }
        guard learningRate > 0, learningRate.isFinite else { throw fail("--lr must be > 0, got \(learningRate)") }
        guard (0..<1).contains(momentum) else { throw fail("--momentum must be in [0, 1), got \(momentum)") }
        guard weightDecay >= 0, weightDecay.isFinite else { throw fail("--weight-decay must be a finite number ≥ 0, got \(weightDecay)") }
        // Every decay kind's gamma is saved, so a NaN one would make the configuration unwritable.
        guard gamma >= 0, gamma.isFinite else { throw fail("--gamma must be a finite factor ≥ 0, got \(gamma)") }
        guard ["fp32", "bf16", "auto"].contains(precision) else { throw fail("--precision must be fp32, bf16 or auto, got \(precision)") }
        if let threads, threads < 1 { throw fail("--threads must be ≥ 1, got \(threads)") }
        guard (0...DataLoader.maximumWorkers).contains(workers) else {
            throw fail("--workers must be in 0…\(DataLoader.maximumWorkers) (loader threads; more would only fail to start), got \(workers)")
        }
        if let trainSubset, trainSubset < batchSize { throw fail("--train-subset \(trainSubset) is smaller than the batch size \(batchSize)") }
        // The synthetic set has as many images as --train-subset asks for (a real dataset caps it).
        if dataset == "shapes", let trainSubset, trainSubset > Self.maximumShapesImages {
            throw fail("--train-subset \(trainSubset) is more than the \(Self.maximumShapesImages) images the synthetic shapes dataset makes")
        }
        guard knnK >= 1 else { throw fail("--knn-k must be ≥ 1, got \(knnK)") }
        guard knnTemperature > 0, knnTemperature.isFinite else { throw fail("--knn-temperature must be a finite number > 0, got \(knnTemperature)") }
        guard knnEvery >= 0 else { throw fail("--knn-every must be ≥ 0, got \(knnEvery)") }
        if let knnRecomputeEvery, knnRecomputeEvery < 1 { throw fail("--knn-recompute-every must be ≥ 1, got \(knnRecomputeEvery)") }
        if let healthSample, healthSample < 0 || healthSample == 1 { throw fail("--health-sample must be 0 (off) or ≥ 2, got \(healthSample)") }
        if stopWhenStable == true, resolvedHealthSample == 0 { throw fail("--stop-when-stable reads the health signals; it needs --health-sample above 0") }
        guard checkpointEverySteps >= 0 else { throw fail("--checkpoint-every must be ≥ 0") }
        guard warmupEpochs >= 0, warmupEpochs < Double(epochs) else { throw fail("--lr-warmup must be in [0, epochs), got \(warmupEpochs)") }
        if let cropScaleMinimum, !(cropScaleMinimum > 0 && cropScaleMinimum <= 1) {
            throw fail("--crop-scale must be in (0, 1], got \(cropScaleMinimum)")
        }
        if decay == .multistep && milestones != milestones.sorted() { throw fail("--milestones must be increasing, got \(milestones)") }
        if unmix != nil, MethodRegistry.entry(method)?.acceptsUnMix == false {
            throw fail("--unmix works with the memory-bank methods (\(MethodRegistry.entries.filter(\.acceptsUnMix).map(\.name).joined(separator: ", "))), not with \(method)")
        }
        if let unmix {
            guard (0...1).contains(unmix.globalProbability) else { throw fail("--unmix-probability must be in [0, 1], got \(unmix.globalProbability)") }
            guard unmix.beta > 0, unmix.beta.isFinite else { throw fail("--unmix-beta must be > 0, got \(unmix.beta)") }
        }
        do {   // the checks against the number of images wait for the data (Trainer)
            // Every method saves the memory-bank and InvP options, so each must be in range even where unused.
            try invp.validate(datasetSize: .max)
            try methodOptions?.validate(datasetSize: .max)
        } catch let error as MethodsError { throw fail(error.description) }
        try validateDomains()
        try model.validate()
    }

    /// Most epochs a run may ask for: far beyond any schedule, and small enough that epochs ×
    /// steps per epoch cannot overflow.
    public static let maximumEpochs = 1_000_000

    /// Most images `--train-subset` may ask of the synthetic `shapes` dataset (it makes as many
    /// as asked; a real dataset is capped by its size).
    public static let maximumShapesImages = 1_000_000

    /// The configuration as pretty JSON (sorted keys).
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// Decodes `json()` output.
    public static func decode(_ json: String, source: String) throws -> TrainingConfig {
        do { return try JSONDecoder().decode(TrainingConfig.self, from: Data(json.utf8)) } catch {
            throw TrainingError.corrupt(path: source, reason: "configuration does not decode: \(error)")
        }
    }
}

/// Errors of the training layer, each naming the option or file concerned.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    /// An option out of range.
    case invalidOption(String)
    /// A checkpoint or run file that cannot be used.
    case corrupt(path: String, reason: String)
    /// The loss became NaN or infinite.
    case diverged(String)

    public var description: String {
        switch self {
        case .invalidOption(let m): return m
        case .corrupt(let path, let reason): return "\(path): \(reason)"
        case .diverged(let m): return m
        }
    }
}

extension TrainingConfig {
    /// The network precision in force: "auto" becomes bf16 where the CPU runs it natively, else fp32.
    public var resolvedPrecision: DType {
        switch precision {
        case "bf16": return .bf16
        case "auto": return ComputeCapabilities.hasNativeBF16 ? .bf16 : .f32
        default: return .f32
        }
    }
}
