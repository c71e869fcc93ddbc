import Foundation
import Testing
@testable import Methods

/// Method state restored from hostile checkpoint tensors (what `Checkpoint.restore` hands each
/// method as `method.<name>`): missing tensors, the wrong element type, wrong shapes, counts that
/// disagree with their shape, cluster labels and neighbour entries out of range, non-finite bank
/// rows and centres. Each is refused with a `MethodsError` naming the tensor, and the method's
/// state is left exactly as it was. The valid tensors of each hostile set come from a method of
/// another seed, so a restore that went through (or half through) would show.
@Suite struct HostileStateTests {
    /// Restores `hostile` into `method`: it must throw a `MethodsError` whose message contains
    /// `naming`, and leave `stateTensors()` (and `extra()`, for state outside them) unchanged.
    static func expectRefused(_ method: any TrainingMethod, _ hostile: [String: MethodStateTensor], naming: String,
                              _ label: String, extra: () -> [Float] = { [] },
                              sourceLocation: SourceLocation = #_sourceLocation) {
        let before = method.stateTensors(), extraBefore = extra()
        do {
            try method.restoreState(hostile)
            Issue.record("\(label): accepted", sourceLocation: sourceLocation)
        } catch let error as MethodsError {
            #expect("\(error)".contains(naming), "\(label): \(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(label): \(error) is not a MethodsError", sourceLocation: sourceLocation)
        }
        // Compared into a Bool first: a failed #expect on the dictionaries would print every value.
        let unchanged = method.stateTensors() == before, extraUnchanged = extra() == extraBefore
        #expect(unchanged, "\(label): the state changed", sourceLocation: sourceLocation)
        #expect(extraUnchanged, "\(label): derived state changed", sourceLocation: sourceLocation)
    }

    /// `tensors` with `name` replaced (nil: removed).
    static func with(_ tensors: [String: MethodStateTensor], _ name: String, _ value: MethodStateTensor?) -> [String: MethodStateTensor] {
        var out = tensors
        out[name] = value
        return out
    }

    /// The bank's hostile forms, shared by every method that keeps one as `method.bank` [N, D].
    static func bankCases(n: Int, d: Int, valid: [Float]) -> [(String, MethodStateTensor?, String)] {
        var nan = valid, infinite = valid
        nan[3] = .nan
        infinite[n * d - 1] = -.infinity
        return [
            ("bank missing", nil, "method.bank"),
            ("bank as int32", .int32s([Int32](repeating: 0, count: n * d), shape: [n, d]), "method.bank"),
            ("bank of the wrong shape", .floats(Array(valid.prefix((n - 1) * d)), shape: [n - 1, d]), "method.bank has shape [\(n - 1), \(d)]"),
            ("bank transposed", .floats(valid, shape: [d, n]), "method.bank has shape [\(d), \(n)]"),
            ("bank shorter than its shape", .floats(Array(valid.prefix(n)), shape: [n, d]), "\(n) values"),
            ("bank with NaN", .floats(nan, shape: [n, d]), "non-finite"),
            ("bank with -inf", .floats(infinite, shape: [n, d]), "non-finite"),
        ]
    }

    static let (n, d) = (40, 8)

    static func invp(seed: UInt64) throws -> InvariancePropagation {
        var c = InvPConfig(); c.backgroundCount = 16
        return try InvariancePropagation(config: c, datasetSize: n, dimension: d, seed: seed)
    }

    /// A donor's state: another seed's bank and a table that differs from the fresh one.
    static func invpDonor() throws -> [String: MethodStateTensor] {
        let donor = try invp(seed: 2)
        try donor.table.restore((0..<donor.table.storage.count).map { Int32(($0 * 7 + 3) % n) })
        return donor.stateTensors()
    }

