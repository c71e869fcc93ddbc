import Foundation
import ArgumentParser
import Testing
@testable import InvpropCLI
import Kernels
import Methods

/// The command line: help lists every command, and bad options are refused before any work
/// with a message that names the option.
@Suite struct CLITests {
    @Test func helpListsEveryCommand() {
        let help = InvpropCommand.helpMessage()
        for command in ["train", "eval", "embed", "export", "neighbors", "report", "datasets", "bench"] {
            #expect(help.contains(command), "help lacks \(command): \(help)")
        }
        let train = InvpropCommand.helpMessage(for: TrainCommand.self)
        // Each method's options have a section of their own.
        #expect(train.contains("MEMORY-BANK OPTIONS (METHODS INVP, NPID, INSTANCE, DARLING)") && train.contains("INVP OPTIONS (METHODS INVP, INSTANCE)"))
        #expect(train.contains("ODC OPTIONS (METHOD ODC)") && train.contains("COKE OPTIONS (METHOD COKE)") && train.contains("DARLING OPTIONS (METHOD DARLING)"))
        for option in ["--preset", "--recipe", "--validation", "--resume", "--propagation", "--precision", "--threads", "--checkpoint-every"] {
            #expect(train.contains(option), "train help lacks \(option)")
        }
    }

    @Test(arguments: [
        (["train", "--epochs", "0"], "--epochs"),
        (["train", "--precision", "fp16"], "--precision"),
        (["train", "--batch-size", "1"], "--batch-size"),
        (["train", "--lr", "-1"], "--lr"),
        (["train", "--resume"], "--output"),
        (["train", "--preset", "nope"], "nope"),
        (["train", "--milestones", "3,x"], "--milestones"),
        (["bench", "step", "--batch-size", "1"], "--batch-size"),
        (["bench", "data", "--runs", "0"], "--runs"),
        (["bench", "loss", "--background", "70000"], "--background"),
        (["bench", "loop", "--precision", "fp16"], "--precision"),
        (["bench", "loop", "--steps", "0"], "--steps"),
        (["bench", "loop", "--method", "odc"], "--method"),
        (["train", "--crop-scale", "0"], "--crop-scale"),
        (["train", "--bank-init", "zeros"], "--bank-init"),
        (["train", "--bank-precision", "fp16"], "--bank-precision"),
        (["train", "--method", "odc", "--bank-precision", "bf16"], "--bank-precision"),
        (["train", "--knn-features", "all"], "--knn-features"),
        (["train", "--validation", "abc"], "--validation"),
        (["train", "--method", "npid", "--hops", "2"], "--hops"),
        (["train", "--method", "npid", "--invariance-warmup", "2"], "--invariance-warmup"),
        (["train", "--method", "simclr"], "simclr"),
        (["train", "--clusters", "50"], "--clusters"),
        (["train", "--method", "odc", "--coke-ratio", "0.3"], "--coke-ratio"),
        (["train", "--method", "coke", "--hops", "2"], "--hops"),
        (["train", "--method", "invp", "--coke-encoder-norm"], "--coke-encoder-norm"),
        (["train", "--method", "npid", "--clusters", "30"], "--clusters"),
        (["train", "--method", "odc", "--unmix"], "--unmix"),
        (["train", "--method", "coke", "--coke-ratio", "1"], "--coke-ratio"),
        (["train", "--method", "coke", "--coke-clusters", "10,x"], "--coke-clusters"),
        (["train", "--method", "odc", "--min-cluster-size", "0"], "--min-cluster-size"),
        (["train", "--unmix-probability", "0.3"], "--unmix"),
        (["train", "--unmix", "--unmix-probability", "1.5"], "--unmix-probability"),
        (["train", "--unmix", "--unmix-beta", "0"], "--unmix-beta"),
        (["train", "--unmix-targets", "own"], "--unmix"),
        (["train", "--unmix", "--unmix-targets", "mine"], "--unmix-targets"),
        (["train", "--validation", "100%"], "--validation"),
        (["train", "--validation", "-5"], "--validation"),
        (["train", "--recipe", "/nonexistent/recipe.yaml"], "/nonexistent/recipe.yaml"),
        (["train", "--preset", "fashion-mnist", "--recipe", "x.yaml"], "--recipe"),
    ])
    func badOptionsAreNamed(arguments: [String], mentions: String) {
        do {
            var command = try InvpropCommand.parseAsRoot(arguments)
            try command.run()
            Issue.record("\(arguments) was accepted")
        } catch {
            let message = InvpropCommand.message(for: error)
            #expect(message.contains(mentions), "\(arguments): \(message)")
        }
    }

