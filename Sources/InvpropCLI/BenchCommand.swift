import ArgumentParser
import Data
import Foundation
import Kernels
import Methods
import Models
import SafeTensors
import Tensors
import Training

/// `invprop bench`: performance measurements.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Measure training-step and data-loading speed.",
                                                    subcommands: [BenchStep.self, BenchData.self, BenchLoss.self, BenchLoop.self, BenchComm.self])
}

/// `invprop bench step`: full training step of a ResNet, fp32 and bf16, beside PyTorch.
struct BenchStep: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "step",
        abstract: "Median time of a full training step (forward, backward, SGD) of CIFAR ResNet-18, fp32 and bf16.")

    @Option(help: "Batch size.") var batchSize = 128
    @Option(help: "Timed steps per precision (median reported).") var steps = 5
    @Option(help: "Untimed warm-up steps.") var warmup = 2
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Option(help: "Precisions to run: fp32, bf16 or both.") var precision = "both"
    @Option(help: "Width multiplier of the ResNet.") var width = 1.0
    @Option(help: "ResNet depth (18, 34, 50).") var depth = 18
    @Option(help: "Stem: cifar (3×3, no pooling) or imagenet (7×7 stride 2 and max-pooling, for 224-pixel images).") var stem: Stem = .cifar
    @Option(help: "Input channels (1 for grey images; the PyTorch comparison runs only for 3).") var inChannels = 3
    @Option(help: "Input image size (the PyTorch comparison runs only for 32).") var imageSize = 32
    @Option(help: "PyTorch comparison script (skipped when python3/torch is missing).") var torchScript = "bench/torch_step.py"
    @Flag(help: "Skip the PyTorch comparison.") var noTorch = false

    func validate() throws {
        guard batchSize >= 2 else { throw ValidationError("--batch-size must be ≥ 2 (batch norm needs more than one image)") }
        guard steps >= 1, warmup >= 0 else { throw ValidationError("--steps must be ≥ 1 and --warmup ≥ 0") }
        guard ["fp32", "bf16", "both"].contains(precision) else { throw ValidationError("--precision must be fp32, bf16 or both") }
        if let threads, threads < 1 { throw ValidationError("--threads must be ≥ 1") }
        guard [1, 3].contains(inChannels) else { throw ValidationError("--in-channels must be 1 or 3, got \(inChannels)") }
        guard (8...Self.maximumImageSize).contains(imageSize) else {
            throw ValidationError("--image-size must be in 8…\(Self.maximumImageSize), got \(imageSize)")
        }
        // A training step keeps every activation for the backward pass: memory grows with the pixels of the batch.
        guard batchSize <= Self.maximumBatchPixels / (imageSize * imageSize) else {
            throw ValidationError("--batch-size \(batchSize) × --image-size \(imageSize)² is more than the \(Self.maximumBatchPixels) pixels "
                                  + "a benchmark step may take (an ImageNet batch of 256 at 224²)")
        }
    }

    /// The largest image side (as `invprop train --image-size`) and pixels per batch a step may
    /// take: beyond them the step's activations no longer fit a machine's memory.
    static let maximumImageSize = 1_024, maximumBatchPixels = 256 * 224 * 224

    func run() throws {
        if let threads { try ComputeThreads.set(threads) }
        let config = ResNetConfig(depth: depth, stem: stem, inputChannels: inChannels, width: width, head: .linear, outputDimension: 10)
        print("invprop bench step: ResNet-\(depth) (\(stem == .cifar ? "CIFAR" : "ImageNet") stem, width \(width)), batch \(batchSize), \(inChannels)×\(imageSize)×\(imageSize), \(ComputeThreads.count) threads")
        let parameters = try ResNet(config).namedParameters.reduce(0) { $0 + $1.1.count }
        print(String(format: "parameters: %d (a %.1f MB fp32 gradient to allreduce per step in data-parallel training)", parameters, Double(parameters) * 4 / 1e6))
        var ours: [StepBenchmark.Result] = []
        for p in precision == "both" ? [DType.f32, .bf16] : [precision == "fp32" ? .f32 : .bf16] {
            ours.append(try StepBenchmark.run(config: config, precision: p, batchSize: batchSize, imageSize: imageSize, warmup: warmup, steps: steps) {
                FileHandle.standardError.write(($0 + "\n").data(using: .utf8)!)
            })
        }
        let comparable = depth == 18 && stem == .cifar && width == 1 && inChannels == 3 && imageSize == 32
        let torch = noTorch || !comparable ? [] : TorchComparison.run(script: torchScript, threads: ComputeThreads.count, batchSize: batchSize, steps: steps, warmup: warmup)
        print("")
        print("| implementation | step (median) | images/s | peak memory |")
        print("|---|---|---|---|")
        for r in ours {
            print(String(format: "| invprop %@ | %.3f s | %.1f | %.0f MB |", r.precision, r.medianSeconds, r.imagesPerSecond, r.peakMemoryMB))
        }
        for t in torch {
            print(String(format: "| PyTorch %@ | %.3f s | %.1f | %.0f MB |", t.mode, t.step_s_median, t.images_per_s, t.peak_rss_mb))
        }
        for r in ours {
            let peer = torch.first { $0.mode == (r.precision == "fp32" ? "fp32-cl" : "bf16-cl") }
            if let peer { print(String(format: "speed-up of invprop %@ over PyTorch %@: %.2f×", r.precision, peer.mode, peer.step_s_median / r.medianSeconds)) }
        }
    }
}