    @Test func invpRefusesHostileBankAndTable() throws {
        let method = try Self.invp(seed: 1), valid = try Self.invpDonor()
        let k = method.table.neighbours
        #expect(Bool(valid != method.stateTensors()), "the donor must differ for a change to show")
        guard case .floats(let bank, _)? = valid["bank"], case .int32s(let table, _)? = valid["table"] else {
            Issue.record("the state lacks bank or table"); return
        }
        for (label, value, naming) in Self.bankCases(n: Self.n, d: Self.d, valid: bank) {
            Self.expectRefused(method, Self.with(valid, "bank", value), naming: naming, label)
        }
        for (label, value, naming) in [
            ("table missing", nil, "method.table"),
            ("table as float32", .floats(table.map(Float.init), shape: [Self.n, k]), "method.table"),
            ("table of the wrong shape", .int32s(table, shape: [k, Self.n]), "method.table"),
        ] as [(String, MethodStateTensor?, String)] {
            Self.expectRefused(method, Self.with(valid, "table", value), naming: naming, label)
        }
        // A table whose entries fail NeighbourTable.restore's checks (out of range, or fewer than
        // its shape says) is refused by name, but after the bank has been replaced:
        // InvariancePropagation.restoreState (Methods.swift) restores the bank before the table
        // checks its entries. Reported; the known issue fails this test once the order is fixed.
        var tableCases: [(String, [Int32], String)] = [
            ("table shorter than its shape", Array(table.dropLast()), "neighbour checkpoint has \(table.count - 1) values"),
        ]
        for bad: Int32 in [Int32(Self.n), -1, .max] {
            var entries = table
            entries[5] = bad
            tableCases.append(("table entry \(bad)", entries, "index \(bad) outside 0..<\(Self.n)"))
        }
        for (label, entries, naming) in tableCases {
            let before = method.stateTensors(), tableBefore = method.table.storage
            do {
                try method.restoreState(Self.with(valid, "table", .int32s(entries, shape: [Self.n, k])))
                Issue.record("\(label): accepted")
            } catch let error as MethodsError {
                #expect("\(error)".contains(naming), "\(label): \(error)")
            }
            #expect(method.table.storage == tableBefore, "\(label): the table changed")
            #expect(Bool(method.stateTensors() == before), "\(label): the bank changed")
        }
        // The donor itself is accepted, and then is the state.
        try method.restoreState(valid)
        #expect(Bool(method.stateTensors() == valid))
    }

    @Test func npidRefusesHostileBanks() throws {
        var c = NPIDConfig(); c.temperature = 0.1
        let method = try NPID(config: c, datasetSize: Self.n, dimension: Self.d, seed: 1)
        try Self.expectBankRefusals(method, valid: try NPID(config: c, datasetSize: Self.n, dimension: Self.d, seed: 2).stateTensors())
    }

    /// A method whose only state is its bank refuses every hostile bank unchanged, then takes
    /// `valid` (another seed's state).
    static func expectBankRefusals(_ method: any TrainingMethod, valid: [String: MethodStateTensor]) throws {
        #expect(Bool(valid != method.stateTensors()), "the donor must differ for a change to show")
        guard case .floats(let bank, _)? = valid["bank"] else { Issue.record("no bank"); return }
        for (label, value, naming) in bankCases(n: n, d: d, valid: bank) {
            expectRefused(method, with(valid, "bank", value), naming: naming, label)
        }
        try method.restoreState(valid)
        #expect(Bool(method.stateTensors() == valid))
    }

    @Test func darlingRefusesHostileBanks() throws {
        let domains = (0..<Self.n).map { Int32($0 % 3) }
        func make(_ seed: UInt64) throws -> DARLING {
            try DARLING(config: DARLINGConfig(), bankConfig: NPIDConfig(), trainingDomains: domains,
                        datasetSize: Self.n, dimension: Self.d, seed: seed)
        }
        try Self.expectBankRefusals(try make(1), valid: try make(2).stateTensors())
    }

    @Test func odcRefusesHostileState() throws {
        var c = ODCConfig(); c.clusters = 4; c.minimumClusterSize = 2
        let method = try OnlineDeepClustering(config: c, datasetSize: Self.n, dimension: Self.d, seed: 1)
        let donor = try OnlineDeepClustering(config: c, datasetSize: Self.n, dimension: Self.d, seed: 2)
        var valid = donor.stateTensors()
        valid["labels"] = .int32s((0..<Self.n).map { Int32($0 % 4) }, shape: [Self.n])
        valid["centroids"] = .floats((0..<4 * Self.d).map { Float($0) / 32 }, shape: [4, Self.d])
        valid["steps"] = .int32s([7], shape: [1])
        #expect(Bool(valid != method.stateTensors()), "the donor must differ for a change to show")
        let weights = { method.classWeights }
        guard case .floats(let bank, _)? = valid["bank"], case .int32s(let labels, _)? = valid["labels"],
              case .floats(let centroids, _)? = valid["centroids"] else { Issue.record("incomplete state"); return }
        for (label, value, naming) in Self.bankCases(n: Self.n, d: Self.d, valid: bank) {
            Self.expectRefused(method, Self.with(valid, "bank", value), naming: naming, label, extra: weights)
        }
        var high = labels, negative = labels, nan = centroids
        high[9] = 4
        negative[0] = -1
        nan[2] = .nan
        let cases: [(String, String, MethodStateTensor?, String)] = [
            ("labels missing", "labels", nil, "method.labels"),
            ("labels as float32", "labels", .floats(labels.map(Float.init), shape: [Self.n]), "method.labels"),
            ("labels of the wrong shape", "labels", .int32s(labels, shape: [Self.n / 2, 2]), "method.labels"),
            ("labels shorter than their shape", "labels", .int32s(Array(labels.dropLast()), shape: [Self.n]), "method.labels"),
            ("label K", "labels", .int32s(high, shape: [Self.n]), "cluster 4, outside 0..<4"),
            ("label -1", "labels", .int32s(negative, shape: [Self.n]), "cluster -1, outside 0..<4"),
            ("centroids missing", "centroids", nil, "method.centroids"),
            ("centroids of the wrong shape", "centroids", .floats(centroids, shape: [Self.d, 4]), "method.centroids"),
            ("centroids shorter than their shape", "centroids", .floats(Array(centroids.prefix(5)), shape: [4, Self.d]), "method.centroids"),
            ("centroids with NaN", "centroids", .floats(nan, shape: [4, Self.d]), "method.centroids contains non-finite"),
            ("steps missing", "steps", nil, "method.steps"),
            ("steps empty", "steps", .int32s([], shape: [1]), "method.steps"),
            ("steps negative", "steps", .int32s([-3], shape: [1]), "method.steps is -3"),
            ("steps as float32", "steps", .floats([7], shape: [1]), "method.steps"),
        ]
        for (label, name, value, naming) in cases {
            Self.expectRefused(method, Self.with(valid, name, value), naming: naming, label, extra: weights)
        }
        try method.restoreState(valid)
        #expect(Bool(method.stateTensors() == valid))
    }

