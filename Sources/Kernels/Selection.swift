import CKernels

/// Top-k selection of large float rows without sorting them (used by the memory-bank methods to
/// pick the M = 4096 nearest of N = 60 000+ bank entries per anchor, SPEC step 4).
///
/// Order used everywhere here: larger value first; equal values by lower index first; NaN is
/// below every number (so a NaN never displaces a real similarity). This makes the result
/// deterministic, unlike a `topk` whose tie order is unspecified.
public enum Selection {
    /// Number of histogram bins of the first pass; 2048 keeps the histogram in L1 and the
    /// boundary bin small (tens of entries for 60 000 values).
    static let binCount = 2048

    /// Writes into `indices[0..<k]` the positions of the `k` largest of `values[0..<count]`.
    /// The first `sortedPrefix` of them are the best ones in descending order; the rest follow in
    /// unspecified order. Cost O(count + k), no full sort. Requires 0 ≤ k ≤ count.
    public static func topK(
        _ values: UnsafePointer<Float>, count n: Int, k: Int, sortedPrefix: Int,
        indices: UnsafeMutablePointer<Int32>
    ) {
        select(values, count: n, k: k, sortedPrefix: sortedPrefix, indices: indices, threshold: selectByThreshold)
    }

    /// `topK` with the plain sampled-threshold path (`selectByThresholdReference`): the same
    /// result, index for index and in the same order. Kept as the tested reference of the fast path.
    public static func topKReference(
        _ values: UnsafePointer<Float>, count n: Int, k: Int, sortedPrefix: Int,
        indices: UnsafeMutablePointer<Int32>
    ) {
        select(values, count: n, k: k, sortedPrefix: sortedPrefix, indices: indices, threshold: selectByThresholdReference)
    }

    /// The body of `topK` and `topKReference`: `threshold` first, then the histogram, then a
    /// sort as the last resort, and the best `sortedPrefix` put in order.
    private static func select(
        _ values: UnsafePointer<Float>, count n: Int, k: Int, sortedPrefix: Int, indices: UnsafeMutablePointer<Int32>,
        threshold: (UnsafePointer<Float>, Int, Int, UnsafeMutablePointer<Int32>) -> Bool
    ) {
        precondition(k >= 0 && k <= n, "topK: k = \(k) outside 0...\(n)")
        precondition(n <= Int(Int32.max), "topK: count exceeds Int32 indices")
        if k == 0 { return }
        let prefix = min(max(sortedPrefix, 0), k)
        if k == n {
            for i in 0..<n { indices[i] = Int32(i) }
        } else if !threshold(values, n, k, indices) && !selectByHistogram(values, n, k, indices) {
            selectBySorting(values, n, k, indices)
        }
        orderPrefix(values, indices, k, prefix)
    }

    /// `topK` of each of `rows` rows of `values` ([rows, count], row-major) into `indices`
    /// ([rows, k]), the rows spread over the compute threads (rows are independent, so the result
    /// does not depend on the thread count).
    public static func topKRows(
        _ values: UnsafePointer<Float>, rows: Int, count n: Int, k: Int, sortedPrefix: Int,
        indices: UnsafeMutablePointer<Int32>
    ) {
        parallelRanges(count: rows) { range in
            for r in range {
                topK(values + r * n, count: n, k: k, sortedPrefix: sortedPrefix, indices: indices + r * k)
            }
        }
    }

    /// True when value/index pair `a` ranks before `b` (see the order in the type comment).
    @inline(__always)
    static func ranksBefore(_ values: UnsafePointer<Float>, _ a: Int32, _ b: Int32) -> Bool {
        let va = values[Int(a)], vb = values[Int(b)]
        if va > vb { return true }
        if va < vb { return false }
        if va == vb { return a < b }
        if va.isNaN && vb.isNaN { return a < b }
        return vb.isNaN
    }

