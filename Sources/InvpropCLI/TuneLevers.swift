import Data
import Methods
import Foundation
import Training

/// The recipe levers `invprop tune` screens (those that moved kNN accuracy in docs/results.md)
/// and the recipe file it writes.
enum TuneLevers {
    /// The levers screened by default (those that moved kNN accuracy in docs/results.md), in order.
    static let standard = ["crop-scale", "flip", "lr", "warmup", "bank-init", "temperature", "width"]
    /// Every lever `--levers` accepts: the standard ones, then more of the recipe's knobs.
    static let all = standard + ["head", "bank-momentum", "batch-size", "lr-warmup", "lambda", "positives"]

    /// The base and one candidate per alternative value of each lever that applies to `c`.
    static func candidates(for c: TrainingConfig, levers: [String]) -> [TuneCandidate] {
        var list = [TuneCandidate(name: "base", overrides: [:])]
        func add(_ lever: String, _ option: String, _ value: String, _ extra: [String: String] = [:], label: String? = nil) {
            list.append(TuneCandidate(name: "\(lever) \(label ?? value)", overrides: [option: value].merging(extra) { a, _ in a }))
        }
        // Whether the method in use reads an option (NPID has no warm-up or positives).
        func reads(_ option: String) -> Bool { MethodRegistry.entry(c.method)?.options.contains(option) == true }
        for lever in levers {
            switch lever {
            case "crop-scale":
                for value in [0.2, 0.5, 0.8, 1.0] where value != (c.cropScaleMinimum ?? 0.2) { add(lever, "crop-scale", format(value)) }
            case "flip":
                // Flips exist as pairs of augmentation presets ("X" and "X-flip").
                let names = Set(AugmentationPresets.catalog.map(\.name))
                if c.augmentation.hasSuffix("-flip") {
                    add(lever, "augmentation", String(c.augmentation.dropLast(5)), label: "off")
                } else if names.contains(c.augmentation + "-flip") {
                    add(lever, "augmentation", c.augmentation + "-flip", label: "on")
                }
            case "lr":
                for factor in [0.5, 2.0] { add(lever, "lr", format(Double(c.learningRate) * factor)) }
            case "warmup" where reads("invariance-warmup"):
                let current = c.invp.warmUp == .none ? 0 : c.invp.warmUpEpochs
                for t in [0, 1, 3] where t != current {
                    add(lever, "invariance-warmup", String(t), ["ramp": t == 0 ? "none" : "binary"])
                }
            case "bank-init" where reads("bank-init"):
                add(lever, "bank-init", c.bankInitialization == .features ? "random" : "features")
            case "temperature" where reads("temperature"):
                for value in [0.07, 0.2] where abs(value - Double(c.invp.temperature)) > 1e-6 { add(lever, "temperature", format(value)) }
            case "width":
                add(lever, "width", format(c.model.width * 2))
            case "head":
                add(lever, "head", c.model.head == .mlp ? "linear" : "mlp")
            case "bank-momentum" where reads("bank-momentum"):
                for value in [0.2, 0.8] where abs(value - Double(c.invp.momentum)) > 1e-6 { add(lever, "bank-momentum", format(value)) }
            case "batch-size":
                for value in [c.batchSize / 2, c.batchSize * 2] where value >= 2 { add(lever, "batch-size", String(value)) }
            case "lr-warmup" where c.warmupEpochs == 0:
                add(lever, "lr-warmup", "1")
            case "lambda" where reads("lambda"):
                for value in [0.3, 1.0] where abs(value - Double(c.invp.invarianceWeight)) > 1e-6 { add(lever, "lambda", format(value)) }
            case "positives" where reads("positives"):
                for value in [c.invp.positiveCount / 2, c.invp.positiveCount * 2] where value >= 1 { add(lever, "positives", String(value)) }
            default: break
            }
        }
        return list
    }

    /// The first rung's winners together: for each lever whose best value beat the base, that
    /// value (nil when fewer than two levers did, as the single change is already a candidate).
    static func combination(_ firstRung: [TuneTrial]) -> TuneCandidate? {
        guard let base = firstRung.first(where: { $0.candidate.overrides.isEmpty }) else { return nil }
        var bestPerLever: [String: TuneTrial] = [:]
        for trial in firstRung where trial.score > base.score && !trial.candidate.overrides.isEmpty {
            let lever = String(trial.candidate.name.split(separator: " ").first ?? "")
            if trial.score > (bestPerLever[lever]?.score ?? -1) { bestPerLever[lever] = trial }
        }
        guard bestPerLever.count >= 2 else { return nil }
        let winners = bestPerLever.keys.sorted().map { bestPerLever[$0]! }
        var overrides: [String: String] = [:]
        for trial in winners { overrides.merge(trial.candidate.overrides) { a, _ in a } }
        return TuneCandidate(name: "combined: " + winners.map(\.candidate.name).joined(separator: ", "), overrides: overrides)
    }

    /// The recipe file of the winner: the base recipe, the validation split it was chosen on, and
    /// the winner's options, with the screening summarised in comments.
    static func recipeText(winner: TuneTrial, base: Recipe, fixed: [String], config: TrainingConfig, trials: [TuneTrial]) -> String {
        var lines = ["# Written by `invprop tune` on \(ISO8601DateFormatter().string(from: Date())).",
                     "# Chosen by validation kNN top-1 (\(config.validation!) training images held out, seed \(config.validationSeed ?? 0));",
                     "# the test split was not read. Trials (rung, epochs, validation kNN, candidate):"]
        for t in trials { lines.append(String(format: "#   %d  %3d  %6.2f  %@", t.rung + 1, t.epochs, t.score, t.candidate.name)) }
        lines += ["preset: \(yamlScalar(base.name))",
                  "description: \(yamlScalar("tuned from \(base.name): \(winner.candidate.name)"))",
                  "validation: \(yamlScalar(config.validation!.description))"]
        // The options given to tune, then the winner's (which override them, as in screening).
        var options: [(String, String)] = []
        var index = 0
        while index < fixed.count {
            let key = String(fixed[index].dropFirst(2))
            let hasValue = index + 1 < fixed.count && !fixed[index + 1].hasPrefix("--")
            options.append((key, hasValue ? fixed[index + 1] : "true"))
            index += hasValue ? 2 : 1
        }
        options.removeAll { key, _ in key == "validation" || winner.candidate.overrides[key] != nil }
        for (key, value) in options { lines.append("\(key): \(yamlScalar(value))") }
        for (key, value) in winner.candidate.overrides.sorted(by: { $0.key < $1.key }) { lines.append("\(key): \(yamlScalar(value))") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A value as YAML reads it back as the same text (quoted when it could read otherwise).
    static func yamlScalar(_ text: String) -> String {
        let plain = text.allSatisfy { $0.isLetter || $0.isNumber || "-._/".contains($0) } && !text.isEmpty
        return plain ? text : "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// Shortest decimal form: 0.5, 0.12, 1.
    static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%g", value)
    }
}
