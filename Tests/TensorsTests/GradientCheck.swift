import Testing
@testable import Tensors

/// Deterministic test values in [-1, 1).
struct TestRandom {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> Float {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float((state >> 40) & 0xFFFFFF) / Float(1 << 23) - 1
    }
    mutating func values(_ n: Int) -> [Float] { (0..<n).map { _ in next() } }
    mutating func tensor(_ shape: [Int], grad: Bool = true) -> Tensor {
        try! Tensor(shape: shape, values: values(shape.reduce(1, *)), requiresGrad: grad)
    }
}

/// Compares backward() gradients with central finite differences of L = Σ f(inputs)·r, for up
/// to `samples` elements of each input. fp32 differences, so tolerances are percent-level: of the
/// largest finite difference among the input's sampled elements, so an element whose gradient is
/// small next to its neighbours' is held to the input's scale rather than to an absolute floor
/// (which let every gradient below about 1 through on ±`tolerance`).
func checkGradients(_ inputs: [Tensor], samples: Int = 12, step: Float = 1e-2, tolerance: Float = 2e-2,
                    seed: UInt64 = 7, _ f: ([Tensor]) throws -> Tensor) throws {
    var rng = TestRandom(seed)
    let y0 = try f(inputs)
    let weights = try Tensor(shape: y0.shape, values: rng.values(y0.count))
    func objective() throws -> Double {
        let y = try GradMode.withoutGradients { try f(inputs) }.toArray()
        let w = weights.toArray()
        return zip(y, w).reduce(0) { $0 + Double($1.0) * Double($1.1) }
    }
    for t in inputs { t.grad = nil }
    let y = try f(inputs)
    try y.backward(seed: weights)
    for (which, t) in inputs.enumerated() where t.requiresGrad {
        let analytic = try #require(t.grad, "input \(which) got no gradient").toArray()
        let n = t.count
        var picks = Set<Int>()
        while picks.count < min(samples, n) { picks.insert(Int(UInt64(abs(rng.next()) * 1e6)) % n) }
        var numeric: [(index: Int, value: Float)] = []
        for i in picks.sorted() {
            let original = t.floats[i]
            t.floats[i] = original + step
            let plus = try objective()
            t.floats[i] = original - step
            let minus = try objective()
            t.floats[i] = original
            numeric.append((i, Float((plus - minus) / Double(2 * step))))
        }
        let scale = numeric.map { abs($0.value) }.max() ?? 0
        // A gradient that is zero throughout leaves only rounding noise in the differences, and
        // that noise fails against this bound: such a check would test nothing, so pick inputs
        // and seeds that give the gradient a size.
        let bound = tolerance * max(scale, 1e-6)
        for (i, value) in numeric {
            #expect(abs(value - analytic[i]) <= bound,
                    "input \(which) element \(i): numeric \(value) vs analytic \(analytic[i]) (bound \(bound))")
        }
    }
}
