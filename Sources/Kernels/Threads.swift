import CDNNL

/// The number of threads oneDNN (OpenMP) and invprop's own parallel loops use.
public enum ComputeThreads {
    /// Current thread count (all cores unless changed).
    public static var count: Int { Int(omp_get_max_threads()) }

    /// Sets the thread count for all later kernels; values below 1 are rejected.
    public static func set(_ n: Int) throws {
        guard n >= 1 && n <= 4096 else {
            throw KernelError.invalidArgument("thread count must be between 1 and 4096, got \(n)")
        }
        omp_set_num_threads(Int32(n))
    }
}
