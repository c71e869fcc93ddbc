import Foundation

/// Ranks as threads of one process: `member(rank)` is the communicator thread `rank` uses. Each
/// collective waits until every member has contributed, then hands each the combined result.
/// It lets tests check data-parallel code (and synchronised batch norm) without `mpirun`.
public final class ThreadGroup: @unchecked Sendable {
    /// The number of members.
    public let size: Int
    private let condition = NSCondition()
    private var contributions: [[UInt8]?]
    private var results: [[UInt8]] = []
    private var generation = 0, readers = 0

    /// A group of `size` members.
    public init(size: Int) {
        precondition(size >= 1, "a thread group needs a member")
        self.size = size
        contributions = Array(repeating: nil, count: size)
    }

    /// The communicator of member `rank`.
    public func member(_ rank: Int) -> any Communicator { Member(group: self, rank: rank) }

    /// Deposits `bytes` for `rank`, waits for every member, and returns every member's bytes in
    /// rank order. A collective starts only after every member read the previous one.
    func exchange(_ bytes: [UInt8], rank: Int) -> [[UInt8]] {
        condition.lock(); defer { condition.unlock() }
        while readers > 0 { condition.wait() }   // the previous collective is still being read
        let mine = generation
        contributions[rank] = bytes
        if contributions.allSatisfy({ $0 != nil }) {
            results = contributions.map { $0! }
            contributions = Array(repeating: nil, count: size)
            readers = size
            generation += 1
            condition.broadcast()
        } else {
            while generation == mine { condition.wait() }
        }
        let all = results
        readers -= 1
        if readers == 0 { condition.broadcast() }
        return all
    }

    private final class Member: Communicator, @unchecked Sendable {
        let group: ThreadGroup
        let rank: Int
        var size: Int { group.size }

        init(group: ThreadGroup, rank: Int) { self.group = group; self.rank = rank }

        func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws { sum(values) }
        func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws { sum(values) }

        /// Adds every member's values in rank order (as a reduction tree would not: the order is
        /// fixed so the result is the same on every member).
        private func sum<T: BinaryFloatingPoint & BitwiseCopyable>(_ values: UnsafeMutableBufferPointer<T>) {
            let all = group.exchange(Array(UnsafeRawBufferPointer(values)), rank: rank)
            for i in values.indices { values[i] = 0 }
            for bytes in all {
                bytes.withUnsafeBytes { raw in
                    let other = raw.bindMemory(to: T.self)
                    for i in values.indices { values[i] += other[i] }
                }
            }
        }

        func allgatherBytes(_ local: UnsafeRawBufferPointer) throws -> [UInt8] {
            group.exchange(Array(local), rank: rank).flatMap { $0 }
        }

        func broadcast(_ values: UnsafeMutableRawBufferPointer, root: Int) throws {
            let all = group.exchange(Array(values), rank: rank)
            guard all[root].count == values.count else {
                throw CollectivesError.mismatch("broadcast of \(all[root].count) bytes into \(values.count)")
            }
            all[root].withUnsafeBytes { values.copyMemory(from: $0) }
        }

        func barrier() throws { _ = group.exchange([], rank: rank) }

        func abort(code: Int32) -> Never { exit(code) }
    }
}
