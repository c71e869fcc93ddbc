import ArgumentParser
import Evaluation
import Foundation

/// `invprop eval udg`: the linear protocol of unsupervised domain generalization on a run
/// pre-trained on source domains (docs/domains.md).
struct EvalUDG: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "udg",
        abstract: "Linear probe on the frozen backbone with 1/5/10/100 % of the labelled source images, tested on the target domain; writes eval-udg.json.",
        discussion: "For runs trained with --dataset pacs or domains and --target-domain. PACS uses its published fraction lists "
            + "(<domain>_train_<N>p_<split>.txt); a generic folder a seeded per-class draw in each source domain. Features are "
            + "computed once (evaluation transform, no augmentation); probe: SGD, the linear protocol's schedule. For fine-tuning "
            + "with a label fraction, `invprop eval semisup RUN --labels 10%` trains on the source images and tests on the target.")

    @OptionGroup var source: CheckpointSource
    @Option(help: "Label fractions in percent, comma-separated (PACS publishes 1, 5, 10, 100).") var fractions = "1,5,10,100"
    @Option(help: "Probe epochs.") var epochs = 100
    @Option(help: "Probe learning rate (30 suits raw pooled features; use about 0.1–1 with --standardize).") var lr: Float = 30
    @Option(help: "Probe batch size.") var batchSize = 256
    @Flag(help: "Standardise the features first (use a much lower --lr).") var standardize = false
    @Option(help: "Seed of the probe's initialisation and shuffles.") var seed: UInt64 = 0
    @Option(help: "Result file (default: RUN_DIR/eval-udg.json).") var json: String?

    func validate() throws {
        let percents: [Int] = try parseList(fractions, option: "--fractions")
        guard percents.allSatisfy({ (1...100).contains($0) }) else { throw ValidationError("--fractions must be percentages in 1…100, got '\(fractions)'") }
        guard epochs >= 1 else { throw ValidationError("--epochs must be ≥ 1, got \(epochs)") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be ≥ 1, got \(batchSize)") }
        guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be > 0, got \(lr)") }
    }

    func run() throws {
        try reportingFailure {
            let probe = LinearProbe(learningRate: lr, batchSize: batchSize, epochs: epochs, standardize: standardize, seed: seed)
            let session = try source.open()
            let result = try UDGProtocol(fractions: try parseList(fractions, option: "--fractions"), probe: probe).run(session, progress: note)
            let path = session.resultPath("eval-udg.json", json: json)
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

    @Argument(help: "Run directories (each with eval-udg.json) or eval-udg.json files, one per target domain.") var runs: [String]

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
            text += "| \(r.targetDomain) | " + percents.map { score(r, $0).map { String(format: "%.2f", $0) } ?? "-" }.joined(separator: " | ") + " |\n"
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
