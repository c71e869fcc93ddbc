import ArgumentParser

/// The `invprop` command: subcommands for training, evaluation, data and benchmarks.
public struct InvpropCommand: ParsableCommand {
    /// The command's name, summary and subcommands.
    public static let configuration = CommandConfiguration(
        commandName: "invprop",
        abstract: "Self-supervised visual representations with Invariance Propagation, on a CPU.",
        subcommands: [TrainCommand.self, EvalCommand.self, EmbedCommand.self, ExportCommand.self, CurateCommand.self,
                      NeighborsCommand.self, ReportCommand.self, DatasetsCommand.self, BenchCommand.self, TuneCommand.self])
    /// Creates the command (ArgumentParser fills it from the arguments).
    public init() {}
}
