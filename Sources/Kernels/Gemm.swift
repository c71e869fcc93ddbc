import CDNNL

/// Single-precision matrix products on oneDNN's sgemm (row-major, as in C).
public enum Gemm {
    /// C[M,N] = alpha * op(A) * op(B) + beta * C, row-major; op is an optional transpose.
    /// A is [M,K] (or [K,M] when transA), B is [K,N] (or [N,K] when transB).
    public static func sgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if m == 0 || n == 0 { return }
        // Serialised with every primitive execution: oneDNN's sgemm called from two threads at
        // once gives other results than alone (two trainings in one process drifted apart;
        // ConcurrentTrainingTests), and a product already uses all compute threads.
        Primitive.executionLock.lock()
        defer { Primitive.executionLock.unlock() }
        let status = dnnl_sgemm(
            transA ? Int8(UInt8(ascii: "T")) : Int8(UInt8(ascii: "N")),
            transB ? Int8(UInt8(ascii: "T")) : Int8(UInt8(ascii: "N")),
            Int64(m), Int64(n), Int64(k), alpha, a, Int64(lda), b, Int64(ldb), beta, c, Int64(ldc))
        check(status, "dnnl_sgemm(\(m)x\(n)x\(k))")
    }
}
