import Foundation

/// A seedable, splittable pseudo-random generator (xoshiro256**, seeded through SplitMix64).
///
/// A value type, so each thread owns its copy; independent streams come from `derived(...)`,
/// which hashes (seed, stream words) into a fresh state. The loader derives one generator per
/// (seed, epoch, dataset index), so augmentations never depend on thread scheduling.
/// The sampling algorithms below are our own and fixed: results do not change with the Swift
/// standard library's `random(in:using:)` implementation.
public struct SeededGenerator: RandomNumberGenerator, Sendable, Equatable, Codable {
    // xoshiro256** state; never all zero (SplitMix64 output of any seed guarantees it in practice,
    // and `init(state:)` repairs the all-zero case).
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64
    /// The seed words this generator was built from (seed first, then streams), for `derived`.
    public let key: UInt64

    /// A generator for `seed`.
    public init(seed: UInt64) {
        self.init(key: SeededGenerator.mix(seed ^ 0x6A09_E667_F3BC_C908))
    }

    /// A generator for `seed` and a path of stream identifiers, e.g. `(seed, [epoch, index])`.
    public init(seed: UInt64, streams: [UInt64]) {
        var key = SeededGenerator.mix(seed ^ 0x6A09_E667_F3BC_C908)
        for word in streams { key = SeededGenerator.mix(key ^ SeededGenerator.mix(word &+ 0x9E37_79B9_7F4A_7C15)) }
        self.init(key: key)
    }

    private init(key: UInt64) {
        self.key = key
        var sm = key
        s0 = SeededGenerator.splitMixNext(&sm)
        s1 = SeededGenerator.splitMixNext(&sm)
        s2 = SeededGenerator.splitMixNext(&sm)
        s3 = SeededGenerator.splitMixNext(&sm)
        if s0 | s1 | s2 | s3 == 0 { s0 = 0x9E37_79B9_7F4A_7C15 }
    }

    /// An independent generator for a sub-stream of this one's key (does not advance `self`).
    public func derived(_ streams: UInt64...) -> SeededGenerator {
        var key = self.key
        for word in streams { key = SeededGenerator.mix(key ^ SeededGenerator.mix(word &+ 0x9E37_79B9_7F4A_7C15)) }
        return SeededGenerator(key: key)
    }

    /// The next 64 random bits (xoshiro256**).
    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    /// Uniform Double in [0, 1) with 53 random bits.
    @inline(__always)
    public mutating func uniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Uniform Double in [low, high) (like `torch.empty(1).uniform_(low, high)`).
    @inline(__always)
    public mutating func uniform(_ low: Double, _ high: Double) -> Double {
        low + (high - low) * uniform()
    }

    /// Uniform Float in [low, high), computed in Double then rounded.
    @inline(__always)
    public mutating func uniformFloat(_ low: Float, _ high: Float) -> Float {
        Float(uniform(Double(low), Double(high)))
    }

    /// Uniform integer in 0..<bound (bound > 0), unbiased (Lemire's multiply-and-reject).
    public mutating func int(below bound: Int) -> Int {
        precondition(bound > 0, "SeededGenerator.int(below:): bound must be positive")
        let n = UInt64(bound)
        var product = next().multipliedFullWidth(by: n)
        if product.low < n {
            let threshold = (0 &- n) % n
            while product.low < threshold { product = next().multipliedFullWidth(by: n) }
        }
        return Int(product.high)
    }

    /// Uniform integer in `range` (non-empty), like `torch.randint(low, high)`.
    public mutating func int(in range: Range<Int>) -> Int {
        range.lowerBound + int(below: range.count)
    }

    /// True with probability `p` (draws one uniform; `uniform() < p`, like `torch.rand(1) < p`).
    @inline(__always)
    public mutating func bernoulli(_ p: Double) -> Bool {
        uniform() < p
    }

    /// A standard normal sample (Box–Muller; uses two uniforms).
    public mutating func normal() -> Double {
        let u1 = 1.0 - uniform()  // (0, 1], keeps log finite
        let u2 = uniform()
        return (-2.0 * log(u1)).squareRoot() * cos(2.0 * Double.pi * u2)
    }

    /// A Gamma(shape, 1) sample (Marsaglia and Tsang, 2000; shape < 1 through Gamma(shape + 1)·U^(1/shape)).
    public mutating func gamma(shape: Double) -> Double {
        precondition(shape > 0, "gamma: shape must be > 0")
        if shape < 1 { return gamma(shape: shape + 1) * pow(1.0 - uniform(), 1 / shape) }
        let d = shape - 1.0 / 3, c = 1 / (9 * d).squareRoot()
        while true {
            var x = 0.0, v = 0.0
            repeat { x = normal(); v = 1 + c * x } while v <= 0
            v = v * v * v
            let u = 1.0 - uniform()
            if u < 1 - 0.0331 * x * x * x * x || log(u) < 0.5 * x * x + d * (1 - v + log(v)) { return d * v }
        }
    }

    /// A Beta(a, b) sample in [0, 1], as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b).
    public mutating func beta(_ a: Double, _ b: Double) -> Double {
        let x = gamma(shape: a), y = gamma(shape: b)
        return x / (x + y)
    }

    /// Shuffles `array` in place (Fisher–Yates, last element first).
    public mutating func shuffle<T>(_ array: inout [T]) {
        var i = array.count - 1
        while i > 0 {
            let j = int(below: i + 1)
            array.swapAt(i, j)
            i -= 1
        }
    }

    /// A uniformly random permutation of 0..<n (like `torch.randperm(n)` in distribution).
    public mutating func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        shuffle(&p)
        return p
    }

    @inline(__always)
    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// SplitMix64 finaliser: a bijective 64-bit mix used to turn (seed, streams) into keys.
    @inline(__always)
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inline(__always)
    static func splitMixNext(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return mix(state)
    }
}

