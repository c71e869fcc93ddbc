import Collectives
import Data
import Dispatch
import Evaluation
import Foundation
import Kernels
import Methods
import Models
import Randomness
import NN
import SafeTensors
import Tensors
import RunFormat

/// What the trainer tells its caller after every step (for progress bars).
public struct StepReport: Sendable {
    /// 1-based epoch and step, and their totals.
    public var epoch: Int, epochs: Int, step: Int, steps: Int
    /// Running means over the epoch so far: the loss and the method's terms, in its order.
    public var loss: Double, terms: [(name: String, value: Double)]
    /// Current learning rate and throughput of the epoch so far.
    public var learningRate: Double, imagesPerSecond: Double
    /// Estimated seconds to the end of the run (training only).
    public var etaSeconds: Double
}

/// How a caller can interrupt training between two steps.
public enum StopRequest: Sendable {
    /// Keep going.
    case none
    /// Save a checkpoint of the current state and return (Ctrl-C).
    case saveAndStop
    /// Return at once without saving (what a crash does; tests use it).
    case abandon
}

/// How a `run` ended.
public struct TrainingSummary: Sendable {
    /// Completed epochs and whether the run reached its last epoch.
    public var completedEpochs: Int, finished: Bool
    /// The last epoch's record, if any epoch ended in this call.
    public var lastRecord: EpochRecord?
    /// Best kNN top-1 over the run (percent, on the monitored split) and its epoch.
    public var bestKNNTop1: Double?, bestEpoch: Int?
    /// Files of the run.
    public var runDirectory: URL
}

/// Receives progress from a run.
public protocol TrainingObserver: AnyObject {
    /// After every step.
    func step(_ report: StepReport)
    /// After every epoch (after evaluation and checkpointing).
    func epoch(_ record: EpochRecord)
    /// Free-form notes (resuming, kNN running, checkpoint written).
    func note(_ message: String)
}

/// Runs self-supervised training as `TrainingConfig` describes, with the kNN monitor, purity,
/// JSON-lines metrics, checkpoints every epoch (and optionally every few steps), the best
/// checkpoint by kNN, resumption, and a clean stop on request.
public final class Trainer {
    /// The configuration in force (from the checkpoint when resuming).
    public let config: TrainingConfig
    /// The run directory (config.json, metrics.jsonl, checkpoints).
    public let runDirectory: URL
    /// The network.
    public let model: ResNet
    let optimizer: SGD
    let schedule: LearningRateSchedule
    /// The objective, built by the registry from `config.method`.
    let method: any TrainingMethod
    /// The mixing hook (Un-Mix) when the configuration asks for one.
    let mixing: (any BatchMixing)?
    /// The images trained on, renumbered so that positions are memory-bank rows.
    let train: IndexedSubset
    /// Held-out training images (nil without `--validation`) and the test split.
    let validation: IndexedSubset?, test: (any ImageDataset)?
    /// Labels of `train` (purity and the kNN monitor only; never used for training).
    let trainLabels: [Int32]?
    let loader: DataLoader
    /// The training augmentation (the health signals' augmented views use it too).
    let trainAugmentation: AugmentationPipeline
    /// Training positions whose embeddings give the health signals every epoch.
    let healthPositions: [Int]
    var progress = TrainingProgress()
    /// With a validation split, whether the last epoch also scores the test split (the screening
    /// of `invprop tune` turns it off: choosing must never read test).
    public var scoresTestAtEnd = true
    /// The rule `--stop-when-stable` applies (tests loosen it).
    public var stoppingRule = StabilityStoppingRule()
    /// Seconds of the current epoch's steps by phase (not checkpointed; see `EpochRecord.phaseSeconds`).
    var phases = PhaseClock()
    /// The processes training together (one without `mpirun`); only rank 0 writes files.
    let parallel: DataParallel
    /// Bytes this rank sent in the current epoch's steps (data-parallel runs).
    var epochBytesSent = 0
    /// Seconds `init` took (data, the initial feature pass): part of a `--max-minutes` budget.
    var setupSeconds = 0.0
    /// Seconds per image of the initial feature pass, when there was one (a `--max-minutes`
    /// run estimates its final scoring from it).
    var featurePassSecondsPerImage: Double?

    /// Last checkpoint's path in the run directory.
    public var lastCheckpoint: URL { runDirectory.appendingPathComponent(RunFileName.lastCheckpoint) }
    /// Best-by-kNN checkpoint's path.
    public var bestCheckpoint: URL { runDirectory.appendingPathComponent(RunFileName.bestCheckpoint) }
    var metricsFile: URL { runDirectory.appendingPathComponent(RunFileName.metrics) }

