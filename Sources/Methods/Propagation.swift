/// How positives are discovered from the neighbour table (SPEC step 6).
public enum PropagationMode: String, Sendable, Codable, CaseIterable {
    /// The reference code's concatenation: exactly Σ_{l=1..L} kˡ candidates, duplicates and the
    /// anchor itself allowed.
    case reference
    /// A true breadth-first search up to L hops: each node once, the anchor excluded.
    case exact
}

/// Candidate positives of one anchor from the neighbour table as it was before this step.
public enum Propagation {
    /// Σ_{l=1..L} kˡ, the reference candidate count (nil when it would exceed `limit`).
    public static func referenceCount(neighbours k: Int, hops: Int, limit: Int = 10_000_000) -> Int? {
        var total = 0, layer = 1
        for _ in 0..<max(hops, 0) {
            let (p, o) = layer.multipliedReportingOverflow(by: k)
            if o || p > limit { return nil }
            layer = p
            total += layer
            if total > limit { return nil }
        }
        return total
    }

    /// Reference mode (`propagate` in the authors' code): hop 1 is table[anchor]; hop l+1 is the
    /// concatenation of table[u] for each u of hop l in order. Returns Σ_{l=1..L} kˡ indices.
    public static func reference(anchor: Int, table: NeighbourTable, hops: Int) -> [Int32] {
        let k = table.neighbours
        var out = [Int32]()
        out.reserveCapacity(referenceCount(neighbours: k, hops: hops) ?? 0)
        if hops < 1 { return out }
        out.append(contentsOf: table.storage[anchor * k..<(anchor + 1) * k])
        var hopStart = 0
        for _ in 1..<hops {
            let hopEnd = out.count
            for p in hopStart..<hopEnd {
                let u = Int(out[p])
                out.append(contentsOf: table.storage[u * k..<(u + 1) * k])
            }
            hopStart = hopEnd
        }
        return out
    }

    /// Exact mode: breadth-first search up to `hops` hops; every reachable node once, in order of
    /// discovery, the anchor excluded.
    public static func exact(anchor: Int, table: NeighbourTable, hops: Int) -> [Int32] {
        let k = table.neighbours
        var seen: Set<Int32> = [Int32(anchor)]
        var out = [Int32]()
        var frontier = [Int32(anchor)]
        for _ in 0..<max(hops, 0) {
            var next = [Int32]()
            for u in frontier {
                for c in 0..<k {
                    let w = table.storage[Int(u) * k + c]
                    if seen.insert(w).inserted { next.append(w) }
                }
            }
            if next.isEmpty { break }
            out.append(contentsOf: next)
            frontier = next
        }
        return out
    }

    /// Dispatches on `mode`.
    public static func candidates(anchor: Int, table: NeighbourTable, hops: Int, mode: PropagationMode) -> [Int32] {
        switch mode {
        case .reference: return reference(anchor: anchor, table: table, hops: hops)
        case .exact: return exact(anchor: anchor, table: table, hops: hops)
        }
    }
}
