import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// OpenMPI's `MPI_COMM_WORLD`, loaded at run time. invprop does not link libmpi: a process
/// started without `mpirun` never loads it. Under `mpirun` (or Slurm's `srun` with PMIx), the
/// library is opened with `dlopen` (RTLD_GLOBAL, which OpenMPI's own plug-ins need) and its
/// handles are the addresses of its `ompi_mpi_*` globals, as OpenMPI's `mpi.h` macros define them
/// (`MPI_COMM_WORLD` is `&ompi_mpi_comm_world`). Only OpenMPI's ABI is supported (Debian's
/// `libopenmpi-dev`, `libmpi.so.40`); MPICH's integer handles differ.
public final class MPICommunicator: Communicator, @unchecked Sendable {
    /// This process's rank in MPI_COMM_WORLD.
    public let rank: Int
    /// The number of processes in MPI_COMM_WORLD.
    public let size: Int
    private let api: MPIFunctions
    /// The calls are serialised by the caller, but tests and the signal handler may come from
    /// other threads: a lock keeps two collectives from interleaving on one rank.
    private let lock = NSLock()

    /// Opens the MPI library (`path`, or libmpi.so.40 then libmpi.so), initialises MPI with
    /// MPI_THREAD_SERIALIZED and reads this process's rank and the job's size.
    public init(library path: String? = nil) throws {
        api = try MPIFunctions(library: path)
        var initialised: Int32 = 0
        try api.check(api.initialized(&initialised), "MPI_Initialized")
        if initialised == 0 {
            var provided: Int32 = 0
            try api.check(api.initThread(nil, nil, MPIFunctions.threadSerialized, &provided), "MPI_Init_thread")
            guard provided >= MPIFunctions.threadSerialized else {
                throw CollectivesError.unavailable("the MPI library provides thread level \(provided); invprop needs MPI_THREAD_SERIALIZED (2)")
            }
        }
        var r: Int32 = 0, s: Int32 = 0
        try api.check(api.commRank(api.commWorld, &r), "MPI_Comm_rank")
        try api.check(api.commSize(api.commWorld, &s), "MPI_Comm_size")
        rank = Int(r); size = Int(s)
    }

    /// Sums over ranks in place.
    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws {
        try allreduce(UnsafeMutableRawPointer(values.baseAddress), count: values.count, type: api.float)
    }

    /// Sums over ranks in place.
    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws {
        try allreduce(UnsafeMutableRawPointer(values.baseAddress), count: values.count, type: api.double)
    }

    /// In-place MPI_Allreduce with MPI_SUM, in pieces of at most 2³¹ − 1 elements (MPI counts
    /// are ints).
    private func allreduce(_ base: UnsafeMutableRawPointer?, count: Int, type: UnsafeMutableRawPointer) throws {
        guard let base, count > 0 else { return }
        let width = type == api.double ? 8 : 4
        lock.lock(); defer { lock.unlock() }
        var start = 0
        while start < count {
            let piece = min(count - start, Int(Int32.max))
            try api.check(api.allreduce(MPIFunctions.inPlace, base + start * width, Int32(piece), type, api.sum, api.commWorld), "MPI_Allreduce")
            start += piece
        }
    }

    /// MPI_Allgather of the byte counts, then MPI_Allgatherv of the bytes.
    public func allgatherBytes(_ local: UnsafeRawBufferPointer) throws -> [UInt8] {
        guard local.count <= Int(Int32.max) else { throw CollectivesError.callFailed("allgather of \(local.count) bytes exceeds MPI's int count") }
        lock.lock(); defer { lock.unlock() }
        var mine = Int32(local.count)
        var counts = [Int32](repeating: 0, count: size)
        try api.check(api.allgather(&mine, 4, api.byte, &counts, 4, api.byte, api.commWorld), "MPI_Allgather")
        var offsets = [Int32](repeating: 0, count: size)
        var total = 0
        for r in 0..<size {
            guard total <= Int(Int32.max) else { throw CollectivesError.callFailed("allgather of more than 2 GiB") }
            offsets[r] = Int32(total); total += Int(counts[r])
        }
        var result = [UInt8](repeating: 0, count: total)
        try result.withUnsafeMutableBytes { out in
            try api.check(api.allgatherv(local.baseAddress ?? UnsafeRawPointer(out.baseAddress!), mine, api.byte,
                                         out.baseAddress, &counts, &offsets, api.byte, api.commWorld), "MPI_Allgatherv")
        }
        return result
    }

    /// MPI_Bcast of the bytes from `root`.
    public func broadcast(_ values: UnsafeMutableRawBufferPointer, root: Int) throws {
        guard values.count > 0 else { return }
        guard values.count <= Int(Int32.max) else { throw CollectivesError.callFailed("broadcast of \(values.count) bytes exceeds MPI's int count") }
        lock.lock(); defer { lock.unlock() }
        try api.check(api.bcast(values.baseAddress, Int32(values.count), api.byte, Int32(root), api.commWorld), "MPI_Bcast")
    }

    /// MPI_Barrier.
    public func barrier() throws {
        lock.lock(); defer { lock.unlock() }
        try api.check(api.barrier(api.commWorld), "MPI_Barrier")
    }