    /// The sample both threshold paths draw from a row of n values for the k largest: every
    /// `stride`-th value (about 2 048 of them), and the rank in the sample whose value is the
    /// threshold (4 standard deviations past the expected rank of the k-th largest, plus 8); nil
    /// for rows too short or k too large for sampling to pay.
    static func samplePlan(_ n: Int, _ k: Int) -> (stride: Int, count: Int, rank: Int)? {
        guard n >= 8192 && k * 4 <= n else { return nil }
        let stride = n / 2048
        let sampleCount = n / stride
        let expected = Double(k) * Double(sampleCount) / Double(n)
        return (stride, sampleCount, min(sampleCount, Int(expected + 4 * expected.squareRoot()) + 8))
    }

    /// Plain reference of the fast path for k ≪ n (kept as what `selectByThreshold` is tested
    /// against, and used by `topKReference`): a threshold from a strided sample of ~2048 values
    /// (its rank set a few standard deviations past the expected one), one branch-free pass
    /// collecting every value ≥ threshold, then the k-th largest collected value by quickselect
    /// on plain floats. Everything left out is below every collected value, so the result is
    /// exact whenever at least k were collected; otherwise returns false and the histogram path runs.
    static func selectByThresholdReference(
        _ values: UnsafePointer<Float>, _ n: Int, _ k: Int, _ out: UnsafeMutablePointer<Int32>
    ) -> Bool {
        guard let (stride, sampleCount, rank) = samplePlan(n, k) else { return false }
        var sample = (0..<sampleCount).map { i -> Float in
            let x = values[i * stride]
            return x.isNaN ? -.infinity : x
        }
        let threshold = sample.withUnsafeMutableBufferPointer { kthLargest($0.baseAddress!, sampleCount, rank - 1) }
        return withUnsafeTemporaryAllocation(of: Int32.self, capacity: n) { buf -> Bool in
            let p = buf.baseAddress!
            var c = 0
            for i in 0..<n {  // NaN compares false and is never collected
                p[c] = Int32(truncatingIfNeeded: i)
                c &+= values[i] >= threshold ? 1 : 0
            }
            if c < k { return false }
            return withUnsafeTemporaryAllocation(of: Float.self, capacity: c) { vb -> Bool in
                let v = vb.baseAddress!
                for j in 0..<c { v[j] = values[Int(p[j])] }
                let kth = kthLargest(v, c, k - 1)
                // Everything above the k-th value, then ties at it by ascending index (p is in
                // index order), which is the documented tie order.
                var o = 0
                for j in 0..<c where values[Int(p[j])] > kth { out[o] = p[j]; o += 1 }
                var j = 0
                while o < k && j < c {
                    if values[Int(p[j])] == kth { out[o] = p[j]; o += 1 }
                    j += 1
                }
                return o == k
            }
        }
    }

    /// The value a descending sort of `v[0..<count]` (no NaN) puts at position `nth`;
    /// rearranges `v`.
    static func kthLargest(_ v: UnsafeMutablePointer<Float>, _ count: Int, _ nth: Int) -> Float {
        var lo = 0, hi = count - 1
        while hi > lo {
            let mid = lo + (hi - lo) / 2
            if v[mid] > v[lo] { swapAt(v, mid, lo) }
            if v[hi] > v[lo] { swapAt(v, hi, lo) }
            if v[hi] > v[mid] { swapAt(v, hi, mid) }
            let pivot = v[mid]
            var i = lo, j = hi
            while i <= j {
                while v[i] > pivot { i += 1 }
                while pivot > v[j] { j -= 1 }
                if i <= j { swapAt(v, i, j); i += 1; j -= 1 }
            }
            if nth <= j { hi = j } else if nth >= i { lo = i } else { break }
        }
        return v[nth]
    }

