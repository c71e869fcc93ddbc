import Foundation
import Testing
@testable import Evaluation

/// Where results go: a file where a folder is needed, a missing folder or a folder where a file
/// is needed is named with the real reason, both by the up-front check and by the writers.
@Suite struct OutputLocationTests {
    @Test func fileProblemsAreNamed() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/afile"
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        #expect(OutputLocation.fileProblem(directory + "/result.json") == nil)
        #expect(OutputLocation.fileProblem(file) == nil, "an existing file is replaced")
        #expect(OutputLocation.fileProblem(file + "/x.json") == "\(file) is a file, not a folder, so \(file)/x.json cannot be created")
        #expect(OutputLocation.fileProblem(file + "/deeper/x.json")?.hasPrefix("\(file) is a file, not a folder") == true)
        #expect(OutputLocation.fileProblem(directory + "/missing/x.json") == "the folder \(directory)/missing does not exist")
        #expect(OutputLocation.fileProblem(directory) == "\(directory) is a folder; give a file name")
        #expect(OutputLocation.fileProblem("relative-result.json") == nil)
    }

    @Test func folderProblemsAreNamed() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/afile"
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        #expect(OutputLocation.folderProblem(directory) == nil)
        #expect(OutputLocation.folderProblem(directory + "/new/deeper") == nil, "missing folders are created")
        #expect(OutputLocation.folderProblem(file) == "\(file) is a file, not a folder")
        #expect(OutputLocation.folderProblem(file + "/sub") == "\(file) is a file, not a folder, so \(file)/sub cannot be created")
    }

    /// The writers used to say "The file doesn't exist" when a parent was a file.
    @Test func writersGiveTheRealReason() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/afile"
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        let report = try ClassificationReport(scores: [0.9, 0.1, 0.2, 0.8], labels: [0, 1], classCount: 2)
        let knn = KNNResult(context: EvaluationContext(), knn: WeightedKNN(), report: report, trainCount: 2, dimension: 2, seconds: 0)
        do {
            try EvaluationReport.write(knn, to: file + "/knn.json")
            Issue.record("wrote under a file")
        } catch let error as EvaluationError {
            #expect(error.message.contains("\(file) is a file, not a folder"), "\(error.message)")
        }
        let embeddings = try Embeddings(features: [1, 2], dimension: 2, indices: [0], labels: [0])
        do {
            try embeddings.writeNumpy(directory: file + "/embeddings")
            Issue.record("wrote under a file")
        } catch let error as EvaluationError {
            #expect(error.message.contains("\(file) is a file, not a folder"), "\(error.message)")
        }
    }
}