    /// `invprop bench loop` end to end on a small synthetic set: any train option reaches the
    /// timed runs, and the table has both methods' loop and bare-step rows and the loss parts at
    /// the run's bank size.
    @Test func benchLoopRunsEndToEnd() throws {
        let command = try #require(try InvpropCommand.parseAsRoot(
            ["bench", "loop", "--dataset", "shapes", "--train-subset", "300", "--validation", "0", "--width", "0.125",
             "--batch-size", "32", "--background", "64", "--steps", "2", "--warmup", "1", "--threads", "2"]) as? BenchLoop)
        let table = try command.measure()
        for row in ["| bare network step (beside invp) |", "| whole invp loop |", "| whole npid loop |", "| z = v·bankᵀ (N 300) |",
                    "| top-M selection (all threads) (N 300) |"] {
            #expect(table.contains(row), "bench loop's table lacks \(row):\n\(table)")
        }
        let npidOnly = try #require(try InvpropCommand.parseAsRoot(
            ["bench", "loop", "--dataset", "shapes", "--train-subset", "300", "--validation", "0", "--width", "0.125",
             "--batch-size", "32", "--background", "64", "--method", "npid", "--steps", "1", "--warmup", "1"]) as? BenchLoop)
        let npidTable = try npidOnly.measure()
        #expect(npidTable.contains("| whole npid loop |") && !npidTable.contains("| whole invp loop |"))
    }

    /// `--bank-precision` reaches the memory-bank options; the default preset asks for `auto`
    /// (bf16 where native), the others leave them nil (fp32).
    @Test func bankPrecisionOption() throws {
        let plain = try #require(try InvpropCommand.parseAsRoot(["train"]) as? TrainCommand).resolvedConfig()
        #expect(plain.invp.bankPrecision == .auto, "the default preset asks for bf16 where native")
        let bare = try #require(try InvpropCommand.parseAsRoot(["train", "--preset", "cifar10"]) as? TrainCommand).resolvedConfig()
        #expect(bare.invp.bankPrecision == nil)
        // `auto` is safe on any CPU (never refused, unlike bf16 without a bf16 matmul), a bank never
        // keeps it unresolved, and it means bf16 where the CPU runs bf16 natively.
        let bank = try MemoryBank(count: 8, dimension: 4, seed: 0)
        try bank.setProductPrecision(.auto)
        #expect(bank.productPrecision != .auto)
        if ComputeCapabilities.hasNativeBF16 && Gemm.bf16gemmAvailable {
            #expect(bank.productPrecision == .bf16)
        } else {
            #expect(bank.productPrecision == .fp32, "without a native bf16 matmul, auto means fp32")
        }
        #expect(BankPrecision.fp32.resolved == .fp32 && BankPrecision.bf16.resolved == .bf16)
        let bf16 = try #require(try InvpropCommand.parseAsRoot(["train", "--method", "npid", "--bank-precision", "bf16"]) as? TrainCommand).resolvedConfig()
        #expect(bf16.invp.bankPrecision == .bf16)
    }

    /// The default preset is the CPU recipe; `--invariance-warmup` alone turns its "none" ramp
    /// into the binary warm-up it asks for, and the paper's recipe stays available by name.
    @Test func defaultPresetAndWarmUpOverride() throws {
        let plain = try #require(try InvpropCommand.parseAsRoot(["train"]) as? TrainCommand).resolvedConfig()
        #expect(plain.preset == "fashion-mnist" && plain.bankInitialization == .features && plain.invp.warmUp == .none)
        #expect(plain.cropScaleMinimum == 0.8 && plain.monitorFeatures == .both)
        let warm = try #require(try InvpropCommand.parseAsRoot(["train", "--invariance-warmup", "3"]) as? TrainCommand).resolvedConfig()
        #expect(warm.invp.warmUp == .binary && warm.invp.warmUpEpochs == 3)
        let gaussian = try #require(try InvpropCommand.parseAsRoot(["train", "--invariance-warmup", "3", "--ramp", "gaussian"]) as? TrainCommand).resolvedConfig()
        #expect(gaussian.invp.warmUp == .gaussian)
        let paper = try #require(try InvpropCommand.parseAsRoot(["train", "--preset", "fashion-mnist-paper"]) as? TrainCommand).resolvedConfig()
        #expect(paper.bankInitialization == nil && paper.invp.warmUp == .binary && paper.invp.warmUpEpochs == 5)
        #expect(paper.augmentation == "fashion-mnist-invp" && paper.cropScaleMinimum == nil && paper.learningRate == 0.03)
    }

    /// The long preset is the command docs/results.md ran for its 88 % runs: the CPU preset of
    /// then (τ 0.1) with 28 epochs, 3 instance-only epochs and no flips (then written
    /// `--invariance-warmup 2`, when T counted one epoch more than the authors' code does).
    @Test func longPresetIsTheMeasuredCommand() throws {
        var long = try #require(try InvpropCommand.parseAsRoot(["train", "--preset", "fashion-mnist-long"]) as? TrainCommand).resolvedConfig()
        let flags = try #require(try InvpropCommand.parseAsRoot(
            ["train", "--epochs", "28", "--invariance-warmup", "3", "--augmentation", "fashion-mnist-invp", "--temperature", "0.1"]) as? TrainCommand).resolvedConfig()
        #expect(long.preset == "fashion-mnist-long")
        long.preset = flags.preset
        #expect(long == flags)
    }

    /// Resuming a run with another --method is refused, naming the run and the option.
    @Test func resumingWithAnotherMethodIsRefused() throws {
        let run = FileManager.default.temporaryDirectory.appendingPathComponent("invprop-cli-method-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: run) }
        let base = ["train", "--dataset", "shapes", "--validation", "0", "--train-subset", "128", "--width", "0.125", "--epochs", "1",
                    "--batch-size", "64", "--knn-every", "0", "--output", run]
        var first = try InvpropCommand.parseAsRoot(base + ["--method", "npid"])
        try first.run()
        var again = try InvpropCommand.parseAsRoot(base + ["--method", "invp", "--background", "64", "--resume"])
        #expect(throws: (any Error).self) { try again.run() }
        let refusal = #expect(throws: ValidationError.self) {
            try TrainCommand.refuseOtherMethod("invp", runMethod: "npid", directory: URL(fileURLWithPath: run))
        }
        let message = refusal.map { "\($0)" } ?? ""
        #expect(message.contains(run) && message.contains("npid run") && message.contains("--method invp"), "\(message)")
        #expect(throws: Never.self) { try TrainCommand.refuseOtherMethod(nil, runMethod: "npid", directory: URL(fileURLWithPath: run)) }
    }

    /// The epoch line prints fractions as percentages and other diagnostics with their units.
    @Test func diagnosticsArePrintedWithTheirUnits() {
        #expect(ProgressPrinter.formatted(0.1234, unit: "fraction") == "12.3 %")
        #expect(ProgressPrinter.formatted(20, unit: "images") == "20 images")
        #expect(ProgressPrinter.formatted(0.5, unit: nil) == "0.500")
        #expect(ProgressPrinter.formatted(3, unit: nil) == "3")
    }

    /// Every option of a method's option group is listed by some registry entry, so that giving
    /// it with another method is refused (an option missing from every list would be accepted
    /// silently and ignored).
    @Test func everyMethodOptionBelongsToARegistryEntry() {
        let listed = MethodRegistry.entries.reduce(Set<String>()) { $0.union($1.options) }
        let groups: [(String, String)] = [
            ("memory-bank", BankMethodOptions.helpMessage()), ("InvP", InvPOptions.helpMessage()),
            ("ODC", ODCCommandOptions.helpMessage()), ("CoKe", CoKeCommandOptions.helpMessage()),
            ("DARLING", DARLINGCommandOptions.helpMessage()),
        ]
        for (group, help) in groups {
            // Each option's line starts with its name, indented by two ("  --coke-clusters <coke-clusters>  K of …");
            // wrapped description lines are indented further.
            let names = help.split(separator: "\n").filter { $0.hasPrefix("  --") }
                .map { String($0.dropFirst(4).prefix { $0 != " " && $0 != "," }) }.filter { $0 != "help" }
            #expect(!names.isEmpty, "no options found in the \(group) group's help")
            for name in names { #expect(listed.contains(name), "--\(name) (\(group) options) is in no registry entry's option set") }
        }
    }
}
