import Foundation
import RunFormat

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
    static let fixedKeys: Set<String> = [MetricKey.epoch, MetricKey.wallSeconds, MetricKey.loss, MetricKey.learningRate, MetricKey.imagesPerSecond, MetricKey.monitorSplit,
                                          MetricKey.knnTop1, MetricKey.knnTop5, MetricKey.knnRecomputedTop1, MetricKey.knnRecomputedTop5, MetricKey.testKnnTop1,
                                          MetricKey.testKnnTop5, MetricKey.testKnnRecomputedTop1, MetricKey.testKnnRecomputedTop5, MetricKey.monitorSeconds,
                                          MetricKey.phaseSeconds]

    /// Reads a metrics line.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        epoch = try c.decode(Int.self, forKey: Key(MetricKey.epoch))
        wallSeconds = try c.decode(Double.self, forKey: Key(MetricKey.wallSeconds))
        loss = try c.decode(Double.self, forKey: Key(MetricKey.loss))
        learningRate = try c.decode(Double.self, forKey: Key(MetricKey.learningRate))
        imagesPerSecond = try c.decode(Double.self, forKey: Key(MetricKey.imagesPerSecond))
        monitorSplit = try c.decodeIfPresent(String.self, forKey: Key(MetricKey.monitorSplit))
        func optional(_ name: String) throws -> Double? { try c.decodeIfPresent(Double.self, forKey: Key(name)) }
        (knnTop1, knnTop5) = (try optional(MetricKey.knnTop1), try optional(MetricKey.knnTop5))
        (knnRecomputedTop1, knnRecomputedTop5) = (try optional(MetricKey.knnRecomputedTop1), try optional(MetricKey.knnRecomputedTop5))
        (testKnnTop1, testKnnTop5) = (try optional(MetricKey.testKnnTop1), try optional(MetricKey.testKnnTop5))
        (testKnnRecomputedTop1, testKnnRecomputedTop5) = (try optional(MetricKey.testKnnRecomputedTop1), try optional(MetricKey.testKnnRecomputedTop5))
        monitorSeconds = try optional(MetricKey.monitorSeconds)
        phaseSeconds = try c.decodeIfPresent([String: Double].self, forKey: Key(MetricKey.phaseSeconds))
        for key in c.allKeys where !Self.fixedKeys.contains(key.stringValue) {
            guard let value = try? c.decode(Double.self, forKey: key) else { continue }
            if key.stringValue.hasPrefix(MetricKey.lossTermPrefix) {
                lossTerms[String(key.stringValue.dropFirst(MetricKey.lossTermPrefix.count))] = value
            } else { diagnostics[key.stringValue] = value }
        }
    }

    /// Writes a metrics line (nil fields left out).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(epoch, forKey: Key(MetricKey.epoch))
        try c.encode(wallSeconds, forKey: Key(MetricKey.wallSeconds))
        try c.encode(loss, forKey: Key(MetricKey.loss))
        try c.encode(learningRate, forKey: Key(MetricKey.learningRate))
        try c.encode(imagesPerSecond, forKey: Key(MetricKey.imagesPerSecond))
        try c.encodeIfPresent(monitorSplit, forKey: Key(MetricKey.monitorSplit))
        let optionals: [(String, Double?)] = [(MetricKey.knnTop1, knnTop1), (MetricKey.knnTop5, knnTop5), (MetricKey.knnRecomputedTop1, knnRecomputedTop1),
                                              (MetricKey.knnRecomputedTop5, knnRecomputedTop5), (MetricKey.testKnnTop1, testKnnTop1), (MetricKey.testKnnTop5, testKnnTop5),
                                              (MetricKey.testKnnRecomputedTop1, testKnnRecomputedTop1), (MetricKey.testKnnRecomputedTop5, testKnnRecomputedTop5),
                                              (MetricKey.monitorSeconds, monitorSeconds)]
        for (name, value) in optionals { try c.encodeIfPresent(value, forKey: Key(name)) }
        try c.encodeIfPresent(phaseSeconds, forKey: Key(MetricKey.phaseSeconds))
        for (name, value) in lossTerms { try c.encode(value, forKey: Key(MetricKey.lossTermPrefix + name)) }
        for (name, value) in diagnostics where !Self.fixedKeys.contains(name) { try c.encode(value, forKey: Key(name)) }
    }
}