    /// Histogram pass over a linear binning of [min, max], then one collecting pass: entries in
    /// bins above the boundary bin are taken, the boundary bin is resolved by quickselect.
    /// Returns false (caller falls back) when the range is not finite or degenerate.
    static func selectByHistogram(
        _ values: UnsafePointer<Float>, _ n: Int, _ k: Int, _ out: UnsafeMutablePointer<Int32>
    ) -> Bool {
        var lo = Float.infinity, hi = -Float.infinity
        for i in 0..<n {  // NaN fails both comparisons and is ignored here
            let x = values[i]
            if x < lo { lo = x }
            if x > hi { hi = x }
        }
        guard lo.isFinite && hi.isFinite && hi > lo else { return false }
        let lastBin = Float(binCount - 1)
        let scale = Float(binCount) / (hi - lo)
        guard scale.isFinite else { return false }
        @inline(__always) func bin(_ x: Float) -> Int {
            var t = (x - lo) * scale
            if !(t >= 0) { t = 0 }  // NaN lands in the lowest bin
            if t > lastBin { t = lastBin }
            return Int(t)
        }
        return withUnsafeTemporaryAllocation(of: Int32.self, capacity: binCount) { hist -> Bool in
            hist.initialize(repeating: 0)
            for i in 0..<n { hist[bin(values[i])] &+= 1 }
            var above = 0, boundary = binCount - 1
            while boundary >= 0 {
                let c = Int(hist[boundary])
                if above + c >= k { break }
                above += c
                boundary -= 1
            }
            let boundaryCount = Int(hist[boundary])
            var taken = 0
            var pending = [Int32](repeating: 0, count: boundaryCount)
            pending.withUnsafeMutableBufferPointer { p in
                var m = 0
                for i in 0..<n {
                    let b = bin(values[i])
                    if b > boundary {
                        out[taken] = Int32(i); taken += 1
                    } else if b == boundary {
                        p[m] = Int32(i); m += 1
                    }
                }
                let need = k - taken
                nthElement(values, p.baseAddress!, count: m, nth: need - 1)
                for j in 0..<need { out[taken + j] = p[j] }
            }
            return true
        }
    }

    /// Fallback for rows with infinities or a single value: quickselect over all positions.
    static func selectBySorting(
        _ values: UnsafePointer<Float>, _ n: Int, _ k: Int, _ out: UnsafeMutablePointer<Int32>
    ) {
        var all = (0..<n).map { Int32($0) }
        all.withUnsafeMutableBufferPointer { p in
            nthElement(values, p.baseAddress!, count: n, nth: k - 1)
            for j in 0..<k { out[j] = p[j] }
        }
    }

    /// Moves the best `prefix` of `idx[0..<k]` to the front in descending order.
    static func orderPrefix(
        _ values: UnsafePointer<Float>, _ idx: UnsafeMutablePointer<Int32>, _ k: Int, _ prefix: Int
    ) {
        if prefix == 0 { return }
        if prefix <= 16 && prefix < k {
            // One scan keeping the best `prefix` positions in order (k+1 = 5 for InvP), instead
            // of a quickselect over all k.
            var best = [Int](repeating: 0, count: prefix)  // positions in idx, best first
            var filled = 0
            for pos in 0..<k {
                if filled == prefix && !ranksBefore(values, idx[pos], idx[best[prefix - 1]]) { continue }
                var t = min(filled, prefix - 1)
                while t > 0 && ranksBefore(values, idx[pos], idx[best[t - 1]]) { best[t] = best[t - 1]; t -= 1 }
                best[t] = pos
                filled = min(filled + 1, prefix)
            }
            // Move the chosen entries to the front: taking them in ascending position order,
            // each swap only displaces an entry that is not chosen (or already placed).
            let chosen = best.map { idx[$0] }
            for (slot, pos) in best.sorted().enumerated() { swapAt(idx, slot, pos) }
            for t in 0..<prefix { idx[t] = chosen[t] }
            return
        }
        if prefix < k { nthElement(values, idx, count: k, nth: prefix - 1) }
        insertionSort(values, idx, 0, prefix - 1)
    }

