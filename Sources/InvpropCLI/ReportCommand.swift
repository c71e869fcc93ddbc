import ArgumentParser
import Foundation
import Report

/// `invprop report`: the self-contained HTML page of a run directory.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "report",
        abstract: "Write RUN_DIR/report.html: loss, learning rate, kNN and purity curves, evaluations, configuration, montages.")

    @Argument(help: "Run directory.") var runDirectory: String

    func run() throws {
        do {
            print(try RunReport.generate(runDirectory: URL(fileURLWithPath: runDirectory)).path)
        } catch {
            throw failure(error)
        }
    }
}
