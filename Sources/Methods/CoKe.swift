import NN
import Randomness
import Tensors

/// CoKe's options; defaults are the authors' published single-view script except the numbers of
/// clusters, whose ImageNet values (3000, 4000, 5000 for 1.28 M images) are chosen per dataset
/// on a validation split (docs/methods.md).
public struct CoKeConfig: Sendable, Codable, Equatable {
    /// K of every clustering head.
    public var clusters: [Int] = [100, 150, 200]
    /// T of the logits f·C/T.
    public var temperature: Float = 0.1
    /// η, the step of the dual variables.
    public var dualLearningRate: Float = 20
    /// r: every cluster keeps at least r/K of the data.
    public var ratio: Float = 0.4
    /// β, the weight of the predictor's term (1 − β: the encoder's own term).
    public var beta: Float = 1
    /// Hidden width of the predictor (nil: the backbone's feature width, as the authors' dim_mlp).
    public var predictorWidth: Int?
    /// When true, a BatchNorm1d(D) on the encoder's output before the assignment, the loss and
    /// the predictor, as the authors' encoder ends in one (`--coke-encoder-norm`; nil: off, and
    /// what configurations written before the option decode to).
    public var encoderNorm: Bool?

    /// The defaults.
    public init() {}

    /// Throws naming the option out of range, for `count` training images.
    public func validate(datasetSize count: Int) throws {
        func fail(_ m: String) -> Error { MethodsError.invalidConfiguration(m) }
        guard !clusters.isEmpty, clusters.allSatisfy({ $0 >= 2 }) else { throw fail("--coke-clusters needs one or more K ≥ 2, got \(clusters)") }
        if let k = clusters.first(where: { $0 > count }) {
            throw fail("--coke-clusters \(k) is larger than the number of training images (\(count))")
        }
        guard temperature > 0, temperature.isFinite else { throw fail("--coke-temperature must be > 0, got \(temperature)") }
        guard dualLearningRate > 0, dualLearningRate.isFinite else { throw fail("--coke-dual-lr must be > 0, got \(dualLearningRate)") }
        guard ratio > 0, ratio < 1 else { throw fail("--coke-ratio must be in (0, 1), got \(ratio)") }
        guard (0...1).contains(beta) else { throw fail("--coke-beta must be in [0, 1], got \(beta)") }
        if let predictorWidth, !(1...Self.maxPredictorWidth).contains(predictorWidth) {
            throw fail("--predictor-width must be in 1…\(Self.maxPredictorWidth), got \(predictorWidth)")
        }
    }

    /// Largest predictor hidden width accepted: 65 536, so a checkpoint's configuration cannot
    /// make the predictor allocate without bound (a forged width of 2⁴⁰ asked for 64 TB; found
    /// through Fuzz/).
    public static let maxPredictorWidth = 65_536
}

/// CoKe's layers: the optional batch norm on the encoder's output (`encoder_norm`, [D]) and the
/// predictor under it.
public final class CoKeLayers: Layer {
    /// BatchNorm1d(D) on the encoder's output, when `CoKeConfig.encoderNorm` is set.
    public let encoderNorm: BatchNorm2d?
    /// The predictor MLP.
    public let predictor: CoKePredictor

    /// The predictor, and the encoder's batch norm when `encoderNorm`.
    public init(dimension: Int, hidden: Int, encoderNorm: Bool, seed: UInt64) {
        self.encoderNorm = encoderNorm ? BatchNorm2d(dimension) : nil
        predictor = CoKePredictor(dimension: dimension, hidden: hidden, seed: seed)
    }

    /// The encoder's output x: [B, D] through the batch norm (training mode), or x itself.
    public func normalizeEncoder(_ x: Tensor) throws -> Tensor {
        guard let encoderNorm else { return x }
        let (b, d) = (x.shape[0], x.shape[1])
        return try Tensor.reshape(encoderNorm(Tensor.reshape(x, [b, d, 1, 1]), training: true), [b, d])
    }

    /// Weights and biases of every layer (the predictor's names carry their own prefix).
    public var namedParameters: [(String, Tensor)] { prefixed("encoder_norm", encoderNorm?.namedParameters ?? []) + predictor.namedParameters }
    /// The batch norms' running statistics.
    public var namedBuffers: [(String, Tensor)] { prefixed("encoder_norm", encoderNorm?.namedBuffers ?? []) + predictor.namedBuffers }
    /// The batch norms' `num_batches_tracked`.
    public var namedCounters: [(String, Int)] { prefixed("encoder_norm", encoderNorm?.namedCounters ?? []) + predictor.namedCounters }
    /// Sets `encoder_norm.num_batches_tracked` or the predictor's counter.
    public func setCounter(_ name: String, _ value: Int) {
        let prefix = "encoder_norm."
        if name.hasPrefix(prefix) { encoderNorm?.setCounter(String(name.dropFirst(prefix.count)), value) } else { predictor.setCounter(name, value) }
    }
}

