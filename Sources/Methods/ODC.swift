/// ODC's options; defaults are mmselfsup's ODC configuration except K, whose ImageNet value
/// (10 000 for 1.28 M images) is chosen per dataset on a validation split (docs/methods.md).
public struct ODCConfig: Sendable, Codable, Equatable {
    /// K, the number of clusters.
    public var clusters: Int = 100
    /// Clusters with fewer members are dissolved and refilled every step.
    public var minimumClusterSize: Int = 20
    /// Centroids are recomputed from the samples memory every this many steps.
    public var centroidInterval: Int = 10
    /// m in memory ← normalise((1 − m)·memory + m·f/‖f‖).
    public var memoryMomentum: Float = 0.5
    /// The exponent of the class re-weighting, w_c ∝ (1 / count_c)^power.
    public var reweightPower: Float = 0.5
    /// SGD momentum of the classification head (0 in mmselfsup's configuration).
    public var headMomentum: Float = 0

    /// The defaults.
    public init() {}

    /// Throws naming the option out of range, for `count` training images.
    public func validate(datasetSize count: Int) throws {
        func fail(_ m: String) -> Error { MethodsError.invalidConfiguration(m) }
        guard clusters >= 2 else { throw fail("--clusters must be ≥ 2, got \(clusters)") }
        guard clusters <= count else { throw fail("--clusters \(clusters) is larger than the number of training images (\(count))") }
        guard minimumClusterSize >= 1, minimumClusterSize <= count / clusters else {
            throw fail("--min-cluster-size must be in 1...\(count / clusters) (N/K = \(count)/\(clusters)), got \(minimumClusterSize)")
        }
        guard centroidInterval >= 1 else { throw fail("--centroid-interval must be ≥ 1, got \(centroidInterval)") }
        guard memoryMomentum > 0, memoryMomentum <= 1 else { throw fail("--odc-memory-momentum must be in (0, 1], got \(memoryMomentum)") }
        guard reweightPower >= 0, reweightPower.isFinite else { throw fail("--reweight-power must be ≥ 0, got \(reweightPower)") }
        guard (0..<1).contains(headMomentum) else { throw fail("--head-momentum must be in [0, 1), got \(headMomentum)") }
    }
}

/// Online Deep Clustering (Zhan et al., CVPR 2020) as mmselfsup trains it. Start: k-means of the
/// initial network's normalised outputs gives every image a pseudo-label. Per step: the head's
/// class-weighted cross-entropy against the current labels (`computeLoss`); after the optimizer
/// step (`finishStep`), the samples memory moves towards the new outputs and every image of the
/// batch takes its nearest centroid's label (mmselfsup does both in the forward pass, after the
/// loss), then the centroids every `centroidInterval` steps, the small-cluster rule, and new
/// class weights.
public final class OnlineDeepClustering: TrainingMethod {
    /// The options.
    public let config: ODCConfig
    /// The samples memory [N, D]: normalised outputs, moved with momentum.
    public let bank: MemoryBank
    /// Pseudo-labels and centroids.
    public private(set) var clusters: OnlineClusters
    /// The classification head (K logits).
    public let head: ClusterHead
    /// Class weights of the loss, [K], from the current cluster sizes.
    public private(set) var classWeights: [Float]
    /// Steps taken (for the centroid interval).
    private var stepCount = 0
    /// Seed of the head's start and of k-means.
    private let seed: UInt64

    /// A method for `datasetSize` images of `dimension`-wide outputs; labels are all 0 until
    /// `start(fromFeatures:)` clusters the initial network's outputs.
    public init(config: ODCConfig, datasetSize: Int, dimension: Int, seed: UInt64) throws {
        try config.validate(datasetSize: datasetSize)
        self.config = config
        bank = try MemoryBank(count: datasetSize, dimension: dimension, momentum: 1 - config.memoryMomentum, seed: seed)
        clusters = OnlineClusters(labels: [Int32](repeating: 0, count: datasetSize), clusterCount: config.clusters,
                                  memory: bank.storage, dimension: dimension)
        head = ClusterHead(dimension: dimension, clusters: config.clusters, seed: seed)
        classWeights = clusters.lossWeights(power: config.reweightPower)
        self.seed = seed
    }

    /// The registry's constructor.
    convenience init(setup: MethodSetup) throws {
        try self.init(config: setup.options.odc ?? ODCConfig(), datasetSize: setup.datasetSize, dimension: setup.dimension, seed: setup.seed)
    }

    // MARK: TrainingMethod

    /// The one term: the re-weighted cross-entropy against the pseudo-labels.
    public var lossTermNames: [String] { ["cluster"] }

    /// The samples memory (the kNN monitor scores it like a memory bank).
    public var memoryBank: MemoryBank? { bank }

    /// The head, with its own momentum.
    public var module: MethodModule? { MethodModule(layer: head, momentum: config.headMomentum) }

    /// ODC always starts from k-means of the initial network's outputs.
    public var requiresFeatureStart: Bool { true }

    /// Loss and dL/df against the current labels (the state is left alone: `finishStep` moves it).
    public func computeLoss(features: [Float], indices: [Int], epoch: Int) throws -> MethodLoss {
        _ = try validateBatch(features: features, indices: indices, dimension: bank.dimension, datasetSize: bank.count)
        let targets = indices.map { clusters.labels[$0] }
        let (loss, gradient) = head.weightedCrossEntropy(features: features, targets: targets, classWeights: classWeights)
        return MethodLoss(loss: loss, terms: [loss], gradient: gradient)
    }

