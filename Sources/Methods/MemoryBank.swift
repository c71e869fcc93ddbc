import Kernels
import Randomness

/// The element type of the two bank products z = v·bankᵀ and dv = g·bank (issue 14).
public enum BankPrecision: String, Sendable, Codable, CaseIterable {
    /// sgemm on the fp32 bank (the default: bit for bit the earlier results).
    case fp32
    /// oneDNN matmul on bf16 copies of the bank, of v and of dL/dz, summed in fp32: half the
    /// bytes to stream and bf16 dot products; the bank itself and its update stay fp32.
    case bf16
    /// bf16 where the CPU runs bf16 natively (AVX-512 BF16 or AMX) and oneDNN has the matmul,
    /// else fp32 (the Fashion-MNIST presets' choice, so that they run on any CPU).
    case auto

    /// fp32 or bf16: what `auto` means on this CPU (the others as they are).
    public var resolved: BankPrecision {
        guard self == .auto else { return self }
        return ComputeCapabilities.hasNativeBF16 && Gemm.bf16gemmAvailable ? .bf16 : .fp32
    }
}

/// The memory bank of InvP and NPID: one D-dim feature per training image, N × D fp32 row-major.
/// Entries are constants to the loss (no gradient flows into them); they move only by the
/// momentum update of SPEC step 11.
public final class MemoryBank {
    /// N, the number of entries (training images).
    public let count: Int
    /// D, the feature dimension (128 in the paper).
    public let dimension: Int
    /// m in `bank[i] = normalize(m·bank[i] + (1−m)·v)` (SPEC step 11; 0.5 in the paper).
    public let momentum: Float
    /// The raw entries: [N, D] row-major. Read it to checkpoint; restore with `restore(_:)`.
    public private(set) var storage: [Float]
    /// Precision of `similarities` and `backProject` (fp32 unless set; see `BankPrecision`). Set
    /// bf16 through `setProductPrecision`, which refuses it where oneDNN has no bf16 matmul.
    public var productPrecision: BankPrecision = .fp32 { didSet { refreshBF16() } }

    /// Sets `productPrecision` (`auto` resolved for this CPU), throwing
    /// `MethodsError.invalidConfiguration` for bf16 on a CPU without a bf16 matmul (instead of
    /// failing at the first product).
    public func setProductPrecision(_ requested: BankPrecision) throws {
        let precision = requested.resolved
        if precision == .bf16 && !Gemm.bf16gemmAvailable {
            throw MethodsError.invalidConfiguration("--bank-precision bf16: oneDNN has no bf16 matrix product on this CPU (\(ComputeCapabilities.instructionSet)); use fp32")
        }
        productPrecision = precision
    }
    /// [N, D]: `storage` rounded to bf16 while `productPrecision` is bf16 (else empty); every
    /// write to `storage` (restore, fill, update) refreshes it.
    private(set) var storageBF16: [BF16Bits] = []

    /// A bank initialised as the reference code does (SPEC step 11): every value uniform in
    /// ±1/√(D/3), not normalised, drawn from `seed` only.
    public init(count: Int, dimension: Int, momentum: Float = 0.5, seed: UInt64) throws {
        guard count >= 1 else { throw MethodsError.invalidConfiguration("bank size must be ≥ 1, got \(count)") }
        guard dimension >= 1 else { throw MethodsError.invalidConfiguration("feature dimension must be ≥ 1, got \(dimension)") }
        guard momentum >= 0 && momentum < 1 else {
            throw MethodsError.invalidConfiguration("bank momentum m must be in [0, 1), got \(momentum)")
        }
        self.count = count
        self.dimension = dimension
        self.momentum = momentum
        let bound = 1 / (Float(dimension) / 3).squareRoot()
        var rng = SeededGenerator(seed: seed, streams: [0xBA4C])
        storage = (0..<count * dimension).map { _ in rng.uniformFloat(-1, 1) * bound }
    }

    /// Replaces all entries by a checkpointed copy of `storage` ([N, D] row-major).
    public func restore(_ values: [Float]) throws {
        try checkShapeAndValues(values, source: "bank checkpoint")
        storage = values
        refreshBF16()
    }

    /// Replaces all entries by the L2-normalised rows of `features` ([N, D] row-major), e.g. the
    /// initial network's outputs on every image.
    public func fill(features: [Float]) throws {
        try checkShapeAndValues(features, source: "bank fill")
        storage = l2NormalizeRows(features, rows: count, dimension: dimension).v
        refreshBF16()
    }

    /// Throws unless `values` holds N × D finite numbers; `source` names them in the message.
    private func checkShapeAndValues(_ values: [Float], source: String) throws {
        guard values.count == count * dimension else {
            throw MethodsError.invalidInput("\(source) has \(values.count) values, expected \(count) × \(dimension)")
        }
        guard values.allSatisfy({ $0.isFinite }) else {
            throw MethodsError.invalidInput("\(source) contains non-finite values")
        }
    }

    /// Entry `i` as a copy ([D]).
    public func entry(_ i: Int) -> [Float] { Array(storage[i * dimension..<(i + 1) * dimension]) }

    /// Rebuilds (or drops) the bf16 copy after `storage` or `productPrecision` changed wholesale.
    private func refreshBF16() {
        guard productPrecision == .bf16 else { storageBF16 = []; return }
        if storageBF16.count != storage.count { storageBF16 = [BF16Bits](repeating: 0, count: storage.count) }
        storage.withUnsafeBufferPointer { src in
            storageBF16.withUnsafeMutableBufferPointer { Gemm.convertToBF16(src.baseAddress!, count: src.count, into: $0.baseAddress!) }
        }
    }

