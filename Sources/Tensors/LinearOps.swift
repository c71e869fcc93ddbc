import Kernels

extension Tensor {
    /// Fully connected layer: x [B, I] · weightᵀ ([O, I], PyTorch's layout) + bias [O] → [B, O],
    /// in fp32 (heads are small; the convolutions dominate the cost).
    public static func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) throws -> Tensor {
        guard x.shape.count == 2, weight.shape.count == 2, x.shape[1] == weight.shape[1] else {
            throw TensorError.shapeMismatch("linear: input \(x.shape) and weight \(weight.shape) (expected [B, I] and [O, I])")
        }
        let (b, i, o) = (x.shape[0], x.shape[1], weight.shape[0])
        if let bias, bias.shape != [o] { throw TensorError.shapeMismatch("linear: bias \(bias.shape) must be [\(o)]") }
        let xp = x.plainF32(), wp = weight.plainF32(), bp = bias?.plainF32()
        defer { withExtendedLifetime((xp, wp, bp)) {} }   // pointers into it are used below
        let y = Tensor(layout: Layout.plain([b, o], .f32))
        if let bp { for r in 0..<b { (y.floats + r * o).update(from: bp.floats, count: o) } }
        Gemm.sgemm(transA: false, transB: true, m: b, n: o, k: i, a: xp.floats, lda: i, b: wp.floats, ldb: i,
                   beta: bp == nil ? 0 : 1, c: y.floats, ldc: o)
        return y.record("linear", [x, weight, bias]) { gy in
            let g = gy.plainF32()
            defer { withExtendedLifetime(g) {} }   // pointers into it are used below
            var gx: Tensor?, gw: Tensor?, gb: Tensor?
            if x.requiresGrad {
                gx = Tensor(layout: Layout.plain([b, i], .f32))   // gy [B,O] · W [O,I]
                Gemm.sgemm(transA: false, transB: false, m: b, n: i, k: o, a: g.floats, lda: o, b: wp.floats, ldb: i, c: gx!.floats, ldc: i)
            }
            if weight.requiresGrad {
                gw = Tensor(layout: Layout.plain([o, i], .f32))   // gyᵀ [O,B] · x [B,I]
                Gemm.sgemm(transA: true, transB: false, m: o, n: i, k: b, a: g.floats, lda: o, b: xp.floats, ldb: i, c: gw!.floats, ldc: i)
            }
            if bias != nil {
                gb = Tensor.zeros([o])
                for r in 0..<b { for c in 0..<o { gb!.floats[c] += g.floats[r * o + c] } }
            }
            return [gx, gw, gb]
        }
    }

    /// x [B, D] times a constant matrix: `matrix` is [N, D] used transposed (x·matrixᵀ → [B, N],
    /// e.g. similarities to a memory bank) or [D, N] as is. No gradient flows to the matrix.
    public static func matmulConstant(_ x: Tensor, _ matrix: UnsafePointer<Float>, rows: Int, columns: Int, transposed: Bool) throws -> Tensor {
        guard x.shape.count == 2 else { throw TensorError.shapeMismatch("matmulConstant: input must be [B, D], got \(x.shape)") }
        let (b, d) = (x.shape[0], x.shape[1])
        let inner = transposed ? columns : rows, n = transposed ? rows : columns
        guard inner == d else { throw TensorError.shapeMismatch("matmulConstant: input \(x.shape) against matrix [\(rows), \(columns)]\(transposed ? "ᵀ" : "")") }
        let xp = x.plainF32()
        defer { withExtendedLifetime(xp) {} }   // pointers into it are used below
        let y = Tensor(layout: Layout.plain([b, n], .f32))
        Gemm.sgemm(transA: false, transB: transposed, m: b, n: n, k: d, a: xp.floats, lda: d, b: matrix, ldb: columns, c: y.floats, ldc: n)
        return y.record("matmulConstant", [x]) { gy in
            let gx = Tensor(layout: Layout.plain([b, d], .f32))   // gy [B,N] · op(M)ᵀ
            let gp = gy.plainF32()
            defer { withExtendedLifetime(gp) {} }   // its pointer is read by sgemm
            Gemm.sgemm(transA: false, transB: !transposed, m: b, n: d, k: n, a: gp.floats, lda: n, b: matrix, ldb: columns,
                       c: gx.floats, ldc: d)
            return [gx]
        }
    }

    /// The same elements with another shape of equal size (row-major order; plain copy if blocked).
    public static func reshape(_ x: Tensor, _ shape: [Int]) throws -> Tensor {
        guard shape.reduce(1, *) == x.count, shape.allSatisfy({ $0 >= 0 }) else {
            throw TensorError.shapeMismatch("reshape: \(x.shape) (\(x.count) elements) to \(shape)")
        }
        let p = x.converted(to: Layout.plain(x.shape, x.dtype))
        let y = Tensor(layout: Layout.plain(shape, x.dtype), storage: p.storage)
        let original = x.shape, type = x.dtype
        return y.record("reshape", [x]) { gy in
            [Tensor(layout: Layout.plain(original, type), storage: gy.converted(to: Layout.plain(gy.shape, type)).storage)]
        }
    }

    /// [N, ...] → [N, product of the rest].
    public static func flatten(_ x: Tensor) throws -> Tensor {
        try reshape(x, [x.shape[0], x.shape.dropFirst().reduce(1, *)])
    }

    /// Rows of x [N, D] at `indices` → [B, D]; the gradient scatters (adds) back.
    public static func gatherRows(_ x: Tensor, _ indices: [Int]) throws -> Tensor {
        guard x.shape.count == 2 else { throw TensorError.shapeMismatch("gatherRows: input must be [N, D], got \(x.shape)") }
        let (n, d) = (x.shape[0], x.shape[1])
        if let bad = indices.first(where: { $0 < 0 || $0 >= n }) { throw TensorError.invalidArgument("gatherRows: index \(bad) outside 0..<\(n)") }
        let xp = x.plainF32()
        defer { withExtendedLifetime(xp) {} }   // pointers into it are used below
        let y = Tensor(layout: Layout.plain([indices.count, d], .f32))
        for (r, i) in indices.enumerated() { (y.floats + r * d).update(from: xp.floats + i * d, count: d) }
        return y.record("gatherRows", [x]) { gy in
            let g = gy.plainF32()
            defer { withExtendedLifetime(g) {} }   // pointers into it are used below
            let gx = Tensor.zeros([n, d])
            for (r, i) in indices.enumerated() { for j in 0..<d { gx.floats[i * d + j] += g.floats[r * d + j] } }
            return [gx]
        }
    }

    /// One element per row: y[b] = x[b, columns[b]] for x [B, N] → [B].
    public static func pick(_ x: Tensor, columns: [Int]) throws -> Tensor {
        guard x.shape.count == 2, columns.count == x.shape[0] else {
            throw TensorError.shapeMismatch("pick: input \(x.shape) with \(columns.count) column indices")
        }
        let (b, n) = (x.shape[0], x.shape[1])
        if let bad = columns.first(where: { $0 < 0 || $0 >= n }) { throw TensorError.invalidArgument("pick: column \(bad) outside 0..<\(n)") }
        let xp = x.plainF32()
        defer { withExtendedLifetime(xp) {} }   // pointers into it are used below
        let y = Tensor(layout: Layout.plain([b], .f32))
        for r in 0..<b { y.floats[r] = xp.floats[r * n + columns[r]] }
        return y.record("pick", [x]) { gy in
            let g = gy.plainF32()
            defer { withExtendedLifetime(g) {} }   // pointers into it are used below
            let gx = Tensor.zeros([b, n])
            for r in 0..<b { gx.floats[r * n + columns[r]] = g.floats[r] }
            return [gx]
        }
    }
}