    /// Prepares a run: opens the data, builds the network, method and optimizer, and restores
    /// the last checkpoint when `resume` is set (its configuration then wins). A run directory
    /// holding a checkpoint, or another run's files, is never overwritten without `resume`; it
    /// is created (or refused, naming `--output`) before the data is read. With a `communicator`
    /// of several processes this process trains its share of every batch (docs/distributed.md).
    public init(config requested: TrainingConfig, runDirectory: URL, resume: Bool, observer: TrainingObserver? = nil,
                communicator: any Communicator = SingleProcess()) throws {
        let setupStarted = DispatchTime.now().uptimeNanoseconds
        self.runDirectory = runDirectory
        parallel = DataParallel(communicator: communicator)
        let primary = communicator.isPrimary
        let last = runDirectory.appendingPathComponent(RunFileName.lastCheckpoint)
        var config = requested
        var restored: (TensorArchive, TrainingProgress)?
        // A directory made here and left empty by a failed setup is removed again.
        var createdDirectory = false, setupFinished = false
        defer { if createdDirectory && !setupFinished { Self.removeIfEmpty(runDirectory) } }
        if primary { createdDirectory = try Self.prepareRunDirectory(runDirectory) }
        if resume && primary { MetricsLog.removeAbandonedTemporaryFiles(in: runDirectory) }
        if FileManager.default.fileExists(atPath: last.path) {
            guard resume else {
                throw TrainingError.invalidOption("\(runDirectory.path) already holds a run (checkpoint-last.safetensors); pass --resume to continue it or choose another --output")
            }
            let archive = try TensorArchive(contentsOf: last.path)
            let (saved, savedProgress) = try Checkpoint.header(archive, path: last.path)
            if saved != requested { observer?.note("resuming with the configuration saved in \(last.lastPathComponent) (options given now are ignored)") }
            config = saved
            restored = (archive, savedProgress)
        } else {
            // Without a last checkpoint there is nothing to continue, and a new run would replace
            // the best checkpoint and the metrics of the run that left them.
            var others = Self.otherRunFiles(in: runDirectory)
            // A run killed before its first checkpoint leaves metrics lines of epochs no checkpoint
            // holds: --resume starts it over, as it would trim them after a later kill.
            if resume { others.removeAll { $0 == RunFileName.metrics } }
            if !others.isEmpty {
                throw TrainingError.invalidOption("\(runDirectory.path) holds files of another run (\(others.joined(separator: ", "))) but no "
                    + "\(RunFileName.lastCheckpoint) to resume from; a new run would replace them: choose another --output, "
                    + "or delete them to start over there")
            }
            if resume {
                observer?.note("nothing to resume in \(runDirectory.path): starting a new run")
                // Its metrics lines belong to no checkpoint: they go, as a resume trims such lines.
                if primary { try? FileManager.default.removeItem(at: runDirectory.appendingPathComponent(RunFileName.metrics)) }
            }
        }
        do { try config.validate() } catch where restored != nil {
            // The options came from the file, not from the command line: say which file.
            throw TrainingError.corrupt(path: last.path, reason: "the saved configuration is refused: \(error)")
        }
        if config.maxMinutes != nil && communicator.size > 1 {
            // Each process would read its own clock and could end, or decay, at another step.
            throw TrainingError.invalidOption("--max-minutes works in one process only; with several, give --max-steps")
        }
        guard config.batchSize % communicator.size == 0 else {
            throw TrainingError.invalidOption("--batch-size \(config.batchSize) must be a multiple of the number of processes (\(communicator.size)): each takes an equal share of every batch")
        }
        if let threads = config.threads { try ComputeThreads.set(threads) }

        // Data.
        let channels = config.model.inputChannels
        let whole: any ImageDataset
        if config.dataset == "shapes" {
            whole = try ShapesDataset(count: config.trainSubset ?? 2000, seed: config.seed)
            test = try ShapesDataset(count: 400, seed: config.seed &+ 1)
        } else {
            whole = try Self.openTrainingImages(config, channels: channels, runDirectory: runDirectory, observer: observer, writes: primary)
            test = try Self.openMonitorImages(config, channels: channels, runDirectory: runDirectory, observer: observer, writes: primary)
        }
        guard whole.channels == channels else {
            throw TrainingError.invalidOption("dataset \(whole.name) has \(whole.channels)-channel images but the model takes \(channels) (--in-channels)")
        }
        let split: TrainValidationSplit
        do {
            split = try TrainValidationSplit(total: whole.count, validation: config.validation, labelled: whole.classCount != nil,
                                             trainLimit: config.trainSubset, seed: config.validationSeed ?? 0)
        } catch let error as DataError { throw TrainingError.invalidOption(error.description) }
        if whole.classCount == nil, !(config.validation?.holdsNone ?? true) {
            observer?.note("\(whole.name) has no labels: no validation split is held out (--validation needs labels to score it)")
        }
        let train = try IndexedSubset(base: whole, indices: split.training)
        self.train = train
        validation = split.validation.isEmpty ? nil : try IndexedSubset(base: whole, indices: split.validation, name: whole.name + "-validation")
        let n = train.count
        self.config = config
        var shared = config
        shared.threads = nil   // each machine takes its own share of cores
        try parallel.checkSameSetup(configuration: try shared.json(), trainingImages: n,
                                    firstImage: n > 0 ? train.sourcePath(at: 0) ?? "\(whole.name)[\(split.training[0])]" : "none")
        trainLabels = train.classCount == nil ? nil : (0..<n).map { Int32(train.label(at: $0) ?? 0) }
        var augmentation = try AugmentationPresets.pipeline(named: config.augmentation)
        if let minimum = config.cropScaleMinimum { augmentation = augmentation.replacingCropScale(minimum: minimum) }
        trainAugmentation = augmentation
        healthPositions = Self.healthSample(size: config.resolvedHealthSample, trainingCount: n)
        loader = try DataLoader(dataset: train, transform: augmentation, batchSize: config.batchSize,
                                shuffle: true, dropLast: true, seed: config.seed, workers: config.workers, prefetch: 3,
                                shard: (communicator.rank, communicator.size))
        // The saved position must lie inside this run's epochs before metrics.jsonl is trimmed to it.
        if let (_, savedProgress) = restored {
            try savedProgress.validate(stepsPerEpoch: loader.batchesPerEpoch, path: last.path)
        }

        // Network, objective, optimizer.
        model = try ResNet(config.model, seed: config.seed)
        if config.syncBatchNorm == true && communicator.size > 1 { model.synchroniseBatchNorms(over: communicator) }
        let d = config.model.head == .none ? config.model.featureDimension : config.model.outputDimension
        var setup = MethodSetup(invp: config.invp, datasetSize: n, dimension: d, seed: config.seed,
                                diagnosticLabels: config.purity ? trainLabels : nil)
        setup.options = config.methodOptions ?? MethodOptions()
        setup.backboneWidth = config.model.featureDimension
        if MethodRegistry.entry(config.method)?.usesLabels == true {
            setup.trainingLabels = trainLabels
            setup.classCount = train.classCount
        }
        setup.trainingDomains = (train.base as? MultiDomainDataset).map { images in train.indices.map { Int32(images.domain(at: $0) ?? 0) } }
        do { method = try MethodRegistry.make(config.method, setup: setup) } catch let error as MethodsError {
            throw TrainingError.invalidOption("\(error)")
        }
        mixing = MethodRegistry.makeMixing(unmix: config.unmix, seed: config.seed)
        var groups = config.excludeNormFromDecay
            ? ParameterGroup.excludingVectorsFromDecay(model.namedParameters, weightDecay: config.weightDecay)
            : [ParameterGroup(model.namedParameters, weightDecay: config.weightDecay)]
        if let module = method.module {
            groups.append(ParameterGroup(prefixed(String(CheckpointKey.methodModulePrefix.dropLast()), module.layer.namedParameters),
                                         weightDecay: config.weightDecay, momentum: module.momentum))
        }
        optimizer = try SGD(groups: groups, learningRate: config.learningRate, momentum: config.momentum, nesterov: config.nesterov)
        let decay: LearningRateSchedule.Decay
        switch config.decay {
        case .cosine: decay = .cosine(minimum: 0)
        case .multistep: decay = .multiStep(milestones: config.milestones, gamma: config.gamma)
        case .constant: decay = .constant
        }
        // With --max-steps the schedule ends where training does, inside an epoch if need be.
        let totalSteps = Self.stepLimit(config, stepsPerEpoch: loader.batchesPerEpoch)
        let scheduledEpochs = Double(totalSteps) / Double(max(loader.batchesPerEpoch, 1))
        if config.maxSteps != nil, config.warmupEpochs >= scheduledEpochs {
            throw TrainingError.invalidOption("--lr-warmup \(config.warmupEpochs) epochs is not shorter than the \(totalSteps) steps of --max-steps "
                + "(\(String(format: "%.2f", scheduledEpochs)) epochs of \(loader.batchesPerEpoch) steps)")
        }
        schedule = try LearningRateSchedule(base: config.learningRate, decay: decay, warmupEpochs: config.warmupEpochs, totalEpochs: scheduledEpochs)

        if let (archive, savedProgress) = restored {
            try Checkpoint.restore(archive, path: last.path, model: model, optimizer: optimizer, method: method)
            progress = savedProgress
            observer?.note("resumed from \(last.path) at epoch \(progress.epoch + 1), step \(progress.stepInEpoch)")
            // Lines of epochs the checkpoint does not hold (written before an interruption
            // stopped the checkpoint write) would appear twice once those epochs run again.
            let dropped = primary ? try MetricsLog.keepEpochs(upTo: progress.epoch, in: metricsFile) : 0
            if dropped > 0 { observer?.note("metrics.jsonl: dropped \(dropped) line(s) after epoch \(progress.epoch), the checkpoint's epoch") }
        } else if config.bankInitialization == .features || method.requiresFeatureStart {
            observer?.note("\(config.method): starting from the initial network's features on \(n) training images")
            try startMethodFromFeatures()
        }
        try parallel.checkAgreement(model: model, method: method, step: progress.globalStep, when: "at the start")
        setupSeconds = Double(DispatchTime.now().uptimeNanoseconds - setupStarted) / 1e9
        guard primary else { setupFinished = true; return }
        try writeAtomically(Data((try config.json() + "\n").utf8), to: runDirectory.appendingPathComponent(RunFileName.config))
        try writeMetricUnits()
        setupFinished = true
    }