/// `invprop bench loss`: what the memory-bank losses cost per step, beside the network.
struct BenchLoss: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "loss",
        abstract: "Median time per step of the InvP and NPID losses (with gradient) and their parts, at the Fashion-MNIST scale by default.")

    @Option(help: "Batch size B.") var batchSize = 128
    @Option(help: "Bank entries N (training images).") var bankSize = 60_000
    @Option(help: "Feature dimension D.") var dimension = 128
    @Option(name: .customLong("background"), help: "Background size M.") var backgroundCount = 4096
    @Option(help: "Timed steps (median reported).") var steps = 7
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Option(help: "Precision of the two bank products: fp32, bf16 or auto (bf16 where native).") var bankPrecision: BankPrecision = .fp32
    @Option(help: "A checkpoint of a memory-bank method: also report how much of the fp32 top-M selection of its real bank the bf16 products keep (--overlap-anchors of its entries as queries).") var overlapFrom: String?
    @Option(help: "Anchors of the --overlap-from comparison.") var overlapAnchors = 512

    func validate() throws {
        guard batchSize >= 1, bankSize >= 2, dimension >= 1, steps >= 1 else {
            throw ValidationError("--batch-size, --dimension and --steps must be ≥ 1 and --bank-size ≥ 2")
        }
        guard bankSize <= Self.maximumBankSize else { throw ValidationError("--bank-size must be at most \(Self.maximumBankSize), got \(bankSize)") }
        guard dimension <= ResNetConfig.maxOutputDimension else {
            throw ValidationError("--dimension must be at most \(ResNetConfig.maxOutputDimension) (the largest head output), got \(dimension)")
        }
        guard batchSize <= Self.maximumBatchSize else { throw ValidationError("--batch-size must be at most \(Self.maximumBatchSize), got \(batchSize)") }
        // The bank [N, D] and the batch's similarities [B, N] are held in memory as floats.
        guard bankSize * dimension <= Self.maximumFloats, batchSize * bankSize <= Self.maximumFloats else {
            throw ValidationError("--bank-size \(bankSize) with --dimension \(dimension) and --batch-size \(batchSize) needs more than "
                                  + "\(Self.maximumFloats) floats (\((Self.maximumFloats * 4) >> 30) GiB) for the bank or the similarities")
        }
        guard backgroundCount >= 5 && backgroundCount <= bankSize else { throw ValidationError("--background must be in 5...\(bankSize)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be ≥ 1") }
    }

    /// Bounds of the measured sizes: ten times ImageNet's 1.28 M images, a batch far past any
    /// in use, and 2³¹ floats (8 GiB) for the bank [N, D] and for the similarities [B, N].
    static let maximumBankSize = 12_800_000, maximumBatchSize = 65_536, maximumFloats = 1 << 31

    func run() throws {
        if let threads { try ComputeThreads.set(threads) }
        var config = InvPConfig()
        config.backgroundCount = backgroundCount
        config.warmUpEpochs = 0
        config.bankPrecision = bankPrecision
        print("invprop bench loss: B \(batchSize), N \(bankSize), D \(dimension), M \(backgroundCount), k \(config.neighbourCount), L \(config.hops), P \(config.positiveCount), \(ComputeThreads.count) threads, bank products \(bankPrecision.rawValue), median of \(steps)")
        let r = try LossBenchmark.run(batch: batchSize, bankSize: bankSize, dimension: dimension, config: config, steps: steps)
        print("| part | ms per step |")
        print("|---|---|")
        for (name, value) in r.parts {
            print(String(format: "| %@ | %.1f |", name, value * 1e3))
        }
        if let overlapFrom {
            let archive = try TensorArchive(contentsOf: overlapFrom)
            let shape = try archive.shape(of: "method.bank")
            guard shape.count == 2, shape[0] >= backgroundCount, overlapAnchors >= 1, overlapAnchors <= shape[0] else {
                throw ValidationError("\(overlapFrom): method.bank has shape \(shape); need N ≥ M = \(backgroundCount) and 1 ≤ --overlap-anchors ≤ N")
            }
            let o = try LossBenchmark.selectionOverlap(bank: try archive.floats("method.bank"), dimension: shape[1], anchors: overlapAnchors,
                                                       background: backgroundCount, neighbours: config.neighbourCount)
            print(String(format: "bf16 against fp32 products on %@ (N %d, %d anchors): top-M set kept %.4f on average, %.4f at worst; k+1 nearest identical for %.1f %% of anchors",
                         overlapFrom, shape[0], overlapAnchors, o.mean, o.minimum, o.sameNearest * 100))
        }
    }
}