    /// Rearranges `idx[0..<count]` so that position `nth` holds the element a full sort would put
    /// there and everything before it ranks before it (C++ `nth_element`).
    static func nthElement(
        _ values: UnsafePointer<Float>, _ idx: UnsafeMutablePointer<Int32>, count: Int, nth: Int
    ) {
        if count <= 1 || nth < 0 || nth >= count { return }
        var lo = 0, hi = count - 1
        while hi > lo {
            if hi - lo < 16 { insertionSort(values, idx, lo, hi); return }
            // Median of three as pivot; the order is strict (index tie-break), so no
            // quadratic behaviour on repeated values.
            let mid = lo + (hi - lo) / 2
            if ranksBefore(values, idx[mid], idx[lo]) { swapAt(idx, mid, lo) }
            if ranksBefore(values, idx[hi], idx[lo]) { swapAt(idx, hi, lo) }
            if ranksBefore(values, idx[hi], idx[mid]) { swapAt(idx, hi, mid) }
            let pivot = idx[mid]
            var i = lo, j = hi
            while i <= j {
                while ranksBefore(values, idx[i], pivot) { i += 1 }
                while ranksBefore(values, pivot, idx[j]) { j -= 1 }
                if i <= j { swapAt(idx, i, j); i += 1; j -= 1 }
            }
            if nth <= j { hi = j } else if nth >= i { lo = i } else { return }
        }
    }

    @inline(__always)
    static func swapAt<T>(_ p: UnsafeMutablePointer<T>, _ a: Int, _ b: Int) {
        let t = p[a]; p[a] = p[b]; p[b] = t
    }

    static func insertionSort(
        _ values: UnsafePointer<Float>, _ idx: UnsafeMutablePointer<Int32>, _ lo: Int, _ hi: Int
    ) {
        if hi <= lo { return }
        for i in (lo + 1)...hi {
            let x = idx[i]
            var j = i - 1
            while j >= lo && ranksBefore(values, x, idx[j]) { idx[j + 1] = idx[j]; j -= 1 }
            idx[j + 1] = x
        }
    }

    /// Bins of the histogram selections inside the sampled-threshold path (counts fit in L1).
    static let fastBinCount = 1024

    /// The value a descending sort of `v[0..<count]` (no NaN) puts at position `nth`, equal to
    /// `kthLargest`'s, without rearranging `v`: a min/max pass, a histogram over [min, max]
    /// (the bin of x is monotone in x, so the nth value lies in the bin where the count from the
    /// top reaches nth + 1), then quickselect among that bin's values only, copied to `scratch`
    /// (capacity ≥ count). Infinite or subnormal ranges fall back to quickselect on a copy.
    static func kthLargestByHistogram(
        _ v: UnsafePointer<Float>, _ count: Int, _ nth: Int, scratch: UnsafeMutablePointer<Float>
    ) -> Float {
        var lo = v[0], hi = v[0]
        for i in 0..<count {  // min/max in the form the compiler vectorises (no NaN here)
            let x = v[i]
            lo = x < lo ? x : lo
            hi = x > hi ? x : hi
        }
        if hi == lo { return lo }
        let bins = fastBinCount
        let scale = Float(bins) / (hi - lo)
        guard lo.isFinite && hi.isFinite && (hi - lo).isFinite && scale.isFinite else {
            scratch.update(from: v, count: count)
            return kthLargest(scratch, count, nth)
        }
        let last = bins - 1
        return withUnsafeTemporaryAllocation(of: Int32.self, capacity: bins) { hb -> Float in
            let hist = hb.baseAddress!
            hist.initialize(repeating: 0, count: bins)
            for i in 0..<count { hist[min(Int((v[i] - lo) * scale), last)] &+= 1 }
            var above = 0, boundary = last
            while above + Int(hist[boundary]) <= nth { above += Int(hist[boundary]); boundary -= 1 }
            var m = 0
            for i in 0..<count {
                let x = v[i]
                scratch[m] = x
                m &+= Int(unsafeBitCast(min(Int((x - lo) * scale), last) == boundary, to: UInt8.self))
            }
            return kthLargest(scratch, m, nth - above)
        }
    }

