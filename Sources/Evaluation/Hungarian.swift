/// An optimal one-to-one assignment of rows to columns.
public struct LinearAssignment: Codable, Equatable, Sendable {
    /// The column assigned to each row, [rows]; nil for rows left over when rows > columns.
    public var columnForRow: [Int?]
    /// The summed cost (or weight, for `maximumWeight`) of the assigned pairs.
    public var total: Double
}

/// The Hungarian algorithm (Kuhn–Munkres with potentials, O(n²·m)) for rectangular matrices,
/// the equivalent of `scipy.optimize.linear_sum_assignment`.
public enum Hungarian {
    /// The assignment minimising the summed cost; cost is [rows, columns] row-major. Every row is
    /// matched when rows ≤ columns, otherwise every column is.
    public static func minimumCost(_ cost: [Double], rows: Int, columns: Int) throws -> LinearAssignment {
        guard rows >= 0, columns >= 0, cost.count == rows * columns else {
            throw EvaluationError(.shapeMismatch, "cost matrix has \(cost.count) entries, expected \(rows) x \(columns)")
        }
        guard cost.allSatisfy({ $0.isFinite }) else {
            throw EvaluationError(.nonFinite, "cost matrix contains NaN or infinity")
        }
        if rows == 0 || columns == 0 {
            return LinearAssignment(columnForRow: [Int?](repeating: nil, count: rows), total: 0)
        }
        // The core needs rows ≤ columns; otherwise solve the transpose and invert the matching.
        if rows > columns {
            var transposed = [Double](repeating: 0, count: cost.count)
            for r in 0..<rows { for c in 0..<columns { transposed[c * rows + r] = cost[r * columns + c] } }
            let rowForColumn = solve(transposed, rows: columns, columns: rows)
            var columnForRow = [Int?](repeating: nil, count: rows)
            for (c, r) in rowForColumn.enumerated() { columnForRow[r] = c }
            return LinearAssignment(columnForRow: columnForRow, total: total(cost, columns, columnForRow))
        }
        let columnForRow: [Int?] = solve(cost, rows: rows, columns: columns)
        return LinearAssignment(columnForRow: columnForRow, total: total(cost, columns, columnForRow))
    }

    /// The assignment maximising the summed weight ([rows, columns] row-major).
    public static func maximumWeight(_ weight: [Double], rows: Int, columns: Int) throws -> LinearAssignment {
        var result = try minimumCost(weight.map { -$0 }, rows: rows, columns: columns)
        result.total = total(weight, columns, result.columnForRow)
        return result
    }

    private static func total(_ matrix: [Double], _ columns: Int, _ columnForRow: [Int?]) -> Double {
        var sum = 0.0
        for (r, c) in columnForRow.enumerated() { if let c { sum += matrix[r * columns + c] } }
        return sum
    }

    /// Shortest-augmenting-path Hungarian algorithm (1-based potentials u, v; p[j] = row matched
    /// to column j). Requires 1 ≤ rows ≤ columns; returns the column of every row.
    private static func solve(_ a: [Double], rows n: Int, columns m: Int) -> [Int] {
        var u = [Double](repeating: 0, count: n + 1)
        var v = [Double](repeating: 0, count: m + 1)
        var p = [Int](repeating: 0, count: m + 1)
        var way = [Int](repeating: 0, count: m + 1)
        for i in 1...n {
            p[0] = i
            var j0 = 0
            var minv = [Double](repeating: .infinity, count: m + 1)
            var used = [Bool](repeating: false, count: m + 1)
            repeat {
                used[j0] = true
                let i0 = p[j0]
                var delta = Double.infinity
                var j1 = 0
                for j in 1...m where !used[j] {
                    let current = a[(i0 - 1) * m + (j - 1)] - u[i0] - v[j]
                    if current < minv[j] {
                        minv[j] = current
                        way[j] = j0
                    }
                    if minv[j] < delta {
                        delta = minv[j]
                        j1 = j
                    }
                }
                for j in 0...m {
                    if used[j] {
                        u[p[j]] += delta
                        v[j] -= delta
                    } else {
                        minv[j] -= delta
                    }
                }
                j0 = j1
            } while p[j0] != 0
            // Flip the augmenting path back to the root.
            repeat {
                let j1 = way[j0]
                p[j0] = p[j1]
                j0 = j1
            } while j0 != 0
        }
        var columnForRow = [Int](repeating: 0, count: n)
        for j in 1...m where p[j] != 0 { columnForRow[p[j] - 1] = j - 1 }
        return columnForRow
    }
}
