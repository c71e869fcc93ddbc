import ArgumentParser
import Testing
@testable import InvpropCLI

/// The command line: help lists every command, and bad options are refused before any work
/// with a message that names the option.
@Suite struct CLITests {
    @Test func helpListsEveryCommand() {
        let help = InvpropCommand.helpMessage()
        for command in ["train", "eval", "embed", "neighbors", "report", "datasets", "bench"] {
            #expect(help.contains(command), "help lacks \(command): \(help)")
        }
        let train = InvpropCommand.helpMessage(for: TrainCommand.self)
        for option in ["--preset", "--resume", "--propagation", "--precision", "--threads", "--checkpoint-every"] {
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
}
