import Foundation

/// How this process was started: alone, or as one rank of an MPI job.
public enum Launch {
    /// Environment variables a launcher sets in every rank: OpenMPI's `mpirun`
    /// (OMPI_COMM_WORLD_SIZE), PMIx launchers such as Slurm's `srun --mpi=pmix` (PMIX_RANK),
    /// and PMI-1/2 launchers (PMI_SIZE).
    static let markers = ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"]

    /// Whether a launcher started this process (one of `markers` is set).
    public static func isUnderMPI(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        markers.contains { environment[$0] != nil }
    }

    /// The job's communicator: MPI's when a launcher started this process (the library from
    /// INVPROP_MPI_LIBRARY or the default names), else a `SingleProcess`, which loads nothing.
    public static func communicator(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> any Communicator {
        guard isUnderMPI(environment) else { return SingleProcess() }
        return try MPICommunicator(library: environment["INVPROP_MPI_LIBRARY"])
    }
}

extension Launch {
    /// Processes of the job on this machine (OpenMPI's OMPI_COMM_WORLD_LOCAL_SIZE, Slurm's
    /// SLURM_NTASKS_PER_NODE), 1 when unknown: each process's default share of the cores.
    public static func localProcessCount(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Int {
        for key in ["OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE"] {
            if let value = environment[key].flatMap({ Int($0) }), value >= 1 { return value }
        }
        return 1
    }
}

extension Communicator {
    /// Rank `root`'s string on every rank (e.g. a run directory named from the clock).
    public func broadcast(_ text: String, root: Int = 0) throws -> String {
        var length = [Int64(text.utf8.count)]
        try broadcast(&length, root: root)
        var bytes = Array(text.utf8)
        bytes = bytes.count == Int(length[0]) ? bytes : [UInt8](repeating: 0, count: Int(length[0]))
        try broadcast(&bytes, root: root)
        return String(decoding: bytes, as: UTF8.self)
    }
}
