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

/// What the CPU offers oneDNN, for choosing a precision.
public enum ComputeCapabilities {
    /// Whether oneDNN runs bf16 natively here (AVX-512 BF16 or AMX); elsewhere bf16 would be
    /// emulated or unavailable and fp32 is the better choice.
    public static var hasNativeBF16: Bool {
        let isa = dnnl_get_effective_cpu_isa().rawValue
        let bf16 = dnnl_cpu_isa_avx512_core_bf16.rawValue
        return isa & bf16 == bf16
    }

    /// oneDNN's name for the instruction set it uses (e.g. "avx512_core_bf16").
    public static var instructionSet: String {
        switch dnnl_get_effective_cpu_isa() {
        case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx"
        case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16"
        case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni"
        case dnnl_cpu_isa_avx512_core: return "avx512_core"
        case dnnl_cpu_isa_avx2: return "avx2"
        default: return "other (\(dnnl_get_effective_cpu_isa().rawValue))"
        }
    }
}

/// Runs `body` over contiguous sub-ranges of 0..<count, one per compute thread (`ComputeThreads`),
/// each at least `minimumPerTask` long; small counts run inline. The one parallel row loop of
/// the methods' losses and of the evaluations: rows are independent, so results never depend on
/// how the range is cut. The ranges run on OpenMP's team, the threads oneDNN's kernels use: with
/// a second pool (Dispatch) the OpenMP workers kept spinning after each oneDNN call on the cores
/// the row loop wanted (18 % of a loss benchmark's samples). Inside another parallel region the
/// team has one thread and the ranges run one after another.
public func parallelRanges(count: Int, minimumPerTask: Int = 1, _ body: (Range<Int>) -> Void) {
    guard count > 0 else { return }
    let tasks = min(ComputeThreads.count, max(1, count / max(1, minimumPerTask)))
    if tasks <= 1 {
        body(0..<count)
        return
    }
    withoutActuallyEscaping(body) { body in
        var job = TeamJob(count: count, body: body)
        withUnsafeMutablePointer(to: &job) { pointer in
            GOMP_parallel({ raw in
                let job = raw!.assumingMemoryBound(to: TeamJob.self).pointee
                // The team may be smaller than asked for (nested regions): split by its real size.
                let team = Int(omp_get_num_threads()), member = Int(omp_get_thread_num())
                let lower = job.count * member / team, upper = job.count * (member + 1) / team
                if lower < upper { job.body(lower..<upper) }
            }, pointer, UInt32(tasks), 0)
        }
    }
}

/// What each member of an OpenMP team needs to run its share of `parallelRanges`.
private struct TeamJob {
    /// The range 0..<count to split.
    var count: Int
    /// The caller's body, called once per non-empty share.
    var body: (Range<Int>) -> Void
}