    @Test func cokeRefusesHostileState() throws {
        var c = CoKeConfig(); c.clusters = [3, 5]; c.predictorWidth = 6
        func make(_ seed: UInt64) throws -> CoKe { try CoKe(config: c, datasetSize: Self.n, dimension: Self.d, backboneWidth: 6, seed: seed) }
        let method = try make(1)
        var valid = try make(2).stateTensors()
        valid["assignments"] = .int32s((0..<2 * Self.n).map { Int32($0 % 3) }, shape: [2, Self.n])
        #expect(Bool(valid != method.stateTensors()), "the donor must differ for a change to show")
        guard case .int32s(let assignments, _)? = valid["assignments"], case .floats(let centres, _)? = valid["centres_current.1"],
              case .floats(let duals, _)? = valid["duals.0"] else { Issue.record("incomplete state"); return }
        var high = assignments, negative = assignments, nan = centres, infinite = duals
        high[Self.n + 4] = 5          // row 1 (K = 5): its first valid label is 0..<5
        negative[2] = -1
        nan[7] = .nan
        infinite[1] = .infinity
        let cases: [(String, String, MethodStateTensor?, String)] = [
            ("assignments missing", "assignments", nil, "method.assignments"),
            ("assignments as float32", "assignments", .floats(assignments.map(Float.init), shape: [2, Self.n]), "method.assignments"),
            ("assignments of one head", "assignments", .int32s(Array(assignments.prefix(Self.n)), shape: [1, Self.n]), "method.assignments"),
            ("assignments shorter than their shape", "assignments", .int32s(Array(assignments.prefix(Self.n)), shape: [2, Self.n]), "method.assignments"),
            ("assignment K in head 1", "assignments", .int32s(high, shape: [2, Self.n]), "row 1 holds cluster 5, outside 0..<5"),
            ("assignment -1 in head 0", "assignments", .int32s(negative, shape: [2, Self.n]), "row 0 holds cluster -1, outside 0..<3"),
            ("current centres missing", "centres_current.1", nil, "method.centres_current.1"),
            ("current centres transposed", "centres_current.1", .floats(centres, shape: [5, Self.d]), "method.centres_current.1"),
            ("current centres shorter than their shape", "centres_current.1", .floats(Array(centres.prefix(9)), shape: [Self.d, 5]), "method.centres_current.1"),
            ("current centres with NaN", "centres_current.1", .floats(nan, shape: [Self.d, 5]), "method.centres_current.1 contains non-finite"),
            ("previous centres as int32", "centres_previous.0", .int32s([Int32](repeating: 0, count: 3 * Self.d), shape: [Self.d, 3]), "method.centres_previous.0"),
            ("duals with infinity", "duals.0", .floats(infinite, shape: [3]), "method.duals.0 contains non-finite"),
            ("duals of the wrong length", "duals.0", .floats(duals + [0], shape: [4]), "method.duals.0"),
            ("counters missing", "counters.1", nil, "method.counters.1"),
        ]
        for (label, name, value, naming) in cases {
            Self.expectRefused(method, Self.with(valid, name, value), naming: naming, label)
        }
        try method.restoreState(valid)
        #expect(Bool(method.stateTensors() == valid))
    }
}