    /// Whether `collectAtLeast` runs on AVX-512 (decided once per process from CPUID).
    static let collectsWithAVX512 = ckernels_has_avx512f() == 1

    /// Writes every position i < n with values[i] ≥ threshold (a NaN never qualifies) into
    /// `indices` in ascending order, and values[i] into `collected`; returns how many. Both need
    /// room for n + 16 entries. AVX-512's compress (16 values per step) where the CPU has it, else
    /// `collectAtLeastPlain`, its tested reference.
    static func collectAtLeast(
        _ values: UnsafePointer<Float>, _ n: Int, _ threshold: Float,
        indices: UnsafeMutablePointer<Int32>, collected: UnsafeMutablePointer<Float>
    ) -> Int {
        if collectsWithAVX512 {
            return ckernels_collect_at_least_avx512(values, n, threshold, indices, collected)
        }
        return collectAtLeastPlain(values, n, threshold, indices: indices, collected: collected)
    }

    /// The plain branch-free loop of `collectAtLeast` (same outputs; room for n entries suffices).
    static func collectAtLeastPlain(
        _ values: UnsafePointer<Float>, _ n: Int, _ threshold: Float,
        indices: UnsafeMutablePointer<Int32>, collected: UnsafeMutablePointer<Float>
    ) -> Int {
        var c = 0
        for i in 0..<n {  // NaN compares false and is never collected
            let x = values[i]
            indices[c] = Int32(truncatingIfNeeded: i)
            collected[c] = x
            c &+= Int(unsafeBitCast(x >= threshold, to: UInt8.self))
        }
        return c
    }

    /// The sampled-threshold path of `selectByThresholdReference`, with the same result (the
    /// same indices in the same order, and false in exactly the same cases) at a lower cost: both
    /// order statistics (the threshold's rank in the sample, the k-th among the survivors) by
    /// `kthLargestByHistogram` instead of a quickselect over every value, and the collecting pass
    /// copies the survivors' values so the k-th is found without gathering.
    static func selectByThreshold(
        _ values: UnsafePointer<Float>, _ n: Int, _ k: Int, _ out: UnsafeMutablePointer<Int32>
    ) -> Bool {
        guard let (stride, sampleCount, rank) = samplePlan(n, k) else { return false }
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * sampleCount) { sb -> Bool in
            let sample = sb.baseAddress!
            for i in 0..<sampleCount {
                let x = values[i * stride]
                sample[i] = x.isNaN ? -.infinity : x
            }
            let threshold = kthLargestByHistogram(sample, sampleCount, rank - 1, scratch: sample + sampleCount)
            // Room for n + 16 entries each (`collectAtLeast` stores whole vectors); pv's second
            // half is the scratch of the k-th search among the c collected values.
            return withUnsafeTemporaryAllocation(of: Int32.self, capacity: n + 16) { ib -> Bool in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * n + 16) { vb -> Bool in
                let p = ib.baseAddress!, pv = vb.baseAddress!
                let c = collectAtLeast(values, n, threshold, indices: p, collected: pv)
                if c < k { return false }
                let kth = kthLargestByHistogram(pv, c, k - 1, scratch: pv + c)
                // Everything above the k-th value (fewer than k, so `o` stays in bounds), then
                // ties at it by ascending index: the order of the reference path.
                var o = 0
                for j in 0..<c {
                    out[o] = p[j]
                    o &+= Int(unsafeBitCast(pv[j] > kth, to: UInt8.self))
                }
                var j = 0
                while o < k && j < c {
                    if pv[j] == kth { out[o] = p[j]; o += 1 }
                    j += 1
                }
                return o == k
            }
            }
        }
    }
}
