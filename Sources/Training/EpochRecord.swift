import Foundation

/// One line of `metrics.jsonl`: what an epoch did (absent values are omitted).
public struct EpochRecord: Codable, Equatable, Sendable {
    /// Epoch number (1-based) and cumulative wall-clock seconds at its end (evaluation included).
    public var epoch: Int, wallSeconds: Double
    /// Mean loss over the epoch's steps.
    public var loss: Double
    /// Mean of each of the method's loss terms, by name (written as `loss_<name>`, e.g. `loss_instance`).
    public var lossTerms: [String: Double] = [:]
    /// The method's diagnostics of the epoch, by name (written under their names, e.g.
    /// `invariance_weight`, `purity_hard`).
    public var diagnostics: [String: Double] = [:]
    /// Learning rate at the end of the epoch.
    public var learningRate: Double
    /// Training throughput of the whole loop (loading, network, memory bank), images/s.
    public var imagesPerSecond: Double
    /// Which split the kNN monitor scored: "validation" (held-out training images) or "test".
    public var monitorSplit: String?
    /// kNN monitor top-1/top-5 in percent (bank features vs the monitored split's features).
    public var knnTop1: Double?, knnTop5: Double?
    /// kNN top-1/top-5 in percent with training features recomputed by the evaluation transform.
    public var knnRecomputedTop1: Double?, knnRecomputedTop5: Double?
    /// With a validation split, the last epoch also scores the test split once (bank and
    /// recomputed features, as the monitor does); these are never used to choose anything.
    public var testKnnTop1: Double?, testKnnTop5: Double?, testKnnRecomputedTop1: Double?, testKnnRecomputedTop5: Double?
    /// Seconds this epoch spent in the kNN monitor (inside `wallSeconds`).
    public var monitorSeconds: Double?
    /// Seconds of the epoch's steps by phase (loader, forward, loss, backward, optimizer,
    /// state), as measured by this process (a resumed epoch counts its own part only).
    public var phaseSeconds: [String: Double]?

    /// A record of the always-present fields; the rest start empty.
    public init(epoch: Int, wallSeconds: Double, loss: Double, learningRate: Double, imagesPerSecond: Double) {
        self.epoch = epoch; self.wallSeconds = wallSeconds; self.loss = loss
        self.learningRate = learningRate; self.imagesPerSecond = imagesPerSecond
    }

    /// Any key of a metrics line.
    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ name: String) { stringValue = name }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// The fixed keys; every other numeric key is a loss term (`loss_*`) or a diagnostic.
    static let fixedKeys: Set<String> = ["epoch", "wall_seconds", "loss", "learning_rate", "images_per_second", "monitor_split",
                                          "knn_top1", "knn_top5", "knn_recomputed_top1", "knn_recomputed_top5", "test_knn_top1",
                                          "test_knn_top5", "test_knn_recomputed_top1", "test_knn_recomputed_top5", "monitor_seconds",
                                          "phase_seconds"]

    /// Reads a metrics line.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        epoch = try c.decode(Int.self, forKey: Key("epoch"))
        wallSeconds = try c.decode(Double.self, forKey: Key("wall_seconds"))
        loss = try c.decode(Double.self, forKey: Key("loss"))
        learningRate = try c.decode(Double.self, forKey: Key("learning_rate"))
        imagesPerSecond = try c.decode(Double.self, forKey: Key("images_per_second"))
        monitorSplit = try c.decodeIfPresent(String.self, forKey: Key("monitor_split"))
        func optional(_ name: String) throws -> Double? { try c.decodeIfPresent(Double.self, forKey: Key(name)) }
        (knnTop1, knnTop5) = (try optional("knn_top1"), try optional("knn_top5"))
        (knnRecomputedTop1, knnRecomputedTop5) = (try optional("knn_recomputed_top1"), try optional("knn_recomputed_top5"))
        (testKnnTop1, testKnnTop5) = (try optional("test_knn_top1"), try optional("test_knn_top5"))
        (testKnnRecomputedTop1, testKnnRecomputedTop5) = (try optional("test_knn_recomputed_top1"), try optional("test_knn_recomputed_top5"))
        monitorSeconds = try optional("monitor_seconds")
        phaseSeconds = try c.decodeIfPresent([String: Double].self, forKey: Key("phase_seconds"))
        for key in c.allKeys where !Self.fixedKeys.contains(key.stringValue) {
            guard let value = try? c.decode(Double.self, forKey: key) else { continue }
            if key.stringValue.hasPrefix("loss_") { lossTerms[String(key.stringValue.dropFirst(5))] = value } else { diagnostics[key.stringValue] = value }
        }
    }

    /// Writes a metrics line (nil fields left out).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(epoch, forKey: Key("epoch"))
        try c.encode(wallSeconds, forKey: Key("wall_seconds"))
        try c.encode(loss, forKey: Key("loss"))
        try c.encode(learningRate, forKey: Key("learning_rate"))
        try c.encode(imagesPerSecond, forKey: Key("images_per_second"))
        try c.encodeIfPresent(monitorSplit, forKey: Key("monitor_split"))
        let optionals: [(String, Double?)] = [("knn_top1", knnTop1), ("knn_top5", knnTop5), ("knn_recomputed_top1", knnRecomputedTop1),
                                              ("knn_recomputed_top5", knnRecomputedTop5), ("test_knn_top1", testKnnTop1), ("test_knn_top5", testKnnTop5),
                                              ("test_knn_recomputed_top1", testKnnRecomputedTop1), ("test_knn_recomputed_top5", testKnnRecomputedTop5),
                                              ("monitor_seconds", monitorSeconds)]
        for (name, value) in optionals { try c.encodeIfPresent(value, forKey: Key(name)) }
        try c.encodeIfPresent(phaseSeconds, forKey: Key("phase_seconds"))
        for (name, value) in lossTerms { try c.encode(value, forKey: Key("loss_" + name)) }
        for (name, value) in diagnostics where !Self.fixedKeys.contains(name) { try c.encode(value, forKey: Key(name)) }
    }
}
