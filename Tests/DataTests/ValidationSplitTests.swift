import Testing
@testable import Data

/// The validation split: disjoint from training, a pure function of its seed, independent of
/// `--train-subset`, and the renumbered training view that keeps bank rows aligned.
@Suite struct ValidationSplitTests {
    @Test func splitIsDisjointSortedAndSeeded() throws {
        let split = try TrainValidationSplit(total: 1000, validation: .count(100), seed: 0)
        #expect(split.validation.count == 100 && split.training.count == 900)
        #expect(Set(split.validation).isDisjoint(with: split.training))
        #expect(Set(split.validation + split.training) == Set(0..<1000))
        #expect(split.training == split.training.sorted() && split.validation == split.validation.sorted())
        #expect(try TrainValidationSplit(total: 1000, validation: .count(100), seed: 0) == split)
        #expect(try TrainValidationSplit(total: 1000, validation: .count(100), seed: 1).validation != split.validation)
        // Not the first or last images: a draw over the whole split.
        #expect(split.validation.first! < 100 && split.validation.last! > 900)
    }

    @Test func trainLimitKeepsTheSameValidationImages() throws {
        let whole = try TrainValidationSplit(total: 500, validation: .percent(10), seed: 3)
        let limited = try TrainValidationSplit(total: 500, validation: .percent(10), trainLimit: 200, seed: 3)
        #expect(whole.validation.count == 50 && limited.validation == whole.validation)
        #expect(limited.training == Array(whole.training.prefix(200)))
        let none = try TrainValidationSplit(total: 10, validation: nil, trainLimit: 4, seed: 0)
        #expect(none.training == [0, 1, 2, 3] && none.validation.isEmpty)
    }

    @Test func sizesParseAndBadOnesAreNamed() throws {
        #expect(try ValidationSize(parsing: "5000") == .count(5000))
        #expect(try ValidationSize(parsing: "10%") == .percent(10))
        #expect(ValidationSize.percent(12.5).description == "12.5%" && ValidationSize.count(7).description == "7")
        for bad in ["", "abc", "-1", "100%", "-3%", "x%"] {
            #expect(throws: DataError.self, "\(bad)") { try ValidationSize(parsing: bad) }
            do { _ = try ValidationSize(parsing: bad) } catch { #expect("\(error)".contains("--validation")) }
        }
        #expect(throws: DataError.self) { try TrainValidationSplit(total: 10, validation: .count(10), seed: 0) }
        #expect(throws: DataError.self) { try TrainValidationSplit(total: 10, validation: .count(6), seed: 0) }
        #expect(try TrainValidationSplit(total: 10, validation: .count(5), seed: 0).training.count == 5)
        // Without labels nothing can score the held-out images: all of them are trained on.
        let unlabelled = try TrainValidationSplit(total: 10, validation: .count(6), labelled: false, seed: 0)
        #expect(unlabelled.training == Array(0..<10) && unlabelled.validation.isEmpty)
    }

    @Test func indexedSubsetRenumbers() throws {
        let base = InMemoryDataset(count: 20, classCount: 4)
        let view = try IndexedSubset(base: base, indices: [3, 7, 19])
        #expect(view.count == 3 && view.label(at: 1) == base.label(at: 7))
        #expect(try view.image(at: 2) == base.image(at: 19))
        #expect(throws: DataError.self) { try view.image(at: 3) }
        #expect(throws: DataError.self) { try IndexedSubset(base: base, indices: [20]) }
    }
}
