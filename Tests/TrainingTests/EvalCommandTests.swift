import ArgumentParser
import Evaluation
import Foundation
import InvpropCLI
import Models
import NN
import Report
import SafeTensors
import Testing
import Training

/// One tiny `shapes` run shared by every test of the suite: ResNet-18 at width 0.125, 256 images,
/// 2 epochs of batch 64, kNN monitor with K = 20 (about 10 s in a debug build).
enum TinyRun {
    static let result = Result<URL, any Error> {
        var c = TrainingConfig()
        c.dataset = "shapes"
        c.trainSubset = 256
        c.model.width = 0.125
        c.epochs = 2
        c.batchSize = 64
        c.invp.backgroundCount = 128
        c.knnK = 20
        let directory = URL(fileURLWithPath: NSTemporaryDirectory() + "invprop-evalcli-\(UUID().uuidString)")
        let trainer = try Trainer(config: c, runDirectory: directory, resume: false)
        _ = try trainer.run()
        return directory
    }

    /// The run directory (trains on first use).
    static func directory() throws -> URL { try result.get() }

    /// Its last checkpoint, whose bank and weights produced the last metrics line.
    static func lastCheckpoint() throws -> String { try directory().appendingPathComponent("checkpoint-last.safetensors").path }

    /// The last line of metrics.jsonl.
    static func lastRecord() throws -> EpochRecord {
        let text = try String(contentsOf: directory().appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        let line = try #require(text.split(separator: "\n").last)
        return try JSONDecoder().decode(EpochRecord.self, from: Data(line.utf8))
    }
}

/// Parses `arguments` as `invprop …` and runs the command.
func invprop(_ arguments: [String]) throws {
    var command = try InvpropCommand.parseAsRoot(arguments)
    try command.run()
}

/// The message ArgumentParser prints for `arguments`' parse or validation error (nil when they are valid).
func validationMessage(_ arguments: [String]) -> String? {
    do { _ = try InvpropCommand.parseAsRoot(arguments); return nil } catch { return InvpropCommand.message(for: error) }
}

@Suite("invprop eval, embed, neighbors, report on a tiny shapes run", .serialized)
struct EvalCommandTests {
    @Test("kNN on the saved bank reproduces the trainer's last monitor value; the CLI writes eval-knn.json")
    func knnMatchesMonitor() throws {
        let record = try TinyRun.lastRecord()
        let monitor = try #require(record.knnTop1)
        try invprop(["eval", "knn", "--checkpoint", TinyRun.lastCheckpoint(), "--k", "20", "--temperature", "0.07"])
        let result = try EvaluationReport.read(KNNResult.self, from: TinyRun.directory().appendingPathComponent("eval-knn.json").path)
        #expect(result.k == 20 && result.trainCount == 256 && result.accuracy.testCount == 400)
        #expect(result.context.features == "memory-bank")
        #expect(abs(result.accuracy.top1 * 100 - monitor) < 1e-9)
        #expect(abs(result.accuracy.top5 * 100 - (record.knnTop5 ?? -1)) < 1e-9)

        let session = try EvaluationSession(checkpoint: TinyRun.lastCheckpoint())
        let recomputed = try KNNProtocol(k: 20, trainFeatures: .recompute).run(session)
        #expect(recomputed.context.features == "head" && (0...1).contains(recomputed.accuracy.top1))
    }

    @Test("a run directory resolves to checkpoint-best, else checkpoint-last")
    func runDirectoryResolution() throws {
        let directory = try TinyRun.directory()
        #expect(try EvaluationSession.resolveCheckpoint(directory.path) == directory.appendingPathComponent("checkpoint-best.safetensors").path)
        #expect(throws: EvaluationError.self) { try EvaluationSession.resolveCheckpoint(directory.appendingPathComponent("absent").path) }
    }

    @Test("the fast linear probe is well above chance (25 %); the paper protocol trains on augmented images")
    func linearProbes() throws {
        let session = try EvaluationSession(checkpoint: TinyRun.lastCheckpoint())
        let fast = try LinearProtocol(kind: .fast, probe: LinearProbe(epochs: 30)).run(session)
        #expect(fast.protocolName == "linear-fast" && fast.dimension == 64 && fast.trainCount == 256)
        #expect(fast.accuracy.top1 > 0.4, "fast linear probe top-1 \(fast.accuracy.top1)")
        #expect(fast.accuracy.perClassAccuracy.count == 4 && fast.accuracy.perClassCount == [100, 100, 100, 100])

        try invprop(["eval", "linear", "--checkpoint", TinyRun.lastCheckpoint(), "--epochs", "1"])
        let paper = try EvaluationReport.read(LinearProbeResult.self, from: TinyRun.directory().appendingPathComponent("eval-linear.json").path)
        #expect(paper.protocolName == "linear" && paper.probe.learningRate == 30 && paper.probe.batchSize == 256)
        #expect(paper.epochLosses.count == 1 && paper.epochLosses[0].isFinite && (0...1).contains(paper.accuracy.top1))
        #expect(LinearProtocol.trainingTransform(forEvaluation: "fashion-mnist-eval") == "fashion-mnist-linear")
    }

