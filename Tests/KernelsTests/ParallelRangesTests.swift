import Dispatch
import Foundation
import Testing
@testable import Kernels

/// `parallelRanges` on OpenMP's team: every index once, nested and concurrent callers included.
@Suite struct ParallelRangesTests {
    /// How many times each index of 0..<count was visited by one call.
    static func visits(count: Int, minimumPerTask: Int = 1) -> [Int] {
        var seen = [Int](repeating: 0, count: count)
        seen.withUnsafeMutableBufferPointer { p in
            let base = p.baseAddress!  // shares are disjoint, so the writes never race
            parallelRanges(count: count, minimumPerTask: minimumPerTask) { range in
                for i in range { base[i] += 1 }
            }
        }
        return seen
    }

    /// Every index exactly once, for counts below, at and above the thread count, and with a
    /// minimum share that leaves fewer tasks than threads.
    @Test func everyIndexOnce() {
        for count in [0, 1, 2, 3, 7, 64, 1000, 4097] {
            for minimum in [1, 4, 512] {
                #expect(Self.visits(count: count, minimumPerTask: minimum) == [Int](repeating: 1, count: count), "count \(count), minimum \(minimum)")
            }
        }
    }

    /// A call inside another call's share (a team of one there) still covers its range.
    @Test func nestedCallsCoverTheirRanges() {
        let outer = 6, inner = 100
        var seen = [Int](repeating: 0, count: outer * inner)
        seen.withUnsafeMutableBufferPointer { p in
            let base = p.baseAddress!
            parallelRanges(count: outer) { rows in
                for r in rows {
                    parallelRanges(count: inner) { columns in
                        for c in columns { base[r * inner + c] += 1 }
                    }
                }
            }
        }
        #expect(seen == [Int](repeating: 1, count: outer * inner))
    }

    /// Several threads calling at once (as the ranks of a data-parallel test do) each get their
    /// own team and their whole range.
    @Test func concurrentCallersEachCoverTheirRange() {
        let callers = 4, count = 5000
        let totals = UnsafeMutableBufferPointer<Int>.allocate(capacity: callers)
        defer { totals.deallocate() }
        DispatchQueue.concurrentPerform(iterations: callers) { caller in
            totals[caller] = Self.visits(count: count).reduce(0, +)
        }
        #expect(Array(totals) == [Int](repeating: count, count: callers))
    }
}