    /// After the optimizer step, as mmselfsup's forward and hook do: the memory rows and labels of
    /// the batch, then the centroids every `centroidInterval` steps, small clusters, weights.
    /// (mmselfsup moves the memory inside the forward pass, after the loss; nothing between the
    /// loss and this call reads the memory, so the order is the same.)
    public func finishStep(features: [Float], indices: [Int], records: [Int32]) throws -> [String: Double] {
        let changed = try moveMemory(features: features, indices: indices)
        afterIteration()
        return ["labels_changed": Double(changed), "labels_seen": Double(indices.count)]
    }

    /// The forward pass's part: the memory rows of the batch move towards f: [B, D], and each
    /// image takes its nearest centroid's label; returns how many labels changed.
    func moveMemory(features: [Float], indices: [Int]) throws -> Int {
        try bank.update(indices: indices, features: features)
        return clusters.relabel(indices: indices, memory: bank.storage)
    }

    /// The hook's part: centroids every `centroidInterval` steps, small clusters, weights.
    func afterIteration() {
        stepCount += 1
        if stepCount % config.centroidInterval == 0 { clusters.recomputeCentroids(memory: bank.storage) }
        clusters.handleSmallClusters(minimumSize: config.minimumClusterSize, memory: bank.storage)
        classWeights = clusters.lossWeights(power: config.reweightPower)
    }

    /// The memory from the outputs [N, D]; labels from k-means of the normalised rows (one
    /// k-means++ start, at most 30 Lloyd iterations); an empty cluster takes half of the largest.
    public func start(fromFeatures features: [Float]) throws {
        try bank.fill(features: features)
        let kmeans = try KMeans(clusterCount: config.clusters, restarts: 1, maxIterations: 30, seed: seed)
            .fit(bank.storage, dimension: bank.dimension)
        try start(fromFeatures: features, labels: kmeans.assignments.map { Int32($0) })
    }

    /// The memory from the outputs [N, D] and the given labels [N] (k-means' or a test's); an
    /// empty cluster takes half of the largest.
    public func start(fromFeatures features: [Float], labels: [Int32]) throws {
        guard labels.count == bank.count, labels.allSatisfy({ (0..<Int32(config.clusters)).contains($0) }) else {
            throw MethodsError.invalidInput("ODC start: \(labels.count) labels for \(bank.count) images, each must be in 0..<\(config.clusters)")
        }
        try bank.fill(features: features)
        clusters = OnlineClusters(labels: labels, clusterCount: config.clusters, memory: bank.storage, dimension: bank.dimension)
        for (k, size) in clusters.counts.enumerated() where size == 0 { clusters.splitLargest(into: k, memory: bank.storage) }
        classWeights = clusters.lossWeights(power: config.reweightPower)
    }

    /// The share of labels that changed in the epoch's steps, and the cluster sizes at its end.
    public func epochDiagnostics(epoch: Int, counts: [String: Double]) -> [String: Double] {
        let sizes = clusters.counts
        var result = ["cluster_size_min": Double(sizes.min() ?? 0), "cluster_size_max": Double(sizes.max() ?? 0),
                      "clusters_empty": Double(sizes.filter { $0 == 0 }.count)]
        if let seen = counts["labels_seen"], seen > 0 { result["labels_changed"] = (counts["labels_changed"] ?? 0) / seen }
        return result
    }

    /// Sizes in images, empty clusters counted, changed labels as a fraction of the epoch's images.
    public var diagnosticUnits: [String: String] {
        ["cluster_size_min": DiagnosticUnit.images, "cluster_size_max": DiagnosticUnit.images,
         "clusters_empty": DiagnosticUnit.clusters, "labels_changed": DiagnosticUnit.fraction]
    }

    /// `bank` [N, D], `labels` [N], `centroids` [K, D] and `steps` [1].
    public func stateTensors() -> [String: MethodStateTensor] {
        ["bank": bank.stateTensor, "labels": .int32s(clusters.labels, shape: [bank.count]),
         "centroids": .floats(clusters.centroids, shape: [config.clusters, bank.dimension]),
         "steps": .int32s([Int32(truncatingIfNeeded: stepCount)], shape: [1])]
    }

    /// Checks every tensor, then restores them; the class weights follow from the labels.
    public func restoreState(_ tensors: [String: MethodStateTensor]) throws {
        let memory = try bank.values(from: tensors["bank"], name: "bank")
        // Counts are checked against the shapes too: a caller can pair any array with any shape.
        guard case .int32s(let labels, [bank.count])? = tensors["labels"], labels.count == bank.count else {
            throw MethodsError.invalidInput("the checkpoint lacks method.labels as int32 [\(bank.count)]")
        }
        if let bad = labels.first(where: { !(0..<Int32(config.clusters)).contains($0) }) {
            throw MethodsError.invalidInput("method.labels holds cluster \(bad), outside 0..<\(config.clusters)")
        }
        guard case .floats(let centroids, [config.clusters, bank.dimension])? = tensors["centroids"],
              centroids.count == config.clusters * bank.dimension else {
            throw MethodsError.invalidInput("the checkpoint lacks method.centroids as float32 [\(config.clusters), \(bank.dimension)]")
        }
        guard centroids.allSatisfy(\.isFinite) else {
            throw MethodsError.invalidInput("method.centroids contains non-finite values")
        }
        guard case .int32s(let steps, [1])? = tensors["steps"], steps.count == 1 else {
            throw MethodsError.invalidInput("the checkpoint lacks method.steps as int32 [1]")
        }
        guard steps[0] >= 0 else { throw MethodsError.invalidInput("method.steps is \(steps[0]), expected ≥ 0") }
        try bank.restore(memory)
        clusters.labels = labels
        clusters.centroids = centroids
        stepCount = Int(steps[0])
        classWeights = clusters.lossWeights(power: config.reweightPower)
    }
}
