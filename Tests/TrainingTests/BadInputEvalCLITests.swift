import ArgumentParser
import Codecs
import Evaluation
import Foundation
@testable import InvpropCLI
import SafeTensors
import Testing

/// Bad input to the commands that read a checkpoint (eval, embed, neighbors, curate, tune,
/// datasets check): refused before the work, with a message that names the option or file.
@Suite("eval, embed, neighbors: bad options, outputs, images and checkpoints", .serialized)
struct BadInputEvalCLITests {
    /// Options refused by validation alone (no checkpoint is opened: RUN_DIR need not exist).
    /// /dev/null stands for "a file where a folder is needed".
    @Test(arguments: [
        (["eval", "linear", "run", "--decay", "inf"], "--decay"),
        (["eval", "linear", "run", "--weight-decay", "inf"], "--weight-decay"),
        (["eval", "linear", "run", "--train-transform", "bogus"], "--train-transform"),
        (["eval", "semisup", "run", "--labels", "10%", "--weight-decay", "inf"], "--weight-decay"),
        (["eval", "semisup", "run", "--labels", "10%", "--classifier-lr-scale", "inf"], "--classifier-lr-scale"),
        (["eval", "semisup", "run", "--labels", "10%", "--gamma", "nan"], "--gamma"),
        (["eval", "knn", "run", "--eval-transform", "bogus"], "--eval-transform"),
        (["eval", "knn", "run", "--json", "/dev/null/x.json"], "--json: /dev/null is a file, not a folder"),
        (["eval", "linear", "run", "--json", "/nonexistent-invprop/x.json"], "--json: the folder /nonexistent-invprop does not exist"),
        (["eval", "cluster", "run", "--json", "/tmp"], "--json: /tmp is a folder"),
        (["eval", "udg", "run", "--json", "/dev/null/x.json"], "--json"),
        (["embed", "run", "--output", "/dev/null"], "--output: /dev/null is a file, not a folder"),
        (["neighbors", "run", "--images", "0", "--output", "/dev/null"], "--output: /dev/null is a file"),
        (["tune", "--output", "/dev/null/t", "--dataset", "shapes"], "--output: /dev/null is a file"),
        (["curate", "run", "--folder", "/tmp", "--output", "/dev/null/c"], "--output: /dev/null is a file"),
        (["curate", "run", "--folder", "/tmp", "--eval-transform", "bogus"], "--eval-transform"),
        (["datasets", "check", "--data-dir", "/tmp", "--dataset", "bogus"], "--dataset"),
    ])
    func badOptionsAreNamed(arguments: [String], mentions: String) {
        let message = validationMessage(arguments)
        #expect(message?.contains(mentions) == true, "\(arguments): \(message ?? "accepted")")
    }

    /// A copy of the tiny run's last checkpoint with `edit` applied to its tensors.
    static func editedCheckpoint(_ edit: (inout TensorArchive) throws -> Void) throws -> String {
        var archive = try TensorArchive(contentsOf: TinyRun.lastCheckpoint())
        try edit(&archive)
        let path = NSTemporaryDirectory() + "invprop-edited-\(UUID().uuidString).safetensors"
        try archive.write(to: path)
        return path
    }

    @Test("a checkpoint whose weights hold NaN is refused naming the tensor and the file")
    func nonFiniteWeightsAreRefused() throws {
        let path = try Self.editedCheckpoint { archive in
            var weights = try archive.floats("conv1.weight")
            weights[3] = .nan
            try archive.set("conv1.weight", floats: weights, shape: archive.shape(of: "conv1.weight"))
        }
        let source = try CheckpointSource.parse(["--checkpoint", path])
        do {
            _ = try source.open()
            Issue.record("the NaN weights were accepted")
        } catch let error as EvaluationError {
            #expect(error.message.contains(path) && error.message.contains("'conv1.weight'") && error.message.contains("non-finite"), "\(error.message)")
        }
        // The command fails (status 1) and writes no result.
        let json = NSTemporaryDirectory() + "invprop-nan-\(UUID().uuidString).json"
        #expect(throws: ExitCode.self) { try invprop(["eval", "knn", "--checkpoint", path, "--json", json]) }
        #expect(!FileManager.default.fileExists(atPath: json))
        // `export` and `curate` open the network the same way.
        do {
            _ = try EvaluationSession.openNetwork(checkpoint: path)
            Issue.record("openNetwork accepted the NaN weights")
        } catch let error as EvaluationError {
            #expect(error.message.contains("'conv1.weight'"), "\(error.message)")
        }
    }

