import ArgumentParser
import Foundation
import Testing
@testable import InvpropCLI
@testable import Training

/// `invprop tune`: the halving schedule, its budget, the candidates and the recipe it writes.
@Suite struct TuneTests {
    func candidates(_ n: Int) -> [TuneCandidate] {
        (0..<n).map { TuneCandidate(name: "c\($0)", overrides: $0 == 0 ? [:] : ["lr": "\($0)"]) }
    }

    /// With scores that grow with the candidate number, each rung keeps the best half and
    /// doubles the epochs; the winner is the best of the last rung.
    @Test func halvingKeepsTheBestHalfAndDoublesEpochs() throws {
        let halving = try SuccessiveHalving(candidates: candidates(8), firstEpochs: 1, eta: 2, budgetSeconds: 1e9)
        var calls: [(String, Int, Int)] = []
        let result = try halving.run(trial: { c, epochs, rung in
            calls.append((c.name, epochs, rung))
            return (Double(c.name.dropFirst())! + Double(epochs), 1)
        }, elapsed: { 0 })
        #expect(calls.filter { $0.2 == 0 }.count == 8 && calls.filter { $0.2 == 1 }.map(\.0) == ["c7", "c6", "c5", "c4"])
        #expect(calls.filter { $0.2 == 2 }.map(\.0) == ["c7", "c6"] && calls.filter { $0.2 == 2 }.allSatisfy { $0.1 == 4 })
        #expect(result.winner.candidate.name == "c7" && result.winner.rung == 2 && result.trials.count == 14)
    }

    /// A trial starts only when the seconds per epoch seen so far say it ends within the budget.
    @Test func budgetStopsBeforeATrialThatWouldOverrun() throws {
        let halving = try SuccessiveHalving(candidates: candidates(4), firstEpochs: 2, eta: 2, budgetSeconds: 10)
        var now = 0.0
        let result = try halving.run(trial: { c, epochs, _ in
            now += Double(epochs)   // one second per epoch
            return (Double(c.name.dropFirst())!, Double(epochs))
        }, elapsed: { now })
        // Rung 1: four trials of 2 epochs (8 s); rung 2 would need 4 s more: refused.
        #expect(result.trials.count == 4 && result.winner.candidate.name == "c3" && now <= 10)
    }

    /// The combination of the first rung's winners joins the second rung after its best.
    @Test func combinationJoinsTheSecondRung() throws {
        let list = [TuneCandidate(name: "base", overrides: [:]), TuneCandidate(name: "lr 0.1", overrides: ["lr": "0.1"]),
                    TuneCandidate(name: "lr 0.2", overrides: ["lr": "0.2"]), TuneCandidate(name: "width 0.5", overrides: ["width": "0.5"]),
                    TuneCandidate(name: "crop-scale 1", overrides: ["crop-scale": "1"])]
        let scores = ["base": 50.0, "lr 0.1": 55, "lr 0.2": 53, "width 0.5": 52, "crop-scale 1": 40]
        var second: [String] = []
        let halving = try SuccessiveHalving(candidates: list, firstEpochs: 1, budgetSeconds: 1e9)
        _ = try halving.run(trial: { c, _, rung in
            if rung == 1 { second.append(c.name) }
            return (scores[c.name] ?? 60, 1)
        }, combine: TuneLevers.combination, elapsed: { 0 })
        #expect(second == ["lr 0.1", "combined: lr 0.1, width 0.5", "lr 0.2"])
    }

