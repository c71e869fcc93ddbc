import Foundation
import Kernels

/// Checks a feature batch f: [B, D] (finite, no zero rows) and the dataset indices: [B].
/// Returns B. A NaN here would otherwise silently poison the bank and the neighbour table.
func validateBatch(features: [Float], indices: [Int], dimension: Int, datasetSize: Int) throws -> Int {
    let b = indices.count
    guard b > 0 else { throw MethodsError.invalidInput("empty batch") }
    guard features.count == b * dimension else {
        throw MethodsError.invalidInput(
            "features have \(features.count) values, expected batch \(b) × dimension \(dimension)")
    }
    for (row, i) in indices.enumerated() where i < 0 || i >= datasetSize {
        throw MethodsError.invalidInput("index \(i) of batch row \(row) outside 0..<\(datasetSize)")
    }
    for row in 0..<b {
        var sq: Float = 0
        for c in 0..<dimension {
            let x = features[row * dimension + c]
            guard x.isFinite else {
                throw MethodsError.invalidInput("feature [\(row), \(c)] is not finite (\(x))")
            }
            sq += x * x
        }
        guard sq > 0 else { throw MethodsError.invalidInput("feature row \(row) is all zeros") }
    }
    return b
}

/// v = f / ‖f‖ row by row (f, v: [B, D]); also returns ‖f‖ per row ([B]) for the backward pass.
func l2NormalizeRows(_ f: [Float], rows: Int, dimension d: Int) -> (v: [Float], norms: [Float]) {
    var v = [Float](repeating: 0, count: rows * d)
    var norms = [Float](repeating: 0, count: rows)
    for r in 0..<rows {
        var sq: Float = 0
        for c in 0..<d { sq += f[r * d + c] * f[r * d + c] }
        let n = sq.squareRoot()
        norms[r] = n
        for c in 0..<d { v[r * d + c] = f[r * d + c] / n }
    }
    return (v, norms)
}

/// Backward of v = f/‖f‖: df = (dv − v·(v·dv)) / ‖f‖, row by row (all [B, D]).
func l2NormalizeBackward(v: [Float], norms: [Float], dv: [Float], rows: Int, dimension d: Int) -> [Float] {
    var df = [Float](repeating: 0, count: rows * d)
    for r in 0..<rows {
        var dot: Float = 0
        for c in 0..<d { dot += v[r * d + c] * dv[r * d + c] }
        for c in 0..<d { df[r * d + c] = (dv[r * d + c] - v[r * d + c] * dot) / norms[r] }
    }
    return df
}

/// v = f/‖f‖ ([B, D]) and z = v·bankᵀ into `scores` ([B, N], resized only when B changes);
/// returns v and ‖f‖ for the backward pass.
func normalizedSimilarities(
    _ f: [Float], batch b: Int, bank: MemoryBank, into scores: inout [Float]
) -> (v: [Float], norms: [Float]) {
    let (v, norms) = l2NormalizeRows(f, rows: b, dimension: bank.dimension)
    if scores.count != b * bank.count { scores = [Float](repeating: 0, count: b * bank.count) }
    v.withUnsafeBufferPointer { vp in
        scores.withUnsafeMutableBufferPointer { sp in
            bank.similarities(vp.baseAddress!, batch: b, into: sp.baseAddress!)
        }
    }
    return (v, norms)
}