    @Test("semi-supervised subsets are class-balanced and of the requested size; fine-tuning writes eval-semisup-1%.json")
    func semiSupervised() throws {
        let session = try EvaluationSession(checkpoint: TinyRun.lastCheckpoint())
        let labels = try session.labels(.train)
        for (request, perClass) in [("10%", 6), ("1%", 1), ("5/class", 5)] {
            let subset = try SemiSupervisedProtocol(labels: LabelRequest(parsing: request), seed: 3).subset(session)
            #expect(subset.count == 4 * perClass)
            #expect(Dictionary(grouping: subset, by: { labels[$0] }).values.allSatisfy { $0.count == perClass })
            #expect(try subset == SemiSupervisedProtocol(labels: LabelRequest(parsing: request), seed: 3).subset(session))
        }
        try invprop(["eval", "semisup", "--checkpoint", TinyRun.lastCheckpoint(), "--labels", "1%", "--epochs", "1"])
        let result = try EvaluationReport.read(SemiSupervisedResult.self,
                                               from: TinyRun.directory().appendingPathComponent("eval-semisup-1%.json").path)
        #expect(result.labels == "1%" && result.labelledCount == 4 && result.epochs == 1)
        #expect(result.backboneLearningRate == 0.0012 && result.classifierLearningRateMultiplier == 50 && result.batchSize == 128)
        #expect((0...1).contains(result.accuracy.top1) && result.accuracy.testCount == 400)
    }

    @Test("clustering scores lie in their ranges")
    func clustering() throws {
        try invprop(["eval", "cluster", "--checkpoint", TinyRun.lastCheckpoint(), "--restarts", "2"])
        let result = try EvaluationReport.read(ClusteringResult.self, from: TinyRun.directory().appendingPathComponent("eval-cluster.json").path)
        #expect(result.kmeans.clusterCount == 4 && result.sampleCount == 400 && result.dimension == 128)
        #expect((0...1).contains(result.nmi) && (0...1).contains(result.accuracy) && (-1...1).contains(result.ari))
        #expect(result.accuracy >= 0.25, "cluster accuracy with Hungarian matching is at least 1/k")
    }

    @Test("embeddings of both layers are written and read back (.npy and safetensors)")
    func embeddings() throws {
        let output = NSTemporaryDirectory() + "invprop-embed-\(UUID().uuidString)"
        try invprop(["embed", "--checkpoint", TinyRun.lastCheckpoint(), "--features", "both", "--split", "test", "--output", output])
        let head = try Embeddings.readNumpy(directory: output, name: "test-head")
        let backbone = try Embeddings.readSafeTensors(from: output + "/test-backbone.safetensors")
        #expect(head.count == 400 && head.dimension == 128 && head.indices == Array(0..<400))
        #expect(backbone.count == 400 && backbone.dimension == 64 && backbone.labels == head.labels)
        #expect(Set(head.labels) == [0, 1, 2, 3])
        let csv = try String(contentsOfFile: output + "/test-head.csv", encoding: .utf8).split(separator: "\n")
        #expect(csv.count == 401 && csv[0].hasPrefix("index,label,f0,") && csv[1].split(separator: ",").count == 2 + 128)
        #expect(!FileManager.default.fileExists(atPath: output + "/test-head_paths.txt"), "shapes images have no files")
    }

