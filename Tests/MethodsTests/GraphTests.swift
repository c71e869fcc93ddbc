import Testing
@testable import Methods

@Suite struct PropagationTests {
    /// N = 6, k = 2: 0→[1,2], 1→[0,3], 2→[3,4], 3→[5,5], 4→[1,0], 5→[2,3].
    static func graph() throws -> NeighbourTable {
        let t = try NeighbourTable(count: 6, neighbours: 2)
        try t.restore([1, 2, 0, 3, 3, 4, 5, 5, 1, 0, 2, 3])
        return t
    }

    /// Reference mode concatenates hop by hop: Σ kˡ entries, anchor and repeats kept, in order.
    @Test func referenceConcatenation() throws {
        let t = try Self.graph()
        #expect(Propagation.reference(anchor: 0, table: t, hops: 1) == [1, 2])
        #expect(Propagation.reference(anchor: 0, table: t, hops: 2) == [1, 2, 0, 3, 3, 4])
        let three = Propagation.reference(anchor: 0, table: t, hops: 3)
        #expect(three == [1, 2, 0, 3, 3, 4, 1, 2, 5, 5, 5, 5, 1, 0])
        #expect(three.count == 2 + 4 + 8)
        #expect(Propagation.reference(anchor: 3, table: t, hops: 4).count == 30)
        #expect(Propagation.referenceCount(neighbours: 4, hops: 3) == 84)
        #expect(Propagation.referenceCount(neighbours: 4, hops: 4) == 340)
        #expect(Propagation.referenceCount(neighbours: 1000, hops: 9) == nil)
    }

    /// Exact mode is a BFS: each node once, in discovery order, never the anchor.
    @Test func exactBreadthFirst() throws {
        let t = try Self.graph()
        #expect(Propagation.exact(anchor: 0, table: t, hops: 1) == [1, 2])
        #expect(Propagation.exact(anchor: 0, table: t, hops: 2) == [1, 2, 3, 4])
        #expect(Propagation.exact(anchor: 0, table: t, hops: 3) == [1, 2, 3, 4, 5])
        #expect(Propagation.exact(anchor: 0, table: t, hops: 9) == [1, 2, 3, 4, 5])
        #expect(Propagation.exact(anchor: 3, table: t, hops: 2) == [5, 2])
        // The initial all-zero table: only node 0, or nothing for anchor 0.
        let zeros = try NeighbourTable(count: 6, neighbours: 2)
        #expect(Propagation.exact(anchor: 4, table: zeros, hops: 3) == [0])
        #expect(Propagation.exact(anchor: 0, table: zeros, hops: 3) == [])
        #expect(Propagation.reference(anchor: 0, table: zeros, hops: 2) == [0, 0, 0, 0, 0, 0])
    }
}

@Suite struct NeighbourTableTests {
    /// SPEC step 10: the anchor's own index is replaced by the (k+1)-th nearest, only batch rows
    /// change, and an anchor in the (k+1)-th place simply drops out.
    @Test func updateExcludesAnchor() throws {
        let t = try NeighbourTable(count: 10, neighbours: 3)
        #expect(t.storage.allSatisfy { $0 == 0 })
        try t.update(indices: [7, 3, 0, 5], nearest: [7, 2, 5, 9,  1, 3, 4, 8,  6, 5, 4, 0,  1, 2, 3, 4])
        #expect(t.row(7) == [9, 2, 5])
        #expect(t.row(3) == [1, 8, 4])
        #expect(t.row(0) == [6, 5, 4])
        #expect(t.row(5) == [1, 2, 3])
        #expect(t.row(1) == [0, 0, 0])
        #expect(throws: MethodsError.self) { try t.update(indices: [1], nearest: [1, 2, 3]) }
        #expect(throws: MethodsError.self) { try t.update(indices: [1], nearest: [1, 2, 3, 10]) }
        #expect(throws: MethodsError.self) { try t.restore([Int32](repeating: -1, count: 30)) }
    }
}

@Suite struct MemoryBankTests {
    /// Initial values: uniform in ±1/√(D/3), seeded, not normalised.
    @Test func initialisation() throws {
        let a = try MemoryBank(count: 500, dimension: 12, seed: 3)
        let b = try MemoryBank(count: 500, dimension: 12, seed: 3)
        let c = try MemoryBank(count: 500, dimension: 12, seed: 4)
        let bound: Float = 1 / (12 / 3 as Float).squareRoot()
        #expect(a.storage == b.storage)
        #expect(a.storage != c.storage)
        #expect(a.storage.allSatisfy { abs($0) <= bound })
        #expect(a.storage.max()! > 0.95 * bound && a.storage.min()! < -0.95 * bound)
        let norm0 = a.entry(0).map { $0 * $0 }.reduce(0, +).squareRoot()
        #expect(abs(norm0 - 1) > 1e-4)
    }

    /// SPEC step 11: bank[i] = normalize(m·bank[i] + (1−m)·f/‖f‖); other rows untouched.
    @Test func momentumUpdate() throws {
        let bank = try MemoryBank(count: 5, dimension: 3, momentum: 0.5, seed: 1)
        try bank.restore([1, 0, 0,  0, 1, 0,  0, 0, 1,  1, 1, 0,  0, 0, 0.5])
        try bank.update(indices: [2, 0], features: [0, 2, 0,  0, 0, -4])
        // row 2: 0.5·(0,0,1) + 0.5·(0,1,0) → (0, 1, 1)/√2; row 0: (1,0,0)+(0,0,-1) → (1,0,-1)/√2
        let r = 1 / Float(2).squareRoot()
        for (x, y) in zip(bank.entry(2), [0, r, r]) { #expect(abs(x - y) < 1e-6) }
        for (x, y) in zip(bank.entry(0), [r, 0, -r]) { #expect(abs(x - y) < 1e-6) }
        #expect(bank.entry(1) == [0, 1, 0])
        #expect(bank.entry(4) == [0, 0, 0.5])
        #expect(throws: MethodsError.self) { try bank.update(indices: [5], features: [1, 0, 0]) }
        #expect(throws: MethodsError.self) { try bank.update(indices: [1], features: [.nan, 0, 0]) }
        #expect(throws: MethodsError.self) { try bank.restore([1, 2]) }
    }

    /// similarities and backProject are v·bankᵀ and g·bank.
    @Test func products() throws {
        let bank = try MemoryBank(count: 7, dimension: 4, seed: 9)
        let v: [Float] = [1, 2, 3, 4, -1, 0, 0.5, 2]
        var s = [Float](repeating: 0, count: 14)
        bank.similarities(v, batch: 2, into: &s)
        var dv = [Float](repeating: 0, count: 8)
        bank.backProject(s, batch: 2, into: &dv)
        for r in 0..<2 {
            for j in 0..<7 {
                let want = (0..<4).map { v[r * 4 + $0] * bank.storage[j * 4 + $0] }.reduce(0, +)
                #expect(abs(s[r * 7 + j] - want) < 1e-5)
            }
            for c in 0..<4 {
                let want = (0..<7).map { s[r * 7 + $0] * bank.storage[$0 * 4 + c] }.reduce(0, +)
                #expect(abs(dv[r * 4 + c] - want) < 1e-4)
            }
        }
    }
}
