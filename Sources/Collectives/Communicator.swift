import Foundation

/// Errors of the communication layer: MPI not loadable, or a call that failed.
public enum CollectivesError: Error, CustomStringConvertible, Equatable {
    /// The MPI library could not be opened or lacks a symbol.
    case unavailable(String)
    /// An MPI call returned an error code.
    case callFailed(String)
    /// Ranks disagree (different counts, a checksum mismatch).
    case mismatch(String)

    /// The message, for the command line.
    public var description: String {
        switch self {
        case .unavailable(let m): return "MPI: \(m)"
        case .callFailed(let m): return "MPI call failed: \(m)"
        case .mismatch(let m): return "ranks disagree: \(m)"
        }
    }
}

/// The collective operations data-parallel training needs, over the processes of one job. Every
/// rank must make the same calls in the same order with the same counts (MPI's rule); a
/// `SingleProcess` makes each of them the identity. Calls are serialised by the caller (the
/// training loop runs them on one thread at a time).
public protocol Communicator: AnyObject, Sendable {
    /// This process's rank, 0..<size.
    var rank: Int { get }
    /// The number of processes.
    var size: Int { get }
    /// Replaces `values` on every rank by their elementwise sum over all ranks.
    func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws
    /// Replaces `values` on every rank by their elementwise sum over all ranks.
    func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws
    /// Every rank's `local` bytes concatenated in rank order; `local.count` may differ by rank.
    func allgatherBytes(_ local: UnsafeRawBufferPointer) throws -> [UInt8]
    /// Replaces `values` on every rank by rank `root`'s.
    func broadcast(_ values: UnsafeMutableRawBufferPointer, root: Int) throws
    /// Returns when every rank has called it.
    func barrier() throws
    /// Ends every process of the job with `code` (after an error on this rank, so that the
    /// others do not wait forever in a collective).
    func abort(code: Int32) -> Never
}

extension Communicator {
    /// Whether this is the rank that writes files and prints progress.
    public var isPrimary: Bool { rank == 0 }

    /// `values` summed elementwise over all ranks.
    public func allreduceSum(_ values: inout [Float]) throws {
        try values.withUnsafeMutableBufferPointer { try allreduceSum($0) }
    }

    /// `values` summed elementwise over all ranks.
    public func allreduceSum(_ values: inout [Double]) throws {
        try values.withUnsafeMutableBufferPointer { try allreduceSum($0) }
    }

    /// Every rank's `local` array concatenated in rank order (counts may differ by rank).
    public func allgather<T: BitwiseCopyable>(_ local: [T]) throws -> [T] {
        let bytes = try local.withUnsafeBytes { try allgatherBytes($0) }
        let stride = MemoryLayout<T>.stride
        guard bytes.count % stride == 0 else {
            throw CollectivesError.mismatch("gathered \(bytes.count) bytes, not a whole number of \(stride)-byte values")
        }
        return bytes.withUnsafeBytes { raw in Array(raw.bindMemory(to: T.self)) }
    }

    /// Rank `root`'s `values` on every rank (the counts must agree).
    public func broadcast<T: BitwiseCopyable>(_ values: inout [T], root: Int = 0) throws {
        try values.withUnsafeMutableBytes { try broadcast($0, root: root) }
    }

    /// Every rank's value of `local`, in rank order.
    public func allgatherValue<T: BitwiseCopyable>(_ local: T) throws -> [T] { try allgather([local]) }
}

/// One process alone: every collective is the identity.
public final class SingleProcess: Communicator {
    /// Rank 0.
    public var rank: Int { 0 }
    /// One process.
    public var size: Int { 1 }

    /// A communicator of one.
    public init() {}

    /// Nothing to add.
    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws {}
    /// Nothing to add.
    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws {}
    /// The local bytes.
    public func allgatherBytes(_ local: UnsafeRawBufferPointer) throws -> [UInt8] { Array(local) }
    /// Nothing to send.
    public func broadcast(_ values: UnsafeMutableRawBufferPointer, root: Int) throws {}
    /// Nobody to wait for.
    public func barrier() throws {}
    /// Exits.
    public func abort(code: Int32) -> Never { exit(code) }
}