    @Test("neighbors writes both montages with captions and the propagated positives InvP would choose")
    func neighbors() throws {
        let directory = try TinyRun.directory()
        try invprop(["neighbors", "--checkpoint", TinyRun.lastCheckpoint(), "--images", "0,5,17", "--k", "4"])
        for name in ["neighbors-nearest", "neighbors-positives"] {
            #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("montages/\(name).png").path))
            let caption = try Data(contentsOf: directory.appendingPathComponent("montages/\(name).json"))
            #expect(try JSONDecoder().decode([String: String].self, from: caption)["caption"]?.isEmpty == false)
        }
        let details = try JSONDecoder().decode([AnchorInspection].self, from: Data(contentsOf: directory.appendingPathComponent("neighbors.json")))
        #expect(details.map(\.anchor) == [0, 5, 17])
        for inspection in details {
            #expect(inspection.neighbors.count == 4 && !inspection.neighbors.contains { $0.index == inspection.anchor })
            #expect(inspection.neighbors.map(\.similarity) == inspection.neighbors.map(\.similarity).sorted(by: >))
            // Reference propagation with k = 4, L = 3 gives 84 candidates, of which P = 20 are chosen.
            #expect(inspection.positives.count == 20 && !inspection.candidates.isEmpty)
            #expect(inspection.positives.map(\.similarity) == inspection.positives.map(\.similarity).sorted())
        }
        try invprop(["report", directory.path, "--map-points", "100"])
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("report.html").path))
        // The map: 100 of the 256 bank rows, evenly spaced, each with its label and a PNG thumbnail.
        let map = try JSONDecoder().decode(EmbeddingMapFile.self, from: Data(contentsOf: directory.appendingPathComponent("embedding-map.json")))
        #expect(map.source == "memory bank" && map.points.count == 100 && map.points[1].index == 2)
        #expect(map.points.allSatisfy { $0.label != nil && $0.thumbnail?.hasPrefix("iVBORw0KGgo") == true })
        #expect(map.explainedVariance.count == 2 && map.explainedVariance[0] >= map.explainedVariance[1])
        #expect(validationMessage(["report", directory.path, "--map-points", "1"])?.contains("--map-points") == true)
    }

    @Test("a checkpoint whose network does not fit the dataset or its own configuration is refused, naming both")
    func mismatchedCheckpoints() throws {
        let path = try TinyRun.lastCheckpoint()
        let archive = try TensorArchive(contentsOf: path)
        let (config, _) = try Checkpoint.header(archive, path: path)
        let scratch = NSTemporaryDirectory() + "invprop-mismatch-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)

        // A consistent 3-channel network evaluated on the 1-channel shapes images.
        var colour = config
        colour.model.inputChannels = 3
        var rgb = TensorArchive()
        try ResNet(colour.model, seed: 1).stateDict(into: &rgb)
        rgb.metadata = Checkpoint.architectureMetadata(colour.model)
        rgb.metadata["format"] = Checkpoint.format
        rgb.metadata["config"] = try colour.json()
        rgb.metadata["progress"] = archive.metadata["progress"]
        try rgb.write(to: scratch + "/rgb.safetensors")
        let channels = #expect(throws: EvaluationError.self) { try EvaluationSession(checkpoint: scratch + "/rgb.safetensors") }
        #expect(channels?.message.contains("3-channel") == true && channels?.message.contains("1-channel") == true)
        #expect(channels?.message.contains("shapes") == true)

        // Weights of the width-0.125 network under a configuration that claims width 0.25.
        var claimed = archive
        var wider = config
        wider.model.width = 0.25
        claimed.metadata["config"] = try wider.json()
        try claimed.write(to: scratch + "/wider.safetensors")
        let architecture = #expect(throws: EvaluationError.self) { try EvaluationSession(checkpoint: scratch + "/wider.safetensors") }
        #expect(architecture?.message.contains("width 0.25") == true && architecture?.message.contains("conv1.weight") == true)

        // Through the CLI the same refusal is an exit with status 1, not a crash.
        #expect(throws: ExitCode.self) { try invprop(["eval", "knn", "--checkpoint", scratch + "/rgb.safetensors"]) }
    }

    @Test("invalid options are rejected by validate() with the option named")
    func invalidOptions() throws {
        let run = try TinyRun.directory().path
        #expect(validationMessage(["eval", "knn", run, "--k", "0"])?.contains("--k") == true)
        #expect(validationMessage(["eval", "knn", run, "--temperature", "0"])?.contains("--temperature") == true)
        #expect(validationMessage(["eval", "semisup", run, "--labels", "5x"])?.contains("--labels") == true)
        #expect(validationMessage(["eval", "semisup", run, "--labels", "150%"])?.contains("--labels") == true)
        #expect(validationMessage(["eval", "linear", run, "--milestones", "0.8,0.4"])?.contains("--milestones") == true)
        #expect(validationMessage(["eval", "cluster", run, "--clusters", "0"])?.contains("--clusters") == true)
        #expect(validationMessage(["embed", run, "--features", "all"])?.contains("--features") == true)
        #expect(validationMessage(["neighbors", run, "--images", "0,x"])?.contains("--images") == true)
        #expect(validationMessage(["eval", "knn"])?.contains("--checkpoint") == true)
        #expect(validationMessage(["eval", "knn", run, "--k", "20"]) == nil)
    }
}
