import ArgumentParser
import Data
import Foundation

/// `invprop datasets`: what is installed, where, and how to get the rest.
struct DatasetsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "datasets",
        abstract: "List the datasets invprop reads, whether each is installed, and how to get it.")

    @Option(help: "Also look in this directory (as --data-dir does for train).") var dataDir: String?

    func run() throws {
        print("| dataset | installed | images | classes | splits | where / how to get it |")
        print("|---|---|---|---|---|---|")
        for s in DatasetCatalog.status(root: dataDir) {
            let place = s.installed ? (s.path ?? "") : s.howToGet
            print("| \(s.name) | \(s.installed ? "yes" : "no") | \(s.height)×\(s.width)×\(s.channels) | \(s.classes.map(String.init) ?? "-") | "
                  + "\(s.splits.map(\.rawValue).joined(separator: ", ")) | \(place) |")
        }
        print("| shapes | built in | 28×28×1 | 4 | train, test | synthetic bars at 4 angles, for smoke tests (--dataset shapes) |")
    }
}
