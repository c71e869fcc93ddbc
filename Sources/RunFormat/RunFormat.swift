import Foundation

// The run-file format in one place: the files of a run directory, the checkpoint's keys and the
// metrics record's keys. Training writes them; Evaluation, Report and the CLI read them.

/// The files of a run directory.
public enum RunFileName {
    /// The resolved configuration (JSON).
    public static let config = "config.json"
    /// One JSON object per epoch.
    public static let metrics = "metrics.jsonl"
    /// The latest complete training state.
    public static let lastCheckpoint = "checkpoint-last.safetensors"
    /// The training state of the best monitored epoch.
    public static let bestCheckpoint = "checkpoint-best.safetensors"
    /// The checkpoints in the order `invprop eval RUN` prefers them.
    public static let checkpointsByPreference = [bestCheckpoint, lastCheckpoint]
    /// The unit of each diagnostic in `metrics.jsonl` that has one, by key (a JSON object of
    /// strings, written when a run starts or resumes); older runs have none.
    public static let metricUnits = "metric-units.json"
    /// The 2-D map of the embeddings (PCA) that `invprop report` draws.
    public static let embeddingMap = "embedding-map.json"
}

/// Keys of a training checkpoint (a safetensors file).
public enum CheckpointKey {
    /// The value of metadata `format` in every training checkpoint.
    public static let format = "invprop-checkpoint-1"
    /// Metadata keys: the format tag, the configuration (JSON) and the progress (JSON).
    public static let formatMetadata = "format", configMetadata = "config", progressMetadata = "progress"
    /// Tensor-name prefixes of the optimizer's momentum buffers and of the method's state
    /// (`method.<name>`, e.g. `method.bank` [N, D], `method.table` [N, k]).
    public static let momentumPrefix = "optimizer.momentum.", methodPrefix = "method."
    /// Tensor-name prefix of a method's own trainable layers (`method_module.head.fc_cls.weight`):
    /// strip it to load them into the authors' modules.
    public static let methodModulePrefix = "method_module."
    /// The memory bank and InvP's neighbour table, as evaluation reads them.
    public static let bank = methodPrefix + "bank", neighbourTable = methodPrefix + "table"
    /// Prefixes that are not network weights (left out of a strict state-dict load).
    public static let nonModelPrefixes = ["optimizer.", methodPrefix, methodModulePrefix, "__check__."]
}

/// The keys of `metrics.jsonl` lines, with their meaning.
public enum MetricKey {
    /// 1-based epoch number.
    public static let epoch = "epoch"
    /// Cumulative wall-clock seconds since training started.
    public static let wallSeconds = "wall_seconds"
    /// Total loss.
    public static let loss = "loss"
    /// Instance-discrimination term of the loss.
    public static let lossInstance = "loss_instance"
    /// Invariance-propagation term of the loss.
    public static let lossInvariance = "loss_invariance"
    /// Learning rate at the end of the epoch.
    public static let learningRate = "learning_rate"
    /// Training throughput.
    public static let imagesPerSecond = "images_per_second"
    /// Which split the kNN fields scored: "validation" or "test" (a string).
    public static let monitorSplit = "monitor_split"
    /// Weighted-kNN top-1 accuracy in percent.
    public static let knnTop1 = "knn_top1"
    /// Weighted-kNN top-5 accuracy in percent.
    public static let knnTop5 = "knn_top5"
    /// Weighted-kNN top-1 accuracy in percent against training features recomputed with the evaluation transform.
    public static let knnRecomputedTop1 = "knn_recomputed_top1"
    /// The one test-split kNN top-1 (percent) of a run with a validation split: bank and recomputed features.
    public static let testKnnTop1 = "test_knn_top1", testKnnRecomputedTop1 = "test_knn_recomputed_top1"
    /// The top-5 counterparts of the kNN keys above.
    public static let knnRecomputedTop5 = "knn_recomputed_top5", testKnnTop5 = "test_knn_top5", testKnnRecomputedTop5 = "test_knn_recomputed_top5"
    /// Seconds in the kNN monitor, and seconds per step phase (an object).
    public static let monitorSeconds = "monitor_seconds", phaseSeconds = "phase_seconds"
    /// Prefix of a method's loss term (`loss_<name>`); every other unknown number is a diagnostic.
    public static let lossTermPrefix = "loss_"
    /// Fraction of propagated positive candidates sharing the anchor's label.
    public static let purityCandidates = "purity_candidates"
    /// Fraction of hard positives sharing the anchor's label.
    public static let purityHard = "purity_hard"
    /// Weight of the invariance term (ramped in by the schedule).
    public static let invarianceWeight = "invariance_weight"
}