    /// Makes sure `directory` (`--output`) is a directory this process can write in, creating
    /// it if need be, before any data is read; returns whether it was created here.
    static func prepareRunDirectory(_ directory: URL) throws -> Bool {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw TrainingError.invalidOption("--output \(directory.path) is a file, not a directory: choose another --output for the run")
            }
            guard FileManager.default.isWritableFile(atPath: directory.path) else {
                throw TrainingError.invalidOption("--output \(directory.path): the run directory is not writable")
            }
            return false
        }
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw TrainingError.invalidOption("--output \(directory.path): cannot create the run directory: \(fileErrorReason(error))")
        }
        return true
    }

    /// The files in `directory` that only a run writes and a new run would replace or leave
    /// stale, besides `checkpoint-last` (config.json alone, or the skipped-images lists, hold no
    /// work: a setup that failed leaves them).
    static func otherRunFiles(in directory: URL) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { name in
            [RunFileName.bestCheckpoint, RunFileName.metrics, RunFileName.embeddingMap].contains(name)
                || (name.hasPrefix("eval-") && name.hasSuffix(".json"))
        }.sorted()
    }

    /// Removes `directory` if it holds nothing (a setup that failed after creating it).
    static func removeIfEmpty(_ directory: URL) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path), names.isEmpty else { return }
        try? FileManager.default.removeItem(at: directory)
    }

    /// `dataset` itself, or for an image folder the folder after checking every file's header:
    /// bad files stop the run before it starts, listed with their reasons, unless `skipBad`
    /// leaves them out (listed in `skipped-images-<split>.txt` in the run directory).
    static func checkedFolder(_ dataset: any ImageDataset, split: DatasetSplit, skipBad: Bool, runDirectory: URL,
                              observer: TrainingObserver?, writes: Bool = true) throws -> any ImageDataset {
        guard let folder = dataset as? ImageFolderDataset else { return dataset }
        let bad = folder.checkFiles()
        guard !bad.isEmpty else { return folder }
        let listing = bad.map { "\($0.path)\t\($0.reason)" }
        guard skipBad else {
            let shown = listing.prefix(10).joined(separator: "\n  ")
            throw TrainingError.invalidOption("\(bad.count) of \(folder.count) files of \(folder.name) cannot be used:\n  \(shown)"
                + (bad.count > 10 ? "\n  … and \(bad.count - 10) more" : "")
                + "\nremove or repair them, or pass --skip-bad-images to train without them "
                + "(invprop datasets check --data-dir DIR lists them all)")
        }
        let list = runDirectory.appendingPathComponent("skipped-images-\(split.rawValue).txt")
        if writes {
            try FileManager.default.createDirectory(at: runDirectory, withIntermediateDirectories: true)
            try writeAtomically(Data((listing.joined(separator: "\n") + "\n").utf8), to: list)
        }
        observer?.note("skipping \(bad.count) unusable file(s) of \(folder.name), listed in \(list.path)")
        return try folder.removing(Set(bad.map(\.path)))
    }

    /// Training images in use (the memory bank's rows): the dataset less its validation images.
    public var trainingImageCount: Int { train.count }

    /// The precision in force (`TrainingConfig.resolvedPrecision`).
    public var resolvedPrecision: DType { config.resolvedPrecision }

    /// Starts the method's state (for a bank method: the bank, then the neighbour graph) from
    /// the head outputs of the current network on every training image (evaluation transform,
    /// batch-norm batch statistics as in training, no gradients). The running statistics move as
    /// one epoch of forward passes would move them.
    /// In data-parallel training each rank computes a slice of the images (with its own batch
    /// statistics: the slices' batch counts may differ, so no collective runs inside the pass)
    /// and all-gather them; rank 0's running statistics then go to every rank.
    func startMethodFromFeatures() throws {
        let synchronised = model.batchNorms.map(\.replicaSum)
        for norm in model.batchNorms { norm.replicaSum = nil }
        defer { for (norm, sum) in zip(model.batchNorms, synchronised) { norm.replicaSum = sum } }
        // Rows come back in `train`'s order, which is bank order.
        let started = DispatchTime.now().uptimeNanoseconds
        let features = try sharedHeadFeatures(train, transform: AugmentationPresets.pipeline(named: config.evalTransform),
                                              precision: resolvedPrecision, batchStatistics: true)
        featurePassSecondsPerImage = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9 / Double(max(train.count, 1))
        try parallel.broadcastBuffers(model)
        try method.start(fromFeatures: features.head)
    }

    /// Optimizer steps the run takes in all: `epochs` whole epochs, or fewer with `--max-steps`.
    public var stepLimit: Int { Self.stepLimit(config, stepsPerEpoch: loader.batchesPerEpoch) }

    private static func stepLimit(_ config: TrainingConfig, stepsPerEpoch: Int) -> Int {
        min(config.epochs * stepsPerEpoch, config.maxSteps ?? .max)
    }

    /// Images the final scoring passes through the network: recomputed training features, the
    /// monitored split, and the test split when it is scored once at the end.
    var finalScoringImages: Int {
        guard config.knnEvery > 0 else { return 0 }
        let monitored = validation?.count ?? test?.count ?? 0
        let testAtEnd = validation != nil && scoresTestAtEnd ? test?.count ?? 0 : 0
        return (monitorFeatures == .bank ? 0 : train.count) + monitored + testAtEnd
    }

    /// The `--max-minutes` budget as it stands after `meanStepSeconds` a step (nil: none). Without
    /// an initial feature pass to time, an evaluation forward pass is taken as half a training
    /// step per image.
    func timeBudget(meanStepSeconds: Double) -> TrainingBudget? {
        guard let minutes = config.maxMinutes else { return nil }
        let perImage = featurePassSecondsPerImage ?? meanStepSeconds / Double(config.batchSize) / 2
        return TrainingBudget(totalSeconds: minutes * 60, setupSeconds: setupSeconds,
                              reserveSeconds: TrainingBudget.reserve(scoringImages: finalScoringImages, secondsPerImage: perImage))
    }

    /// Trains until the last epoch or until `stop` asks to; returns how far it got.
    public func run(observer: TrainingObserver? = nil, stop: () -> StopRequest = { .none }) throws -> TrainingSummary {
        let precision = resolvedPrecision
        let steps = loader.batchesPerEpoch
        guard steps >= 1 else { throw TrainingError.invalidOption("\(train.count) training images make no full batch of \(config.batchSize)") }
        var lastRecord: EpochRecord?
        var clock = DispatchTime.now().uptimeNanoseconds
        func tick() -> Double {
            let now = DispatchTime.now().uptimeNanoseconds
            defer { clock = now }
            return Double(now - clock) / 1e9
        }
        // --max-minutes: the seconds spent training so far (this session's since the last tick
        // included) and the mean step of this session.
        var sessionSteps = 0, sessionStepSeconds = 0.0
        func spent() -> Double { progress.wallSeconds + Double(DispatchTime.now().uptimeNanoseconds - clock) / 1e9 }
        func meanStep() -> Double { sessionSteps == 0 ? 0 : sessionStepSeconds / Double(sessionSteps) }
        let scheduledEpochs = Double(stepLimit) / Double(steps)
        while progress.epoch < config.epochs, progress.globalStep < stepLimit, progress.stoppedWhenStableAfter == nil,
              progress.budgetEndedAtStep == nil {
            let e = progress.epoch
            let iterator = loader.epoch(e, skippingBatches: progress.stepInEpoch)
            // Throughput counts the whole loop: waiting for the loader, the network, the loss and
            // the memory bank (evaluation and checkpoints are outside it).
            var stepStart = DispatchTime.now().uptimeNanoseconds
            while let batch = try phases.time("loader", { try iterator.next() }) {
                var position = Double(e) + Double(progress.stepInEpoch) / Double(steps)
                if let budget = timeBudget(meanStepSeconds: meanStep()) {
                    position = max(position, budget.fraction(spent: spent()) * scheduledEpochs)   // decay with the clock
                }
                optimizer.learningRate = schedule.rate(atEpoch: position) * method.learningRateScale(epoch: e + 1)
                let result = try step(batch, epoch: e, precision: precision)
                guard result.loss.isFinite else {
                    throw TrainingError.diverged("the loss became \(result.loss) at epoch \(e + 1), step \(progress.stepInEpoch + 1); stopping. "
                        + "The last good checkpoint is \(lastCheckpoint.path) (if any). Try a lower --lr or --precision fp32.")
                }
                progress.stepInEpoch += 1
                progress.globalStep += 1
                progress.accumulate(result)
                progress.epochImages += batch.count * parallel.size
                let stepEnd = DispatchTime.now().uptimeNanoseconds
                progress.epochSeconds += Double(stepEnd - stepStart) / 1e9
                sessionSteps += 1
                sessionStepSeconds += Double(stepEnd - stepStart) / 1e9
                stepStart = stepEnd
                let done = Double(progress.stepInEpoch)
                let rate = Double(progress.epochImages) / max(progress.epochSeconds, 1e-9)
                var eta = Double(stepLimit - progress.globalStep) * Double(config.batchSize) / max(rate, 1e-9)
                if let budget = timeBudget(meanStepSeconds: meanStep()) { eta = min(eta, budget.remainingSeconds(spent: spent())) }
                observer?.step(StepReport(epoch: e + 1, epochs: config.epochs, step: progress.stepInEpoch, steps: steps,
                                          loss: progress.epochLossSums[0] / done,
                                          terms: zip(lossTermNames, progress.epochLossSums.dropFirst()).map { ($0, $1 / done) },
                                          learningRate: Double(optimizer.learningRate), imagesPerSecond: rate,
                                          etaSeconds: eta))
                switch try parallel.agree(on: stop()) {
                case .none: break
                case .abandon: return summary(lastRecord, finished: false)
                case .saveAndStop:
                    progress.wallSeconds += tick()
                    try saveCheckpoint(to: lastCheckpoint)
                    observer?.note("stopped; saved \(lastCheckpoint.path) (resume with --resume)")
                    return summary(lastRecord, finished: false)
                }
                if config.checkpointEverySteps > 0 && progress.stepInEpoch % config.checkpointEverySteps == 0 && progress.stepInEpoch < steps {
                    progress.wallSeconds += tick()
                    try saveCheckpoint(to: lastCheckpoint)
                    stepStart = DispatchTime.now().uptimeNanoseconds
                }
                if progress.globalStep >= stepLimit { break }   // --max-steps ends this epoch early
                if let budget = timeBudget(meanStepSeconds: meanStep()), !budget.fits(anotherStepOf: meanStep(), spent: spent()) {
                    progress.budgetEndedAtStep = progress.globalStep
                    observer?.note(String(format: "--max-minutes: training ends at step %d (%.2f epochs), keeping %.0f s for the final scoring",
                                          progress.globalStep, Double(progress.globalStep) / Double(steps), budget.reserveSeconds))
                    break
                }
            }
            let record = try finishEpoch(e, steps: progress.stepInEpoch, precision: precision, observer: observer, elapsed: tick)
            lastRecord = record
            observer?.epoch(record)
        }
        return summary(lastRecord, finished: true)
    }

    private func summary(_ record: EpochRecord?, finished: Bool) -> TrainingSummary {
        TrainingSummary(completedEpochs: progress.epoch, finished: finished, lastRecord: record, bestKNNTop1: progress.bestKNNTop1,
                        bestEpoch: progress.bestEpoch, runDirectory: runDirectory)
    }

    /// One optimisation step: forward, the method's loss with its gradient, backward, SGD, the
    /// method's state update.
    func step(_ batch: Batch, epoch: Int, precision: DType) throws -> MethodLoss {
        optimizer.zeroGradients()
        let (output, f) = try phases.time("forward") {
            let x = try Tensor(shape: batch.shape, values: batch.images)
            let (_, output) = try model(x, training: true, precision: precision)
            return (output, output.toArray())
        }
        guard f.allSatisfy(\.isFinite) else {
            throw TrainingError.diverged("the network's output became NaN or infinite at epoch \(epoch + 1), step \(progress.stepInEpoch + 1); stopping. "
                + "The last good checkpoint is \(lastCheckpoint.path) (if any). Try a lower --lr or --precision fp32.")
        }
        if let mixing {
            return try mixedStep(batch, clean: (output, f), mixing: mixing, epoch: epoch, precision: precision)
        }
        let result = try phases.time("loss") { try method.computeLoss(features: f, indices: batch.indices, epoch: epoch + 1) }
        try phases.time("backward") { try attachAndBackward(output, shape: output.shape, loss: result.loss, gradient: result.gradient) }
        return try finishStep(result, features: f, indices: batch.indices)
    }

    /// The rest of every step after the backward pass: the gradients averaged over the ranks,
    /// SGD, the method's state moved with the global batch (every rank's f, indices and
    /// records), and the step's statistics combined over the ranks.
    private func finishStep(_ local: MethodLoss, features f: [Float], indices: [Int]) throws -> MethodLoss {
        try phases.time("communication") {
            epochBytesSent += try parallel.averageGradients(optimizer.groups.flatMap { $0.parameters.map(\.1) })
        }
        phases.time("optimizer") { optimizer.step() }
        let global = try phases.time("communication") { try parallel.gatherStep(features: f, indices: indices, records: local.records) }
        epochBytesSent += global.bytes
        let counts = try phases.time("state") { try method.finishStep(features: global.features, indices: global.indices, records: global.records) }
        var result = try phases.time("communication") { try parallel.combine(local) }
        result.counts.merge(counts, uniquingKeysWith: +)
        return result
    }

    /// The rest of a step with a mixing hook (Un-Mix): the mixed batch the hook draws for this
    /// global step (so a resumed run draws the same), its forward pass, the hook's loss, one
    /// backward through both graphs, and the rest of the step with the clean outputs' records.
    private func mixedStep(_ batch: Batch, clean: (output: Tensor, f: [Float]), mixing: any BatchMixing, epoch: Int,
                           precision: DType) throws -> MethodLoss {
        let mixture = mixing.mix(batch.images, shape: batch.shape, step: progress.globalStep)
        let (mixedOutput, fm) = try phases.time("forward") {
            let (_, output) = try model(try Tensor(shape: batch.shape, values: mixture.images), training: true, precision: precision)
            return (output, output.toArray())
        }
        guard fm.allSatisfy(\.isFinite) else {
            throw TrainingError.diverged("the network's output for the mixed batch became NaN or infinite at epoch \(epoch + 1); stopping. "
                + "The last good checkpoint is \(lastCheckpoint.path) (if any). Try a lower --lr or --precision fp32.")
        }
        let out = try phases.time("loss") {
            try mixing.loss(method: method, clean: clean.f, mixed: fm, indices: batch.indices, epoch: epoch + 1, mixture: mixture,
                            dimension: clean.output.shape[1])
        }
        let total = out.clean.loss + out.mixedLoss
        try phases.time("backward") { try attachAndBackward([(clean.output, out.clean.gradient), (mixedOutput, out.mixedGradient)], loss: total) }
        return try finishStep(MethodLoss(loss: total, terms: out.clean.terms + [out.mixedLoss], gradient: out.clean.gradient,
                                         counts: out.clean.counts, records: out.clean.records),
                              features: clean.f, indices: batch.indices)
    }

    /// Connects a loss computed outside the tensor graph (value and dL/doutput) and backpropagates.
    private func attachAndBackward(_ output: Tensor, shape: [Int], loss: Float, gradient: [Float]) throws {
        try attachAndBackward([(output, gradient)], loss: loss)
    }

    /// The same for several outputs of the network (Un-Mix: the clean and the mixed batch), each
    /// with its dL/doutput; one backward pass through both graphs.
    private func attachAndBackward(_ outputs: [(tensor: Tensor, gradient: [Float])], loss: Float) throws {
        let gradients = try outputs.map { try Tensor(shape: $0.tensor.shape, values: $0.gradient) }
        let value = Tensor.custom(value: Tensor.full([1], loss), inputs: outputs.map(\.tensor)) { seed in
            let s = seed.scalar
            return gradients.map { s == 1 ? $0 : Tensor.scale($0, by: s) }
        }
        try value.backward()
    }

    /// Names of the logged loss terms: the method's, then the mixing hook's when there is one.
    var lossTermNames: [String] { method.lossTermNames + (mixing.map { [$0.termName] } ?? []) }

    /// End of an epoch: kNN monitor, metrics line, checkpoints.
    private func finishEpoch(_ e: Int, steps: Int, precision: DType, observer: TrainingObserver?, elapsed: () -> Double) throws -> EpochRecord {
        var record = EpochRecord(epoch: e + 1, wallSeconds: 0, loss: progress.epochLossSums[0] / Double(steps),
                                 learningRate: Double(optimizer.learningRate),
                                 imagesPerSecond: Double(progress.epochImages) / max(progress.epochSeconds, 1e-9))
        for (name, sum) in zip(lossTermNames, progress.epochLossSums.dropFirst()) { record.lossTerms[name] = sum / Double(steps) }
        record.diagnostics = method.epochDiagnostics(epoch: e + 1, counts: progress.epochCounts ?? [:])
        try method.finishEpoch(e + 1)   // after its diagnostics, which may read the epoch's state
        if parallel.isDistributed {
            // Evaluation mode reads the running statistics: rank 0's, everywhere; then the ranks
            // prove they hold the same weights and state.
            try phases.time("communication") { try parallel.broadcastBuffers(model) }
            try parallel.checkAgreement(model: model, method: method, step: progress.globalStep, when: "after epoch \(e + 1)")
            record.diagnostics["communication_megabytes_per_step"] = Double(epochBytesSent) / Double(steps) / 1e6
            epochBytesSent = 0
        }
        let healthStarted = DispatchTime.now().uptimeNanoseconds
        var stopReason: String?
        if let health = try measureHealth(epoch: e + 1, precision: precision) {
            record.diagnostics.merge(health.diagnostics) { _, new in new }
            record.diagnostics["health_seconds"] = Double(DispatchTime.now().uptimeNanoseconds - healthStarted) / 1e9
            if let warning = health.collapseWarning { observer?.note("warning after epoch \(e + 1): \(warning)") }
            progress.healthHistory = (progress.healthHistory ?? []) + [health]
            if config.stopWhenStable == true, e + 1 < config.epochs, let reason = stoppingRule.decide(progress.healthHistory!) {
                stopReason = reason
            }
        }
        record.phaseSeconds = phases.seconds
        phases = PhaseClock()
        if let stopReason {
            progress.stoppedWhenStableAfter = e + 1
            observer?.note("--stop-when-stable: ending after epoch \(e + 1) of \(config.epochs): \(stopReason)")
        }
        let isLast = e + 1 == config.epochs || progress.globalStep >= stepLimit || progress.budgetEndedAtStep != nil || stopReason != nil
        if let step = progress.budgetEndedAtStep { record.diagnostics["budget_ended_at_step"] = Double(step) }
        if config.knnEvery > 0, (e + 1) % config.knnEvery == 0 || isLast {
            let started = DispatchTime.now().uptimeNanoseconds
            // With a validation split the monitor scores it; the test split is scored once, by
            // the final network, and only reported.
            var splits: [KNNSplit] = []
            if let validation { splits.append(KNNSplit(name: "validation", images: validation)) } else if let test { splits.append(KNNSplit(name: "test", images: test)) }
            if validation != nil, isLast, scoresTestAtEnd, let test { splits.append(KNNSplit(name: "test", images: test)) }
            let which = monitorFeatures
            // With both, the recomputed features (a forward pass over every training image, about
            // a fifth of an epoch) may be thinned out; a monitor without the bank needs them always.
            let recomputeDue = which == .recompute || isLast || (e + 1) % (config.knnRecomputeEvery ?? 1) == 0
            let scores = try knnMonitor(splits, precision: precision, bank: which != .recompute, recompute: which != .bank && recomputeDue,
                                        observer: observer)
            if let monitored = splits.first, let s = scores[monitored.name] {
                record.monitorSplit = monitored.name
                (record.knnTop1, record.knnTop5) = (s.bank?.top1, s.bank?.top5)
                (record.knnRecomputedTop1, record.knnRecomputedTop5) = (s.recomputed?.top1, s.recomputed?.top5)
            }
            if validation != nil, let s = scores["test"] {
                (record.testKnnTop1, record.testKnnTop5) = (s.bank?.top1, s.bank?.top5)
                (record.testKnnRecomputedTop1, record.testKnnRecomputedTop5) = (s.recomputed?.top1, s.recomputed?.top5)
            }
            record.monitorSeconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        }
        progress.startNextEpoch()
        progress.wallSeconds += elapsed()
        record.wallSeconds = progress.wallSeconds
        // The best checkpoint follows the monitor asked for: recomputed features when only they are measured.
        let score = monitorFeatures == .recompute ? record.knnRecomputedTop1 : record.knnTop1
        let improved = score.map { $0 > (progress.bestKNNTop1 ?? -1) } ?? false
        if improved { progress.bestKNNTop1 = score; progress.bestEpoch = e + 1 }
        try appendMetrics(record)
        try saveCheckpoint(to: lastCheckpoint)
        if improved { try saveCheckpoint(to: bestCheckpoint) }
        return record
    }

    /// The training features the monitor compares with: recomputed ones for a method without a
    /// bank; else as configured, by default the bank (the paper's monitor).
    var monitorFeatures: MonitorFeatures { method.memoryBank == nil ? .recompute : config.monitorFeatures ?? .bank }

    /// A labelled split the kNN monitor scores ("validation" or "test").
    struct KNNSplit {
        var name: String
        var images: any ImageDataset
    }

    /// kNN top-1 and top-5 in percent.
    typealias KNNScore = (top1: Double, top5: Double)

    /// Weighted kNN (K, σ) top-1/top-5 in percent of each split's features against the memory
    /// bank (the paper's monitor) and/or against training features recomputed with the evaluation
    /// transform (computed once for all splits). Splits without labels are left out.
    func knnMonitor(_ splits: [KNNSplit], precision: DType, bank useBank: Bool, recompute: Bool,
                    observer: TrainingObserver?) throws -> [String: (bank: KNNScore?, recomputed: KNNScore?)] {
        let labelled = splits.filter { $0.images.classCount != nil }
        guard !labelled.isEmpty, let labels = trainLabels.map({ $0.map { Int($0) } }) else { return [:] }
        let transform = try AugmentationPresets.pipeline(named: config.evalTransform)
        var recomputed: [Float]?
        if recompute {
            observer?.note("kNN monitor: features of \(train.count) training images")
            recomputed = try sharedHeadFeatures(train, transform: transform, precision: precision).head
        }
        let knn = WeightedKNN(k: min(config.knnK, train.count), temperature: config.knnTemperature)
        var result: [String: (bank: KNNScore?, recomputed: KNNScore?)] = [:]
        for split in labelled {
            observer?.note("kNN monitor: features of \(split.images.count) \(split.name) images")
            let features = try sharedHeadFeatures(split.images, transform: transform, precision: precision)
            // Rank 0 alone scores and writes the record.
            guard parallel.isPrimary, let splitLabels = features.labels else { continue }
            let classes = max(train.classCount ?? 0, split.images.classCount ?? 0)
            func score(_ reference: [Float]) throws -> KNNScore {
                let report = try knn.evaluate(train: reference, trainLabels: labels, test: features.head, testLabels: splitLabels,
                                              dimension: features.dimension, classCount: classes)
                return (report.top1 * 100, report.top5 * 100)
            }
            result[split.name] = (try method.memoryBank.flatMap { useBank ? try score($0.storage) : nil }, try recomputed.map(score))
        }
        return result
    }

    /// Head outputs [N, D] of every image of `dataset` in evaluation mode (or with each batch's
    /// statistics), and its labels: each rank computes a contiguous slice of the images and every
    /// rank receives them all.
    func sharedHeadFeatures(_ dataset: any ImageDataset, transform: AugmentationPipeline, precision: DType,
                            batchStatistics: Bool = false) throws -> (head: [Float], dimension: Int, labels: [Int]?) {
        let n = dataset.count, r = parallel.rank, size = parallel.size
        let slice = Array(n * r / size..<n * (r + 1) / size)
        let mine = try FeatureExtractor.extract(model: model, dataset: dataset, transform: transform, indices: slice, batchSize: 256,
                                                precision: precision, head: true, batchStatistics: batchStatistics, workers: config.workers)
        guard parallel.isDistributed else { return (mine.head ?? [], mine.headDimension, mine.labels) }
        let dimension = try parallel.communicator.allgatherValue(Int64(mine.headDimension)).max().map { Int($0) } ?? 0
        let head = try parallel.communicator.allgather(mine.head ?? [])
        let labels = try mine.labels.map { try parallel.communicator.allgather($0.map { Int64($0) }).map { Int($0) } }
        return (head, dimension, labels)
    }

    /// Writes the whole training state atomically (temporary file, fsync, rename); rank 0 alone
    /// writes in a data-parallel run (every rank holds the same state).
    func saveCheckpoint(to url: URL) throws {
        guard parallel.isPrimary else { return }
        let archive = try Checkpoint.archive(config: config, progress: progress, model: model, optimizer: optimizer,
                                             method: method)
        try archive.write(to: url.path)
    }

    private func appendMetrics(_ record: EpochRecord) throws {
        guard parallel.isPrimary else { return }
        try appendJSONLine(record, to: metricsFile)
    }

    /// The unit of each diagnostic that has one: the method's and the trainer's own.
    public var diagnosticUnits: [String: String] {
        method.diagnosticUnits.merging(Self.trainerDiagnosticUnits) { _, trainer in trainer }
    }

    /// Units of the diagnostics the trainer adds itself (timing, health, communication).
    static let trainerDiagnosticUnits = [
        "health_seconds": DiagnosticUnit.seconds, "health_neighbour_stability": DiagnosticUnit.fraction,
        "communication_megabytes_per_step": "MB",
    ]

    /// `metric-units.json` beside the metrics, written at the start of a run (or of its resume),
    /// so the report can label its axes (sorted keys, atomic).
    private func writeMetricUnits() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        try encoder.encode(diagnosticUnits).write(to: runDirectory.appendingPathComponent(RunFileName.metricUnits), options: .atomic)
    }
}

/// Appends `value` as one line of JSON (sorted keys) to the JSON-lines file at `url`, creating
/// it if needed (metrics.jsonl, tune.jsonl): what was written survives an interruption.
public func appendJSONLine(_ value: some Encodable, to url: URL) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    var line = try encoder.encode(value)
    line.append(0x0A)
    if let handle = try? FileHandle(forWritingTo: url) {
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: line)
    } else {
        try line.write(to: url)
    }
}

/// Accumulates wall-clock seconds per named phase of the training step.
struct PhaseClock {
    /// Seconds per phase name.
    private(set) var seconds: [String: Double] = [:]

    /// Runs `body` and adds its duration to `phase`.
    mutating func time<T>(_ phase: String, _ body: () throws -> T) rethrows -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        defer { seconds[phase, default: 0] += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        return try body()
    }
}

/// Writes `data` to `url` through a temporary file and a rename, so readers never see half a file.
func writeAtomically(_ data: Data, to url: URL) throws {
    let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp")
    try data.write(to: temporary)
    guard rename(temporary.path, url.path) == 0 else {
        throw TrainingError.corrupt(path: url.path, reason: "cannot replace the file: \(String(cString: strerror(errno)))")
    }
}