/// CoKe's predictor, Linear(D, H) → BatchNorm1d(H) → ReLU → Linear(H, D), under the authors'
/// names (`predictor.0`, `predictor.1`, `predictor.3`).
public final class CoKePredictor: Layer {
    let first: Linear, norm: BatchNorm2d, second: Linear

    /// A predictor for D-wide features with H hidden units, PyTorch's default initialisation.
    public init(dimension: Int, hidden: Int, seed: UInt64) {
        var generator = SeededGenerator(seed: seed, streams: [0x434F_4B45_5052_4544])   // "COKEPRED"
        first = Linear(dimension, hidden, generator: &generator)
        norm = BatchNorm2d(hidden)
        second = Linear(hidden, dimension, generator: &generator)
    }

    /// p = predictor(x) for x: [B, D] (training mode: batch statistics, running ones updated).
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        let h = try first(x)
        let b = h.shape[0], hidden = h.shape[1]
        let normalised = try norm(Tensor.reshape(h, [b, hidden, 1, 1]), training: true, relu: true)
        return try second(Tensor.reshape(normalised, [b, hidden]))
    }

    private var children: [(String, any Layer)] { [("predictor.0", first), ("predictor.1", norm), ("predictor.3", second)] }
    /// Weights and biases of the three layers.
    public var namedParameters: [(String, Tensor)] { children.flatMap { prefixed($0.0, $0.1.namedParameters) } }
    /// The batch norm's running statistics.
    public var namedBuffers: [(String, Tensor)] { children.flatMap { prefixed($0.0, $0.1.namedBuffers) } }
    /// The batch norm's `num_batches_tracked`.
    public var namedCounters: [(String, Int)] { children.flatMap { prefixed($0.0, $0.1.namedCounters) } }
    /// Sets `predictor.1.num_batches_tracked`.
    public func setCounter(_ name: String, _ value: Int) {
        let prefix = "predictor.1."
        if name.hasPrefix(prefix) { norm.setCounter(String(name.dropFirst(prefix.count)), value) }
    }
}

/// CoKe, online constrained k-means (Qian et al., CVPR 2022), single view, as idstcv/CoKe's
/// `builder_single_view.py` and `main_single_view.py` train it in their first stage. Per step:
/// the targets are the assignments of the previous epoch (in the first epoch, the ones just
/// made); each head assigns the batch to its current centres plus duals (`computeLoss`), then
/// moves its duals and centres (`finishStep`, with the global batch as the authors' all-gather
/// gives it; the loss reads only the previous centres, so the order is theirs). The loss is the cross-entropy of the
/// predictor's (and, with β < 1, the encoder's) normalised outputs against the previous epoch's
/// centres. The first epoch trains nothing (learning rate 0); at each epoch's end the current
/// centres become the previous ones.
public final class CoKe: TrainingMethod {
    /// The options.
    public let config: CoKeConfig
    /// One clustering state per head.
    public private(set) var heads: [ConstrainedClusters]
    /// The predictor MLP and the optional batch norm on the encoder's output.
    public let layers: CoKeLayers
    private let datasetSize: Int
    /// The last batch's encoder output after the batch norm, [B, D], which `finishStep` moves
    /// the centres with (empty without the norm: it uses the features it is given).
    private var lastNormalizedOutputs: [Float] = []

    /// A method for `datasetSize` images of `dimension`-wide outputs; `backboneWidth` is the
    /// predictor's default hidden width.
    public init(config: CoKeConfig, datasetSize: Int, dimension: Int, backboneWidth: Int, seed: UInt64) throws {
        try config.validate(datasetSize: datasetSize)
        self.config = config
        self.datasetSize = datasetSize
        var generator = SeededGenerator(seed: seed, streams: [0x434F_4B45])   // "COKE"
        heads = config.clusters.map { ConstrainedClusters(clusterCount: $0, dimension: dimension, datasetSize: datasetSize, generator: &generator) }
        layers = CoKeLayers(dimension: dimension, hidden: config.predictorWidth ?? backboneWidth,
                            encoderNorm: config.encoderNorm ?? false, seed: seed)
    }