    /// MPI_Abort on the whole job.
    public func abort(code: Int32) -> Never {
        _ = api.abort(api.commWorld, code)
        exit(code)
    }

    /// MPI_Finalize, once every rank is done (the job's last collective call).
    public func finalize() {
        var finalized: Int32 = 0
        _ = api.finalized(&finalized)
        if finalized == 0 { _ = api.finalize() }
    }
}

/// The MPI entry points and handles, resolved with `dlsym`.
struct MPIFunctions {
    typealias Handle = UnsafeMutableRawPointer
    /// MPI_THREAD_SERIALIZED in OpenMPI's enumeration.
    static let threadSerialized: Int32 = 2
    /// OpenMPI's MPI_IN_PLACE, `(void *) 1`.
    static let inPlace = UnsafeRawPointer(bitPattern: 1)

    let initialized: @convention(c) (UnsafeMutablePointer<Int32>?) -> Int32
    let initThread: @convention(c) (UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?,
                                    Int32, UnsafeMutablePointer<Int32>?) -> Int32
    let commRank: @convention(c) (Handle, UnsafeMutablePointer<Int32>?) -> Int32
    let commSize: @convention(c) (Handle, UnsafeMutablePointer<Int32>?) -> Int32
    let allreduce: @convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer?, Int32, Handle, Handle, Handle) -> Int32
    let allgather: @convention(c) (UnsafeRawPointer?, Int32, Handle, UnsafeMutableRawPointer?, Int32, Handle, Handle) -> Int32
    let allgatherv: @convention(c) (UnsafeRawPointer?, Int32, Handle, UnsafeMutableRawPointer?, UnsafePointer<Int32>?,
                                    UnsafePointer<Int32>?, Handle, Handle) -> Int32
    let bcast: @convention(c) (UnsafeMutableRawPointer?, Int32, Handle, Int32, Handle) -> Int32
    let barrier: @convention(c) (Handle) -> Int32
    let abort: @convention(c) (Handle, Int32) -> Int32
    let finalize: @convention(c) () -> Int32
    let finalized: @convention(c) (UnsafeMutablePointer<Int32>?) -> Int32
    let errorString: @convention(c) (Int32, UnsafeMutablePointer<CChar>?, UnsafeMutablePointer<Int32>?) -> Int32
    let commWorld: Handle, float: Handle, double: Handle, byte: Handle, sum: Handle

    /// Opens the library and resolves every symbol, naming the first one missing.
    init(library path: String?) throws {
        let candidates = path.map { [$0] } ?? ["libmpi.so.40", "libmpi.so"]
        var opened: UnsafeMutableRawPointer?
        var reasons: [String] = []
        for name in candidates {
            if let h = dlopen(name, RTLD_NOW | RTLD_GLOBAL) { opened = h; break }
            reasons.append(dlerror().map { String(cString: $0) } ?? name)
        }
        guard let library = opened else {
            throw CollectivesError.unavailable("cannot open the MPI library (\(reasons.joined(separator: "; "))); "
                + "install OpenMPI (Debian: libopenmpi-dev openmpi-bin, scripts/setup.sh does) or set INVPROP_MPI_LIBRARY")
        }
        func symbol(_ name: String) throws -> UnsafeMutableRawPointer {
            guard let p = dlsym(library, name) else {
                throw CollectivesError.unavailable("the MPI library lacks \(name) (invprop supports OpenMPI's libmpi, not MPICH's)")
            }
            return p
        }
        func function<F>(_ name: String, as type: F.Type) throws -> F { unsafeBitCast(try symbol(name), to: F.self) }
        initialized = try function("MPI_Initialized", as: type(of: initialized))
        initThread = try function("MPI_Init_thread", as: type(of: initThread))
        commRank = try function("MPI_Comm_rank", as: type(of: commRank))
        commSize = try function("MPI_Comm_size", as: type(of: commSize))
        allreduce = try function("MPI_Allreduce", as: type(of: allreduce))
        allgather = try function("MPI_Allgather", as: type(of: allgather))
        allgatherv = try function("MPI_Allgatherv", as: type(of: allgatherv))
        bcast = try function("MPI_Bcast", as: type(of: bcast))
        barrier = try function("MPI_Barrier", as: type(of: barrier))
        abort = try function("MPI_Abort", as: type(of: abort))
        finalize = try function("MPI_Finalize", as: type(of: finalize))
        finalized = try function("MPI_Finalized", as: type(of: finalized))
        errorString = try function("MPI_Error_string", as: type(of: errorString))
        commWorld = try symbol("ompi_mpi_comm_world")
        float = try symbol("ompi_mpi_float")
        double = try symbol("ompi_mpi_double")
        byte = try symbol("ompi_mpi_byte")
        sum = try symbol("ompi_mpi_op_sum")
    }

    /// Throws with MPI's own message for a non-zero return code.
    func check(_ code: Int32, _ call: String) throws {
        guard code != 0 else { return }
        var text = [CChar](repeating: 0, count: 512)
        var length: Int32 = 0
        _ = errorString(code, &text, &length)
        throw CollectivesError.callFailed("\(call) returned \(code): \(String(cString: text))")
    }
}