/// Runs `bench/torch_step.py` in a subprocess and parses its JSON lines.
enum TorchComparison {
    struct Line: Decodable { var mode: String; var step_s_median: Double; var images_per_s: Double; var peak_rss_mb: Double }

    static func run(script: String, threads: Int, batchSize: Int, steps: Int, warmup: Int) -> [Line] {
        guard FileManager.default.fileExists(atPath: script) else {
            print("(PyTorch comparison skipped: \(script) not found)"); return []
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, "--threads", "\(threads)", "--batch", "\(batchSize)", "--warmup", "\(warmup)", "--steps", "\(steps)"]
        let pipe = Pipe()
        process.standardOutput = pipe
        do { try process.run() } catch { print("(PyTorch comparison skipped: \(error))"); return [] }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        let parsed = lines.compactMap { try? JSONDecoder().decode(Line.self, from: Data($0.utf8)) }
        if parsed.isEmpty { print("(PyTorch comparison produced no results; is torch installed? exit \(process.terminationStatus))") }
        return parsed
    }
}

/// `invprop bench data`: loader throughput of the training pipelines, median of several runs.
struct BenchData: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "data",
        abstract: "Images per second the loader delivers with the CIFAR and Fashion-MNIST training pipelines.")

    @Option(help: "Batch size.") var batchSize = 128
    @Option(help: "Batches per run.") var batches = 40
    @Option(help: "Runs (median reported).") var runs = 5
    @Option(help: "Loader threads.") var workers = 1

    func validate() throws {
        guard batchSize >= 1, batches >= 1, runs >= 1 else { throw ValidationError("--batch-size, --batches and --runs must be ≥ 1") }
        guard (0...DataLoader.maximumWorkers).contains(workers) else {
            throw ValidationError("--workers must be in 0…\(DataLoader.maximumWorkers), got \(workers)")
        }
    }

    func run() throws {
        var cases: [(String, any ImageDataset, String)] = [
            ("CIFAR pipeline (cifar-invp) on synthetic 32×32 RGB", SyntheticImageDataset(count: 10_000), "cifar-invp"),
        ]
        if let fashion = try? DatasetCatalog.open(name: "fashion-mnist", split: .train) {
            cases.append(("Fashion-MNIST pipeline (fashion-mnist-invp) on the real training set", fashion, "fashion-mnist-invp"))
        } else {
            cases.append(("Fashion-MNIST pipeline on synthetic 28×28 grey", SyntheticImageDataset(count: 10_000, height: 28, width: 28, channels: 1), "fashion-mnist-invp"))
        }
        print("invprop bench data: batch \(batchSize), \(batches) batches a run, median of \(runs) runs, \(workers) loader thread(s)")
        print("| pipeline | images/s (median) | runs |")
        print("|---|---|---|")
        for (label, dataset, preset) in cases {
            let r = try DataBenchmark.measure(dataset: dataset, transform: AugmentationPresets.pipeline(named: preset), batchSize: batchSize,
                                              workers: workers, batches: batches, runs: runs)
            print(String(format: "| %@ | %.0f | %@ |", label, r.imagesPerSecond, r.runs.map { String(format: "%.0f", $0) }.joined(separator: ", ")))
        }
    }
}