    @Test func candidatesFollowTheBase() throws {
        let base = try Recipe.builtin(named: "fashion-mnist").configuration()
        let names = TuneLevers.candidates(for: base, levers: TuneLevers.all).map(\.name)
        #expect(names.first == "base" && names.contains("flip on") && names.contains("bank-init random") && names.contains("width 0.5"))
        #expect(!names.contains("crop-scale 0.8") && names.contains("lr 0.12") && names.contains("lr 0.03"))
        #expect(names.contains("head mlp") && names.contains("batch-size 64") && names.contains("positives 40") && names.contains("lr-warmup 1"))
        var npid = base
        npid.method = "npid"
        #expect(TuneLevers.candidates(for: npid, levers: ["warmup", "positives", "lambda"]).map(\.name) == ["base"])
        // Every candidate's options parse as train options.
        for candidate in TuneLevers.candidates(for: base, levers: TuneLevers.all) {
            var c = base
            try TrainOptions.parse(candidate.overrides.flatMap { ["--\($0.key)", $0.value] }).apply(to: &c)
            try c.validate()
        }
    }

    /// The options given to tune are written back into the recipe: each option parses back to itself.
    @Test func givenArgumentsRoundTrip() throws {
        let arguments = ["--dataset", "shapes", "--train-subset", "300", "--width", "0.125", "--background", "128", "--stem", "imagenet",
                         "--head", "mlp", "--propagation", "exact", "--nesterov", "--no-purity", "--knn-k", "7", "--validation", "10%",
                         "--milestones", "3,5", "--bank-init", "features", "--lr-warmup", "1.5"]
        let options = try TrainOptions.parse(arguments)
        let again = try TrainOptions.parse(options.givenArguments)
        var a = TrainingConfig(), b = TrainingConfig()
        try options.apply(to: &a)
        try again.apply(to: &b)
        #expect(a == b && options.givenArguments.count == arguments.count)
        #expect(try TrainOptions.parse([]).givenArguments.isEmpty)
    }

    /// End to end on synthetic data: the screening writes a recipe that trains, and never reads
    /// the test split (no trial's record holds a test score).
    @Test func tuneWritesARecipeThatTrains() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("invprop-tune-\(UUID().uuidString)")
        let tune = try #require(try InvpropCommand.parseAsRoot(
            ["tune", "--dataset", "shapes", "--train-subset", "200", "--validation", "20%", "--width", "0.125", "--batch-size", "32",
             "--background", "64", "--knn-k", "10", "--minutes", "5", "--screen-subset", "160", "--first-epochs", "1",
             "--levers", "lr,bank-init", "--threads", "2", "--output", directory.path]) as? TuneCommand)
        try tune.run()
        let recipe = directory.appendingPathComponent("recipe.yaml").path
        let lines = try String(contentsOfFile: directory.appendingPathComponent("tune.jsonl").path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count >= 4)
        let trials = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix("trial-") }
        for trial in trials {
            let metrics = try String(contentsOfFile: directory.appendingPathComponent(trial).appendingPathComponent("metrics.jsonl").path, encoding: .utf8)
            #expect(!metrics.contains("test_knn") && metrics.contains("\"monitor_split\":\"validation\""))
        }
        let config = try #require(try InvpropCommand.parseAsRoot(["train", "--recipe", recipe, "--epochs", "1"]) as? TrainCommand).resolvedConfig()
        #expect(config.dataset == "shapes" && config.trainSubset == 200 && config.validation == .percent(20) && config.preset == recipe)
    }

    @Test(arguments: [
        (["tune", "--minutes", "0"], "--minutes"),
        (["tune", "--levers", "lr,magic"], "magic"),
        (["tune", "--eta", "1"], "--eta"),
        (["tune", "--first-epochs", "0"], "--first-epochs"),
        (["tune", "--epochs", "0"], "--epochs"),
        (["tune", "--method", "npid", "--hops", "2"], "--hops"),
        (["tune", "--preset", "fashion-mnist", "--recipe", "x.yaml"], "--recipe"),
    ])
    func badTuneOptionsAreNamed(arguments: [String], mentions: String) {
        do {
            _ = try InvpropCommand.parseAsRoot(arguments)
            Issue.record("\(arguments) was accepted")
        } catch {
            #expect(InvpropCommand.message(for: error).contains(mentions), "\(InvpropCommand.message(for: error))")
        }
    }
}
