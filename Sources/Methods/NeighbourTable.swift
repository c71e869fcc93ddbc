/// The k-nearest-neighbour graph over the bank: row i holds k bank indices near entry i
/// ([N, k] Int32 row-major). Starts all zeros, as in the reference code; a row is refreshed only
/// when its image is in a batch (SPEC step 10).
public final class NeighbourTable {
    /// N, the number of rows.
    public let count: Int
    /// k, the neighbours per row.
    public let neighbours: Int
    /// The raw table: [N, k] row-major. Read it to checkpoint; restore with `restore(_:)`.
    public private(set) var storage: [Int32]

    /// An all-zero table of N rows and k columns.
    public init(count: Int, neighbours: Int) throws {
        guard count >= 1 else { throw MethodsError.invalidConfiguration("table size must be ≥ 1, got \(count)") }
        guard neighbours >= 1 else { throw MethodsError.invalidConfiguration("k must be ≥ 1, got \(neighbours)") }
        guard count <= Int(Int32.max) else { throw MethodsError.invalidConfiguration("table size \(count) exceeds Int32 indices") }
        self.count = count
        self.neighbours = neighbours
        storage = [Int32](repeating: 0, count: count * neighbours)
    }

    /// Replaces the table by a checkpointed copy of `storage` (entries must lie in 0..<N).
    public func restore(_ values: [Int32]) throws {
        try check(values)
        storage = values
    }

    /// Throws unless `values` could be restored: N × k entries, each in 0..<N.
    public func check(_ values: [Int32]) throws {
        guard values.count == count * neighbours else {
            throw MethodsError.invalidInput(
                "neighbour checkpoint has \(values.count) values, expected \(count) × \(neighbours)")
        }
        if let bad = values.first(where: { $0 < 0 || Int($0) >= count }) {
            throw MethodsError.invalidInput("neighbour checkpoint holds index \(bad) outside 0..<\(count)")
        }
    }

    /// Row i as a copy ([k]).
    public func row(_ i: Int) -> [Int32] { Array(storage[i * neighbours..<(i + 1) * neighbours]) }

    /// SPEC step 10. `nearest`: [B, k+1], each row the first k+1 background indices of the
    /// anchor in descending similarity (`InvPLossOutput.nearest`). An occurrence of the anchor's
    /// own index is replaced by the (k+1)-th entry, then the first k are kept, exactly as the
    /// reference `update_nn`. Rows are written in batch order (a repeated index: last wins).
    public func update(indices: [Int], nearest: [Int32]) throws {
        let k = neighbours
        guard nearest.count == indices.count * (k + 1) else {
            throw MethodsError.invalidInput(
                "nearest has \(nearest.count) values, expected batch \(indices.count) × (k+1 = \(k + 1))")
        }
        for (r, i) in indices.enumerated() {
            guard i >= 0 && i < count else {
                throw MethodsError.invalidInput("index \(i) of batch row \(r) outside 0..<\(count)")
            }
            let row = nearest[r * (k + 1)..<(r + 1) * (k + 1)]
            if let bad = row.first(where: { $0 < 0 || Int($0) >= count }) {
                throw MethodsError.invalidInput("nearest index \(bad) outside 0..<\(count)")
            }
        }
        for (r, i) in indices.enumerated() {
            let base = r * (k + 1)
            let backup = nearest[base + k]
            for c in 0..<k {
                let n = nearest[base + c]
                storage[i * k + c] = Int(n) == i ? backup : n
            }
        }
    }
}
