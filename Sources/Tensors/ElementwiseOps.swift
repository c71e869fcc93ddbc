import Kernels
import Foundation

extension Tensor {
    /// max(x, 0), in x's layout and type.
    public static func relu(_ x: Tensor) -> Tensor {
        let k = ReLUKernel.get(x.layout)
        let y = Tensor(layout: x.layout)
        k.forward(src: x.operand, dst: y.operand)
        // The backward pass reads y's values through an alias without a graph node: capturing y
        // itself would make y → node → closure → y a cycle, and leak every graph whose backward
        // never runs (a forward in training mode alone, an error before the backward).
        let output = Tensor(layout: y.layout, storage: y.storage)
        return y.record("relu", [x]) { gy in
            let gx = Tensor(layout: x.layout)
            k.backward(dst: output.operand, diffDst: gy.converted(to: x.layout).operand, diffSrc: gx.operand)
            return [gx]
        }
    }

    /// a + b (same shape; b is converted to a's layout when they differ). The residual add.
    public static func add(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        guard a.shape == b.shape else { throw TensorError.shapeMismatch("add: \(a.shape) + \(b.shape)") }
        return sum(a, b).record("add", [a, b]) { gy in [gy, gy] }
    }

    /// Weighted sum Σ wᵢ·xᵢ of same-shape tensors (e.g. combining loss terms).
    public static func weightedSum(_ terms: [(Float, Tensor)]) throws -> Tensor {
        guard let first = terms.first?.1 else { throw TensorError.invalidArgument("weightedSum: no terms") }
        for (_, t) in terms where t.shape != first.shape {
            throw TensorError.shapeMismatch("weightedSum: \(t.shape) vs \(first.shape)")
        }
        let out = Tensor(layout: first.layout)
        Accumulate.sum(terms.map { $0.1.converted(to: first.layout).operand }, scales: terms.map { $0.0 }, into: out.operand)
        return out.record("weightedSum", terms.map { $0.1 }) { gy in
            terms.map { w, t in
                let g = Tensor(layout: t.layout)
                Accumulate.sum([gy.converted(to: t.layout).operand], scales: [w], into: g.operand)
                return g
            }
        }
    }

    /// Applies `f` element-wise to a plain fp32 copy and records `df(x, y)` as the local derivative.
    static func unary(_ name: String, _ x: Tensor, _ f: (Float) -> Float, derivative: @escaping (Float, Float) -> Float) -> Tensor {
        let xp = x.plainF32()
        defer { withExtendedLifetime(xp) {} }   // pointers into it are used below
        let y = Tensor(layout: Layout.plain(x.shape, .f32))
        let n = x.count, src = xp.floats, dst = y.floats
        for i in 0..<n { dst[i] = f(src[i]) }
        return y.record(name, [x]) { gy in
            let gTensor = gy.plainF32()
            defer { withExtendedLifetime(gTensor) {} }   // g points into it
            let g = gTensor.floats
            let gx = Tensor(layout: Layout.plain(x.shape, .f32))
            let out = gx.floats
            for i in 0..<n { out[i] = g[i] * derivative(src[i], dst[i]) }
            return [gx]
        }
    }

    /// eˣ element-wise.
    public static func exp(_ x: Tensor) -> Tensor {
        unary("exp", x, { Foundation.exp($0) }, derivative: { _, y in y })
    }

    /// Natural logarithm element-wise (−inf at 0, NaN below, as IEEE).
    public static func log(_ x: Tensor) -> Tensor {
        unary("log", x, { Foundation.log($0) }, derivative: { x, _ in 1 / x })
    }

    /// c·x element-wise.
    public static func scale(_ x: Tensor, by c: Float) -> Tensor {
        unary("scale", x, { c * $0 }, derivative: { _, _ in c })
    }

    /// Sum of all elements → shape [1].
    public static func sumAll(_ x: Tensor) -> Tensor {
        let xp = x.plainF32()
        defer { withExtendedLifetime(xp) {} }   // pointers into it are used below
        var s: Double = 0
        for i in 0..<x.count { s += Double(xp.floats[i]) }
        let y = Tensor.full([1], Float(s))
        let shape = x.shape
        return y.record("sumAll", [x]) { gy in [Tensor.full(shape, gy.scalar)] }
    }

    /// Mean of all elements → shape [1].
    public static func mean(_ x: Tensor) -> Tensor {
        scale(sumAll(x), by: 1 / Float(max(x.count, 1)))
    }

    /// Sums over the last axis: [B, D] → [B].
    public static func sumRows(_ x: Tensor) throws -> Tensor {
        guard x.shape.count == 2 else { throw TensorError.shapeMismatch("sumRows: input must be [B, D], got \(x.shape)") }
        let (b, d) = (x.shape[0], x.shape[1])
        let xp = x.plainF32()
        defer { withExtendedLifetime(xp) {} }   // pointers into it are used below
        let y = Tensor(layout: Layout.plain([b], .f32))
        for i in 0..<b { var s: Float = 0; for j in 0..<d { s += xp.floats[i * d + j] }; y.floats[i] = s }
        return y.record("sumRows", [x]) { gy in
            let gTensor = gy.plainF32()
            defer { withExtendedLifetime(gTensor) {} }   // g points into it
            let g = gTensor.floats
            let gx = Tensor(layout: Layout.plain([b, d], .f32))
            for i in 0..<b { for j in 0..<d { gx.floats[i * d + j] = g[i] } }
            return [gx]
        }
    }

    /// Inverted dropout: zeroes each element with probability `p` and scales survivors by
    /// 1/(1−p) in training; the identity in evaluation. `uniform` supplies draws in [0, 1).
    public static func dropout(_ x: Tensor, p: Float, training: Bool, uniform: () -> Float) throws -> Tensor {
        guard (0..<1).contains(p) else { throw TensorError.invalidArgument("dropout: p = \(p) must be in [0, 1)") }
        guard training && p > 0 else { return x }
        let keep = 1 / (1 - p)
        let mask = (0..<x.count).map { _ in uniform() >= p ? keep : Float(0) }
        let xp = x.plainF32()
        defer { withExtendedLifetime(xp) {} }   // pointers into it are used below
        let y = Tensor(layout: Layout.plain(x.shape, .f32))
        for j in 0..<x.count { y.floats[j] = xp.floats[j] * mask[j] }
        return y.record("dropout", [x]) { gy in
            let gTensor = gy.plainF32()
            defer { withExtendedLifetime(gTensor) {} }   // g points into it
            let g = gTensor.floats
            let gx = Tensor(layout: Layout.plain(x.shape, .f32))
            for j in 0..<x.count { gx.floats[j] = g[j] * mask[j] }
            return [gx]
        }
    }

    /// Converts to another element type (bf16 ↔ fp32), keeping the layout's blocking; the
    /// gradient is converted back. This is the single switch between fp32 and bf16 compute.
    public func cast(to type: DType) -> Tensor {
        if type == dtype { return self }
        let y = converted(to: layout.with(type: type))
        let source = layout
        return y.record("cast", [self]) { gy in [gy.converted(to: source)] }
    }

    /// A result whose value is given and whose gradient with respect to `inputs` is computed by
    /// `backward` (used to attach losses computed outside the tensor API, e.g. InvP's loss).
    public static func custom(value: Tensor, inputs: [Tensor], backward: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        value.record("custom", inputs, backward)
    }
}
