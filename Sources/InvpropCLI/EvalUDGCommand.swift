import ArgumentParser
import Evaluation
import Foundation

/// `invprop eval udg`: the linear protocol of unsupervised domain generalization on a run
/// pre-trained on source domains (docs/domains.md).
struct EvalUDG: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "udg",
        abstract: "Linear probe (or --fine-tune) with 1/5/10/100 % of the labelled source images, tested on the target domain; writes eval-udg.json.",
        discussion: "For runs trained with --dataset pacs or domains and --target-domain. PACS uses its published fraction lists "
            + "(<domain>_train_<N>p_<split>.txt); a generic folder a seeded per-class draw in each source domain. Features are "
            + "computed once (evaluation transform, no augmentation); probe: SGD, the linear protocol's schedule. --fine-tune trains "
            + "the whole network on each fraction's images instead, with `invprop eval semisup`'s recipe.")

    @OptionGroup var source: CheckpointSource
    @Option(help: "Label fractions in percent, comma-separated (PACS publishes 1, 5, 10, 100).") var fractions = "1,5,10,100"
    @Flag(help: "Fine-tune the whole network on each fraction (eval semisup's recipe) instead of a linear probe; writes eval-udg-finetune.json.") var fineTune = false
    @Option(help: "Epochs (default: 100 for the probe, 30 fine-tuning).") var epochs: Int?
    @Option(help: "Learning rate (default: 0.3 for the probe on raw pooled features, chosen on PACS source validation; about 0.1 with --standardize; 0.0012 for the backbone when fine-tuning).") var lr: Float?
    @Option(help: "Batch size (default: 256 for the probe, 128 fine-tuning).") var batchSize: Int?
    @Option(help: "Fine-tuning only: the classifier's learning-rate multiplier over --lr (default 50, eval semisup's).") var classifierLrScale: Float?
    @Flag(help: "Standardise the features first (probe only; use a much lower --lr).") var standardize = false
    @Option(help: "Seed of the probe's or fine-tuning's initialisation and shuffles.") var seed: UInt64 = 0
    @Option(help: "What the probes (or fine-tunings) are scored on: target (the protocol), or source-validation (the source images the run held out, left out of every fraction; for choosing settings without the target; writes eval-udg-sourceval.json or eval-udg-finetune-sourceval.json).")
    var scoreOn: UDGScoring = .target
    @Option(help: "Result file (default: RUN_DIR/eval-udg.json, eval-udg-finetune.json, eval-udg-sourceval.json or eval-udg-finetune-sourceval.json).") var json: String?

    func validate() throws {
        let percents: [Int] = try parseList(fractions, option: "--fractions")
        guard percents.allSatisfy({ (1...100).contains($0) }) else { throw ValidationError("--fractions must be percentages in 1…100, got '\(fractions)'") }
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be ≥ 1, got \(epochs)") }
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be ≥ 1, got \(batchSize)") }
        if let lr, !(lr > 0 && lr.isFinite) { throw ValidationError("--lr must be > 0, got \(lr)") }
        if standardize && fineTune { throw ValidationError("--standardize applies to the linear probe, not to --fine-tune") }
        if let classifierLrScale {
            guard fineTune else { throw ValidationError("--classifier-lr-scale applies to --fine-tune, not to the linear probe") }
            guard classifierLrScale > 0, classifierLrScale.isFinite else { throw ValidationError("--classifier-lr-scale must be > 0, got \(classifierLrScale)") }
        }
        try checkOutputFile(json, option: "--json")
    }

    /// The protocol the options describe.
    func udgProtocol() throws -> UDGProtocol {
        let percents: [Int] = try parseList(fractions, option: "--fractions")
        guard fineTune else {
            // 0.3, not the linear protocol's 30: on PACS networks 30 does not converge (docs/domains.md).
            let probe = LinearProbe(learningRate: lr ?? 0.3, batchSize: batchSize ?? 256, epochs: epochs ?? 100, standardize: standardize, seed: seed)
            var udg = UDGProtocol(fractions: percents, probe: probe)
            udg.scoring = scoreOn
            return udg
        }
        let recipe = SemiSupervisedProtocol(labels: .fraction(1), seed: seed, learningRate: lr ?? 0.0012, classifierScale: classifierLrScale ?? 50,
                                            batchSize: batchSize ?? 128, epochs: epochs ?? 30, milestones: Self.milestones(epochs: epochs ?? 30))
        var udg = UDGProtocol(fractions: percents, fineTuning: recipe)
        udg.scoring = scoreOn
        return udg
    }

    /// The result file's default name in the run directory.
    var resultFileName: String {
        "eval-udg" + (fineTune ? "-finetune" : "") + (scoreOn == .sourceValidation ? "-sourceval" : "") + ".json"
    }

    /// The fine-tuning's ×0.1 milestones at 50, 67 and 83 % of the epochs (15, 20, 25 of 30).
    static func milestones(epochs: Int) -> [Int] { Array(Set([epochs / 2, epochs * 2 / 3, epochs * 5 / 6])).sorted().filter { $0 > 0 } }

    func run() throws {
        try reportingFailure {
            let session = try source.open()
            let path = try checkedResultPath(session, resultFileName, json: json)
            let result = try udgProtocol().run(session, progress: note)
            try EvaluationReport.write(result, to: path)
            print(UDGTable.markdown([result]), terminator: "")
            print("wrote \(path)")
        }
    }
}

/// `invprop eval udg-table`: the folds of a domain-generalization experiment side by side.
struct EvalUDGTable: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "udg-table",
        abstract: "Target-domain accuracy per fold and label fraction, with the mean over folds, from the eval-udg.json of several runs.")

    @Argument(help: "Run directories (each with eval-udg.json) or result files (eval-udg.json, eval-udg-finetune.json), one per target domain.") var runs: [String]

    func run() throws {
        try reportingFailure {
            let results = try runs.map { path -> UDGResult in
                var isDirectory: ObjCBool = false
                let file = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
                    ? (path as NSString).appendingPathComponent("eval-udg.json") : path
                return try EvaluationReport.read(UDGResult.self, from: file)
            }
            print(UDGTable.markdown(results), terminator: "")
        }
    }
}

/// The markdown table of UDG results: one row per fold (target domain), one column per fraction, and the mean.
enum UDGTable {
    /// Rows per target domain, columns per label fraction, top-1 in percent; a mean row when there are several folds.
    static func markdown(_ results: [UDGResult]) -> String {
        let percents = Array(Set(results.flatMap { $0.fractions.map(\.percent) })).sorted()
        var text = "| target domain | " + percents.map { "\($0) % labels" }.joined(separator: " | ") + " |\n"
        text += "|---|" + String(repeating: "---|", count: percents.count) + "\n"
        func score(_ r: UDGResult, _ p: Int) -> Double? { r.fractions.first { $0.percent == p }.map { 100 * $0.accuracy.top1 } }
        for r in results {
            let label = r.scoredOn == .sourceValidation ? "\(r.targetDomain) fold, source validation" : r.targetDomain
            text += "| \(label) | " + percents.map { score(r, $0).map { String(format: "%.2f", $0) } ?? "-" }.joined(separator: " | ") + " |\n"
        }
        if results.count > 1 {
            let means = percents.map { p -> String in
                let values = results.compactMap { score($0, p) }
                return values.count == results.count ? String(format: "%.2f", values.reduce(0, +) / Double(values.count)) : "-"
            }
            text += "| mean | " + means.joined(separator: " | ") + " |\n"
        }
        return text
    }
}