    @Test("a neighbour table entry out of range is reported with the checkpoint's path")
    func badNeighbourTableNamesTheCheckpoint() throws {
        let path = try Self.editedCheckpoint { archive in
            var table = try archive.int32s("method.table")
            table[0] = 1_000_000
            try archive.set("method.table", int32s: table, shape: archive.shape(of: "method.table"))
        }
        let command = try NeighborsCommand.parse(["--checkpoint", path, "--images", "0"])
        let session = try command.source.open()
        do {
            _ = try command.inspect(session, anchors: [0])
            Issue.record("the bad table was accepted")
        } catch let error as EvaluationError {
            #expect(error.message.contains(path) && error.message.contains("index 1000000"), "\(error.message)")
        }
    }

    @Test("a default result path that cannot be written is refused before the evaluation")
    func defaultResultPathIsChecked() throws {
        let session = try CheckpointSource.parse(["--checkpoint", TinyRun.lastCheckpoint()]).open()
        #expect(try checkedResultPath(session, "eval-knn.json", json: nil).hasSuffix("/eval-knn.json"))
        #expect(throws: ValidationError.self) { try checkedResultPath(session, "eval-knn.json", json: "/dev/null/x.json") }
    }

    @Test("embed header-checks an image folder first: bad files are listed, or skipped with --skip-bad-images")
    func embedChecksImagesFirst() throws {
        let folder = try FolderTrainingTests.makeFolder(broken: false)
        let run = NSTemporaryDirectory() + "invprop-embed-run-\(UUID().uuidString)"
        try invprop(["train", "--dataset", "folder", "--data-dir", folder, "--epochs", "1", "--max-steps", "1", "--width", "0.125",
                     "--health-sample", "0", "--output", run])
        // After training, two files go bad: an empty one and one declaring 100000×100000 pixels.
        try Data().write(to: URL(fileURLWithPath: folder + "/photo-03.png"))
        var huge = try PNGCodec.encode(DecodedImage(height: 8, width: 8, channels: 3, pixels: [UInt8](repeating: 9, count: 192)))
        for offset in [16, 20] { huge.replaceSubrange(offset..<offset + 4, with: [0x00, 0x01, 0x86, 0xA0]) }
        try Data(huge).write(to: URL(fileURLWithPath: folder + "/photo-07.png"))
        let output = NSTemporaryDirectory() + "invprop-embed-\(UUID().uuidString)"
        let arguments = [run, "--split", "train", "--output", output]
        let refusing = try EmbedCommand.parse(arguments)
        let session = try refusing.source.open(checkingImages: false)
        do {
            _ = try refusing.unusableImages(session, directory: output)
            Issue.record("the bad files were accepted")
        } catch let error as ValidationError {
            #expect(error.message.contains("2 of 40 files") && error.message.contains("photo-03.png")
                    && error.message.contains("photo-07.png") && error.message.contains("--skip-bad-images"), "\(error.message)")
        }
        #expect(throws: ExitCode.self) { try invprop(["embed"] + arguments) }
        #expect(!FileManager.default.fileExists(atPath: output + "/train-head_features.npy"))
        // The evaluations refuse the same files when they open the checkpoint, before any features.
        do {
            _ = try CheckpointSource.parse([run]).open()
            Issue.record("eval accepted the bad files")
        } catch let error as ValidationError {
            #expect(error.message.contains("2 of 40 files") && error.message.contains("photo-07.png")
                    && !error.message.contains("--skip-bad-images"), "\(error.message)")
        }

        try invprop(["embed"] + arguments + ["--skip-bad-images"])
        let embeddings = try Embeddings.readNumpy(directory: output, name: "train-head")
        #expect(embeddings.count == 38 && !embeddings.indices.contains(3) && !embeddings.indices.contains(7))
        let skipped = try String(contentsOfFile: output + "/train-skipped-images.txt", encoding: .utf8)
        #expect(skipped.split(separator: "\n").count == 2 && skipped.contains(folder + "/photo-03.png\t"))
    }

    @Test("datasets check --dataset cifar10 uses the CIFAR reader, not the folder check")
    func datasetsCheckUsesTheNamedReader() throws {
        let folder = try FolderTrainingTests.makeFolder(broken: false)
        #expect(throws: ExitCode.self) { try invprop(["datasets", "check", "--dataset", "cifar10", "--data-dir", folder]) }
        try invprop(["datasets", "check", "--data-dir", folder])
    }
}