    /// The registry's constructor.
    convenience init(setup: MethodSetup) throws {
        try self.init(config: setup.options.coke ?? CoKeConfig(), datasetSize: setup.datasetSize, dimension: setup.dimension,
                      backboneWidth: setup.backboneWidth, seed: setup.seed)
    }

    // MARK: TrainingMethod

    /// The one term: cross-entropy against the assignments.
    public var lossTermNames: [String] { ["cluster"] }

    /// No memory bank: the monitor recomputes training features.
    public var memoryBank: MemoryBank? { nil }

    /// The predictor (and the encoder's batch norm).
    public var module: MethodModule? { MethodModule(layer: layers) }

    /// Nothing is trained in the first epoch, where the first centres form.
    public func learningRateScale(epoch: Int) -> Float { epoch == 1 ? 0 : 1 }

    /// Targets, the heads' online assignment and updates, the loss; dL/df adds the predictor's
    /// backward pass to the encoder term's gradient.
    public func computeLoss(features: [Float], indices: [Int], epoch: Int) throws -> MethodLoss {
        let d = heads[0].dimension
        let b = try validateBatch(features: features, indices: indices, dimension: d, datasetSize: datasetSize)
        let x = try Tensor(shape: [b, d], values: features, requiresGrad: true)
        // y: [B, D], the encoder's output as the method sees it (x itself without the norm).
        let y = try layers.normalizeEncoder(x)
        let encoded = y.toArray()
        if layers.encoderNorm != nil { lastNormalizedOutputs = encoded }
        let p = try layers.predictor(y)
        let xp = l2NormalizeRows(encoded, rows: b, dimension: d).v
        // Each head's assignment is row by row (centres plus duals), so this rank's rows of the
        // global batch's assignment; the duals and centres move in `finishStep`.
        let labels = heads.map { $0.assign(xp) }
        let targets = epoch == 1 ? labels : heads.map { head in indices.map { head.assignments[$0] } }
        let out = CoKeLoss.evaluate(encoder: encoded, predictor: p.toArray(), heads: heads, targets: targets,
                                    temperature: config.temperature, beta: config.beta)
        // dL/dx: the loss's own term at y and the predictor's, both through the norm when there is one.
        try backpropagate([p, y], gradients: [out.gradPredictor, out.gradEncoder])
        let gradient = x.grad?.toArray() ?? [Float](repeating: 0, count: b * d)
        // Records [B, H]: row r holds sample r's label under each head.
        let records = (0..<b).flatMap { r in labels.map { $0[r] } }
        return MethodLoss(loss: out.loss, terms: [out.loss], gradient: gradient, records: records)
    }

    /// Labels of a sample under each head.
    public var recordWidth: Int { heads.count }

    /// Each head's duals, centres and assignments move with the global batch's labels `records`
    /// [B, H], as the authors' forward moves them after the assignment.
    public func finishStep(features: [Float], indices: [Int], records: [Int32]) throws -> [String: Double] {
        let d = heads[0].dimension, h = heads.count
        let b = try validateBatch(features: features, indices: indices, dimension: d, datasetSize: datasetSize)
        guard records.count == b * h else {
            throw MethodsError.invalidInput("CoKe: \(records.count) records for a batch of \(b) and \(h) heads")
        }
        let xp = l2NormalizeRows(try encoderOutputs(features), rows: b, dimension: d).v
        var changed = 0
        for j in heads.indices {
            let labels = (0..<b).map { records[$0 * h + j] }
            if j == 0 { changed = zip(indices, labels).filter { heads[0].assignments[$0] != $1 }.count }
            heads[j].update(xp, labels: labels, dualRate: config.dualLearningRate, ratio: config.ratio)
            for (i, label) in zip(indices, labels) { heads[j].assignments[i] = label }
        }
        return ["labels_changed": Double(changed), "labels_seen": Double(b)]
    }

    /// The encoder outputs the centres move with: `features` itself, or with the encoder's batch
    /// norm, the last batch's normalised outputs (one process only: another rank's rows never
    /// pass through this process's norm).
    private func encoderOutputs(_ features: [Float]) throws -> [Float] {
        guard layers.encoderNorm != nil else { return features }
        guard lastNormalizedOutputs.count == features.count else {
            throw MethodsError.invalidInput("--coke-encoder-norm trains on one process only: the step's batch has \(features.count) "
                                            + "values, this process normalised \(lastNormalizedOutputs.count)")
        }
        return lastNormalizedOutputs
    }

    /// The centres start random (the authors'); nothing to take from the initial network.
    public func start(fromFeatures features: [Float]) throws {}

