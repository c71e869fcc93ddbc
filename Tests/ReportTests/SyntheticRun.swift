import Codecs
import Foundation
@testable import Report

/// A made-up run directory shaped like `invprop train` output: 10 epochs with gaps, two
/// evaluations and one montage.
enum SyntheticRun {
    /// Epochs in `metrics.jsonl`.
    static let epochCount = 10
    /// Epochs with a kNN evaluation (every other one, as a monitor with `--knn-every 2` logs).
    static let knnEpochs = [2, 4, 6, 8, 10]
    /// Epochs with an invariance loss and purity (propagation starts after two warm-up epochs).
    static let propagationEpochs = Array(3...10)

    /// A fresh temporary run directory named `fmnist-invp-demo`; the caller removes `root`.
    static func make() throws -> (root: URL, run: URL) {
        let root = FileManager.default.temporaryDirectory
            .appendingPathComponent("report-tests-\(UUID().uuidString)")
        let run = root.appendingPathComponent("fmnist-invp-demo")
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        try write(config, to: run.appendingPathComponent("config.json"))
        try write(metricsLines().joined(separator: "\n") + "\n", to: run.appendingPathComponent("metrics.jsonl"))
        try write(#"{"protocol": "knn", "top1": 84.37, "top5": 99.12, "k": 200, "sigma": 0.07, "features": "memory bank"}"#,
                  to: run.appendingPathComponent("eval-knn.json"))
        try write(#"{"protocol": "cluster", "nmi": 0.6512, "ari": 0.4821, "accuracy": 61.25, "clusters": 10}"#,
                  to: run.appendingPathComponent("eval-cluster.json"))
        try Montage.write(try montage(), name: "positives-epoch-10",
                          caption: "Epoch 10: four test anchors (blue) and their propagated positives",
                          runDirectory: run)
        return (root, run)
    }

    static let config = """
    {"dataset": {"name": "fashion-mnist", "root": "/usr/share/dataset-fashion-mnist", "channels": 1},
     "method": "invp", "model": {"backbone": "resnet18-cifar", "feature_dim": 128},
     "optimizer": {"lr": 0.03, "momentum": 0.9, "weight_decay": 0.0005, "milestones": [6, 8]},
     "invp": {"neighbors": 4, "temperature": 0.07, "hard_positives": 1, "warmup_epochs": 2},
     "epochs": 10, "batch_size": 128, "seed": 7, "knn_every": 2}
    """

    /// Plausible curves; some keys absent, some null, as a real log has them.
    static func metricsLines() -> [String] {
        (1...epochCount).map { epoch in
            let e = Double(epoch)
            var fields: [String] = ["\"epoch\": \(epoch)", "\"wall_seconds\": \(Double(epoch) * 95.5)"]
            let instance = 6.2 - 1.9 * log(e)
            if propagationEpochs.contains(epoch) {
                let invariance = 3.0 - 0.8 * log(e)
                fields.append("\"loss\": \(instance + invariance)")
                fields.append("\"loss_invariance\": \(invariance)")
                fields.append("\"purity_candidates\": \(0.55 + 0.03 * e)")
                fields.append("\"purity_hard\": \(0.42 + 0.035 * e)")
                fields.append("\"invariance_weight\": 1")
            } else {
                fields.append("\"loss\": \(instance)")
                fields.append("\"loss_invariance\": null")
                fields.append("\"invariance_weight\": 0")
            }
            fields.append("\"loss_instance\": \(instance)")
            fields.append("\"learning_rate\": \(epoch <= 6 ? 0.03 : epoch <= 8 ? 0.003 : 0.0003)")
            fields.append("\"images_per_second\": \(610 + (epoch * 37) % 23)")
            if knnEpochs.contains(epoch) {
                fields.append("\"knn_top1\": \(60 + 24 * (1 - exp(-e / 4)))")
                fields.append("\"knn_top5\": \(94 + 5 * (1 - exp(-e / 4)))")
                fields.append("\"knn_recomputed_top1\": \(64 + 22 * (1 - exp(-e / 4)))")
            } else if epoch == 1 {
                fields.append("\"knn_top1\": null")
            }
            return "{" + fields.joined(separator: ", ") + "}"
        }
    }

    /// 4 anchors × (anchor + 5 positives) of 28×28 grey "garments": a bright block whose size is the label.
    static func montage() throws -> DecodedImage {
        let labels: [[Int?]] = [[3, 3, 3, 5, 3, 3], [7, 7, 7, 7, 7, 7], [1, 1, 4, nil, 1, 4], [9, 9, 9, 9, 2, 9]]
        let rows = try labels.map { row in
            try row.enumerated().map { index, label in
                MontageCell(image: try garment(label: label ?? 0, variant: index),
                            border: index == 0 ? .anchor : BorderKind(anchorLabel: row[0], cellLabel: label))
            }
        }
        return try Montage.compose(rows: rows, cellSize: 56, padding: 4, borderWidth: 3)
    }

    /// A 28×28 grey image: a soft-edged rectangle whose width depends on `label`, shifted by `variant`.
    static func garment(label: Int, variant: Int) throws -> DecodedImage {
        var pixels = [UInt8](repeating: 12, count: 28 * 28)
        let half = 3 + label, top = 4 + variant % 3, bottom = 23 - variant % 2
        for y in top..<bottom {
            for x in max(0, 14 - half)..<min(28, 14 + half) {
                pixels[y * 28 + x] = UInt8(150 + (x * 5 + y * 3 + variant * 11) % 100)
            }
        }
        return try DecodedImage(height: 28, width: 28, channels: 1, pixels: pixels)
    }

    /// Writes UTF-8 text.
    static func write(_ text: String, to url: URL) throws {
        try Data(text.utf8).write(to: url)
    }
}
