import Foundation
import Methods
import Testing
@testable import Evaluation

/// Result records: JSON round trip and the summary table.
@Suite struct EvaluationReportTests {
    func report() throws -> ClassificationReport {
        try ClassificationReport(scores: [0.9, 0.1, 0.2, 0.8, 0.6, 0.4], labels: [0, 1, 1], classCount: 2)
    }

    @Test func recordsRoundTripThroughJSON() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let context = EvaluationContext(checkpoint: "runs/a/last.safetensors", method: "invp",
                                        dataset: "fashion-mnist", features: "memory-bank", date: nil)
        let knn = KNNResult(context: context, knn: WeightedKNN(), report: try report(), trainCount: 10,
                            dimension: 128, seconds: 1.25)
        #expect(abs(knn.accuracy.top1 - 2.0 / 3) < 1e-12 && knn.accuracy.perClassAccuracy == [1, 0.5])
        try EvaluationReport.write(knn, to: directory + "/knn.json")
        #expect(try EvaluationReport.read(KNNResult.self, from: directory + "/knn.json") == knn)
        let text = String(decoding: try EvaluationReport.json(knn), as: UTF8.self)
        #expect(text.contains("\"protocolName\" : \"knn\""))
        #expect(text.contains("\"checkpoint\" : \"runs/a/last.safetensors\""))

        // Diverged losses (NaN) must not make the record unwritable.
        let linear = LinearProbeResult(context: context, probe: LinearProbe(epochs: 3), report: try report(),
                                       epochLosses: [2.3, .nan, .infinity], trainCount: 10, dimension: 4, seconds: 3)
        try EvaluationReport.write(linear, to: directory + "/linear.json")
        let back = try EvaluationReport.read(LinearProbeResult.self, from: directory + "/linear.json")
        #expect(back.epochLosses[0] == 2.3 && back.epochLosses[1].isNaN && back.epochLosses[2] == .infinity)
        #expect(back.probe == linear.probe)
        #expect(throws: EvaluationError.self) { try EvaluationReport.read(ClusteringResult.self, from: directory + "/knn.json") }
    }

    @Test func tableIsAligned() throws {
        let context = EvaluationContext(date: nil)
        let knn = KNNResult(context: context, knn: WeightedKNN(), report: try report(), trainCount: 10,
                            dimension: 8, seconds: 0.5)
        let kmeans = KMeans(clusterCount: 2)
        let clusterResult = KMeans.Result(centroids: [], assignments: [0, 1, 1], inertia: 1, iterations: 2, restart: 0)
        let scores = try ClusteringMetrics.scores(classes: [0, 1, 1], clusters: [0, 1, 1])
        let cluster = ClusteringResult(context: context, kmeans: kmeans, result: clusterResult, scores: scores,
                                       dimension: 8, seconds: 12)
        let semi = SemiSupervisedResult(context: context, labels: "1%", subsetSeed: 0, labelledCount: 600,
                                        report: try report(), seconds: 100)
        let table = EvaluationReport.table([knn, cluster, semi])
        let lines = table.split(separator: "\n").map(String.init)
        #expect(lines.count == 5)
        #expect(lines[0].hasPrefix("protocol"))
        #expect(lines[2].hasPrefix("knn       K=200 σ=0.07"))
        #expect(lines[2].contains("66.67") && lines[3].contains("1.0000") && lines[3].contains("100.00"))
        // Right-aligned numeric columns end at the same place in every line with a time column.
        #expect(Set(lines.filter { !$0.hasPrefix("-") }.map(\.count)).count == 1, "\n\(table)")
        print(table)
    }
}
