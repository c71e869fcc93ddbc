import ArgumentParser
import Evaluation
import Foundation
import Models
import ONNXExport

/// `invprop export`: a trained network as a file other frameworks load (ONNX for now).
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export",
        abstract: "Write a checkpoint's network (backbone and head, evaluation mode, fp32) as an ONNX model.",
        discussion: """
        The model takes 'input' [batch, C, height, width] (normalised as the evaluation transform does) and gives \
        'feature' [batch, F] (the pooled backbone feature) and 'output' [batch, D] (the head's output; an Identity of \
        'feature' for a network without a head). Initializers carry torchvision's state_dict names. With --check-samples N \
        it also writes <output>.check-input.npy, <output>.check-feature.npy and <output>.check-output.npy: a seeded \
        random input and invprop's own outputs for it, which scripts/check_onnx.py compares with onnxruntime's. See docs/export.md.
        """)

    /// The export formats; one so far.
    static let formats = ["onnx"]

    @Argument(help: "Run directory (its checkpoint-best.safetensors, else checkpoint-last.safetensors).") var runDirectory: String?
    @Option(help: "Checkpoint file to export (instead of RUN_DIR).") var checkpoint: String?
    @Option(help: "File format: onnx.") var format: String
    @Option(help: "Output file (default: model.onnx beside the checkpoint, i.e. RUN_DIR/model.onnx).") var output: String?
    @Option(help: "Samples of the saved check input and outputs (0: write no check files).") var checkSamples = 4
    @Option(help: "Image size of the check input (default: 32 for the cifar stem, 64 for the imagenet stem).") var checkSize: Int?
    @Option(help: "Seed of the check input.") var checkSeed: UInt64 = 0

    func validate() throws {
        guard (runDirectory == nil) != (checkpoint == nil) else {
            throw ValidationError("give either RUN_DIR or --checkpoint PATH (exactly one)")
        }
        guard Self.formats.contains(format) else {
            throw ValidationError("--format must be one of \(Self.formats.joined(separator: ", ")) (the only export format so far), got '\(format)'")
        }
        guard (0...Self.maximumCheckSamples).contains(checkSamples) else {
            throw ValidationError("--check-samples must be in 0…\(Self.maximumCheckSamples), got \(checkSamples)")
        }
        if let checkSize, !(1...Self.maximumCheckSize).contains(checkSize) {
            throw ValidationError("--check-size must be in 1…\(Self.maximumCheckSize), got \(checkSize)")
        }
        if let checkSize { try Self.checkInputBounds(samples: checkSamples, size: checkSize) }
    }

    /// The check runs the network on all samples at once, and its activations grow with the
    /// pixels: refuses more than `maximumCheckPixels`, naming both options.
    static func checkInputBounds(samples: Int, size: Int) throws {
        if samples * size * size > maximumCheckPixels {
            throw ValidationError("--check-samples \(samples) × --check-size \(size)² is more than \(maximumCheckPixels) pixels "
                                  + "for the check input; fewer samples or a smaller size check the export as well")
        }
    }

    /// Bounds of the check input: a handful of samples compares the runtimes; these limits keep
    /// the one forward pass over them within a few GB (2²⁰ pixels: e.g. 4 samples of 512², 1 024 of 32²).
    static let maximumCheckSamples = 1_024, maximumCheckSize = 1_024, maximumCheckPixels = 1 << 20

    func run() throws {
        try reportingFailure {
            let (file, description, model) = try EvaluationSession.openNetwork(checkpoint: checkpoint ?? runDirectory ?? ".")
            note("checkpoint \(file): \(description.architecture), \(description.method) on \(description.dataset)")
            let size = checkSize ?? (model.config.stem == .cifar ? 32 : 64)
            try Self.checkInputBounds(samples: checkSamples, size: size)   // the default size is known only now
            let path = output ?? URL(fileURLWithPath: file).deletingLastPathComponent().appendingPathComponent("model.onnx").path
            let bytes = try ONNXExporter.write(model, to: path)
            print("wrote \(path) (\(bytes) bytes, ONNX opset \(ONNXExporter.opsetVersion))")
            guard checkSamples > 0 else { return }
            let sample = try ONNXCheckSample(model: model, count: checkSamples, size: size, seed: checkSeed)
            for (name, values, shape) in [("input", sample.input, sample.inputShape), ("feature", sample.feature, sample.featureShape),
                                          ("output", sample.output, sample.outputShape)] {
                let checkPath = Self.checkFile(path, name)
                try NumpyArray(floats: values, shape: shape).write(to: checkPath)  // its error names the file
                print("wrote \(checkPath) \(shape)")
            }
        }
    }

    /// Where the check array `name` (input, feature, output) of the model at `modelPath` goes:
    /// `<modelPath>.check-<name>.npy` (scripts/check_onnx.py looks there).
    static func checkFile(_ modelPath: String, _ name: String) -> String { "\(modelPath).check-\(name).npy" }
}