    /// out[b, j] = v[b] · bank[j] for a batch v: [B, D] into out: [B, N] (one sgemm, SPEC step 2;
    /// a bf16 matmul when `productPrecision` is bf16). v is used as given (normalise it first for
    /// cosine similarities).
    public func similarities(_ v: UnsafePointer<Float>, batch: Int, into out: UnsafeMutablePointer<Float>) {
        if productPrecision == .bf16 {
            withBF16Operands(v, batch: batch) { q, bank in
                // bankᵀ as a [D, N] view of the [N, D] rows (transB).
                Gemm.bf16gemm(transB: true, m: batch, n: count, k: dimension, a: q, lda: dimension,
                              b: bank, ldb: dimension, c: out, ldc: count)
            }
            return
        }
        storage.withUnsafeBufferPointer { bank in
            Gemm.sgemm(transA: false, transB: true, m: batch, n: count, k: dimension,
                       a: v, lda: dimension, b: bank.baseAddress!, ldb: dimension,
                       c: out, ldc: count)
        }
    }

    /// out[b, j] = bf16(exp((v[b] · bank[j] − shift)·scale)) for v: [B, D] into out: [B, N]: the bf16
    /// product of `similarities` with the exponential applied as its sums are written (one pass,
    /// no fp32 [B, N] in memory). Only while `productPrecision` is bf16 and
    /// `Gemm.bf16gemmExponentialsAvailable`.
    public func exponentialSimilarities(_ v: UnsafePointer<Float>, batch: Int, shift: Float, scale: Float,
                                        into out: UnsafeMutablePointer<BF16Bits>) {
        precondition(productPrecision == .bf16, "exponentialSimilarities needs productPrecision bf16")
        withBF16Operands(v, batch: batch) { q, bank in
            Gemm.bf16gemmExponentials(m: batch, n: count, k: dimension, a: q, lda: dimension, b: bank, ldb: dimension,
                                      shift: shift, scale: scale, c: out, ldc: count)
        }
    }

    /// Calls `body` with v: [B, D] rounded to bf16 and the bank's bf16 copy: [N, D]. v's copy is a
    /// local buffer (a few kB), so concurrent calls on one bank stay safe as in fp32.
    private func withBF16Operands(_ v: UnsafePointer<Float>, batch: Int,
                                  _ body: (UnsafePointer<BF16Bits>, UnsafePointer<BF16Bits>) -> Void) {
        withUnsafeTemporaryAllocation(of: BF16Bits.self, capacity: batch * dimension) { q in
            Gemm.convertToBF16(v, count: batch * dimension, into: q.baseAddress!)
            storageBF16.withUnsafeBufferPointer { bank in body(UnsafePointer(q.baseAddress!), bank.baseAddress!) }
        }
    }

    /// dv[b] = Σ_j g[b, j] · bank[j] for a bf16 g: [B, N] into dv: [B, D] (one bf16 matmul against
    /// the bf16 copy); only while `productPrecision` is bf16.
    public func backProject(bf16 g: UnsafePointer<BF16Bits>, batch: Int, into dv: UnsafeMutablePointer<Float>) {
        precondition(productPrecision == .bf16, "backProject(bf16:) needs productPrecision bf16")
        storageBF16.withUnsafeBufferPointer { bank in
            Gemm.bf16gemm(transB: false, m: batch, n: dimension, k: count, a: g, lda: count,
                          b: bank.baseAddress!, ldb: dimension, c: dv, ldc: dimension)
        }
    }

    /// dv[b] = Σ_j g[b, j] · bank[j] for g: [B, N] into dv: [B, D] (one sgemm): the backward of
    /// `similarities` with respect to v, the bank held constant.
    public func backProject(_ g: UnsafePointer<Float>, batch: Int, into dv: UnsafeMutablePointer<Float>) {
        storage.withUnsafeBufferPointer { bank in
            Gemm.sgemm(transA: false, transB: false, m: batch, n: dimension, k: count,
                       a: g, lda: count, b: bank.baseAddress!, ldb: dimension,
                       c: dv, ldc: dimension)
        }
    }

    /// SPEC step 11, after the optimizer step: `bank[idx] = normalize(m·bank[idx] + (1−m)·v)` with
    /// v = f/‖f‖ and f: [B, D] the network outputs of this step (the ones the loss saw).
    /// Every new row is computed from the old bank first, so a repeated index takes the value
    /// of its last occurrence.
    public func update(indices: [Int], features: [Float]) throws {
        let b = try validateBatch(features: features, indices: indices, dimension: dimension, datasetSize: count)
        let d = dimension
        let (v, _) = l2NormalizeRows(features, rows: b, dimension: d)
        var fresh = [Float](repeating: 0, count: b * d)
        for r in 0..<b {
            let base = indices[r] * d
            var sq: Float = 0
            for c in 0..<d {
                let x = momentum * storage[base + c] + (1 - momentum) * v[r * d + c]
                fresh[r * d + c] = x
                sq += x * x
            }
            let inv = 1 / sq.squareRoot()
            for c in 0..<d { fresh[r * d + c] *= inv }
        }
        for r in 0..<b {
            let base = indices[r] * d
            for c in 0..<d { storage[base + c] = fresh[r * d + c] }
        }
        // The bf16 copy follows, for these rows only.
        if productPrecision == .bf16 {
            for r in 0..<b {
                let base = indices[r] * d
                for c in 0..<d { storageBF16[base + c] = Gemm.bf16(fresh[r * d + c]) }
            }
        }
    }
}