    /// The current centres become the previous ones.
    public func finishEpoch(_ epoch: Int) throws {
        for j in heads.indices { heads[j].finishEpoch() }
    }

    /// For the first head: its smallest and largest cluster this epoch, the smallest against
    /// the constraint's bound r·n/K (n: the images assigned this epoch), and the share of
    /// images whose assignment changed from the previous epoch.
    public func epochDiagnostics(epoch: Int, counts: [String: Double]) -> [String: Double] {
        let sizes = heads[0].counters, assigned = Double(sizes.reduce(0, +))
        var result = ["cluster_size_min": Double(sizes.min() ?? 0), "cluster_size_max": Double(sizes.max() ?? 0)]
        if assigned > 0 {
            result["cluster_min_over_bound"] = Double(sizes.min() ?? 0) / (Double(config.ratio) * assigned / Double(heads[0].clusterCount))
        }
        // The first epoch's assignments start from random centres: their changes say nothing.
        if epoch > 1, let seen = counts["labels_seen"], seen > 0 { result["labels_changed"] = (counts["labels_changed"] ?? 0) / seen }
        return result
    }

    /// Sizes in images, changed labels as a fraction; the smallest cluster over its bound is a ratio.
    public var diagnosticUnits: [String: String] {
        ["cluster_size_min": DiagnosticUnit.images, "cluster_size_max": DiagnosticUnit.images,
         "labels_changed": DiagnosticUnit.fraction]
    }

    /// Per head j: `centres_previous.j`, `centres_current.j` [D, K_j], `duals.j`, `counters.j`
    /// [K_j]; and `assignments` [H, N].
    public func stateTensors() -> [String: MethodStateTensor] {
        var state: [String: MethodStateTensor] = ["assignments": .int32s(heads.flatMap(\.assignments), shape: [heads.count, datasetSize])]
        for (j, head) in heads.enumerated() {
            state["centres_previous.\(j)"] = .floats(head.previousCentres, shape: [head.dimension, head.clusterCount])
            state["centres_current.\(j)"] = .floats(head.currentCentres, shape: [head.dimension, head.clusterCount])
            state["duals.\(j)"] = .floats(head.duals, shape: [head.clusterCount])
            state["counters.\(j)"] = .floats(head.counters, shape: [head.clusterCount])
        }
        return state
    }

    /// Checks every tensor, then restores them.
    public func restoreState(_ tensors: [String: MethodStateTensor]) throws {
        func floats(_ name: String, _ shape: [Int]) throws -> [Float] {
            // The count is checked against the shape too: a caller can pair any array with any
            // shape, and a short one would be read past its end later.
            guard case .floats(let values, shape)? = tensors[name], values.count == shape.reduce(1, *) else {
                throw MethodsError.invalidInput("the checkpoint lacks method.\(name) as float32 \(shape)")
            }
            guard values.allSatisfy(\.isFinite) else {
                throw MethodsError.invalidInput("method.\(name) contains non-finite values")
            }
            return values
        }
        guard case .int32s(let all, [heads.count, datasetSize])? = tensors["assignments"], all.count == heads.count * datasetSize else {
            throw MethodsError.invalidInput("the checkpoint lacks method.assignments as int32 [\(heads.count), \(datasetSize)]")
        }
        var restored = heads
        for j in heads.indices {
            let (d, k) = (heads[j].dimension, heads[j].clusterCount)
            restored[j].previousCentres = try floats("centres_previous.\(j)", [d, k])
            restored[j].currentCentres = try floats("centres_current.\(j)", [d, k])
            restored[j].duals = try floats("duals.\(j)", [k])
            restored[j].counters = try floats("counters.\(j)", [k])
            restored[j].assignments = Array(all[j * datasetSize..<(j + 1) * datasetSize])
            if let bad = restored[j].assignments.first(where: { !(0..<Int32(k)).contains($0) }) {
                throw MethodsError.invalidInput("method.assignments row \(j) holds cluster \(bad), outside 0..<\(k)")
            }
        }
        heads = restored
    }
}

/// Backpropagates dL/dy_i (`gradients[i]`, y_i's shape) from tensors computed outside the loss,
/// so that the layers and leaves under them accumulate their gradients.
func backpropagate(_ outputs: [Tensor], gradients: [[Float]]) throws {
    let g = try zip(outputs, gradients).map { try Tensor(shape: $0.shape, values: $1) }
    let root = Tensor.custom(value: Tensor.full([1], 0), inputs: outputs) { _ in g }
    try root.backward()
}
