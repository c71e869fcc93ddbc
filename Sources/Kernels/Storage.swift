import Foundation

/// Owns one 64-byte-aligned block of memory drawn from a process-wide pool.
///
/// Why a pool: a training step allocates the same activation sizes every step (tens of MB each);
/// fresh `malloc` of large blocks maps new pages, and first-touch page faults would cost more than
/// some convolutions. Freed blocks go back to the pool by size and are reused on the next step.
public final class Storage: @unchecked Sendable {
    /// Start of the block.
    public let pointer: UnsafeMutableRawPointer
    /// Size of the block in bytes.
    public let byteCount: Int

    /// Takes a block of at least `byteCount` bytes (contents undefined).
    public init(byteCount: Int) {
        self.byteCount = byteCount
        self.pointer = StoragePool.shared.take(byteCount)
    }

    /// Takes a block and fills it with zero bytes.
    public convenience init(zeroedByteCount: Int) {
        self.init(byteCount: zeroedByteCount)
        pointer.initializeMemory(as: UInt8.self, repeating: 0, count: zeroedByteCount)
    }

    deinit { StoragePool.shared.give(pointer, byteCount) }
}

/// The pool behind `Storage`: free blocks kept by exact size, up to a byte budget.
final class StoragePool: @unchecked Sendable {
    static let shared = StoragePool()
    private var free: [Int: [UnsafeMutableRawPointer]] = [:]
    private var pooledBytes = 0
    private let lock = NSLock()
    /// Blocks beyond this many pooled bytes are returned to the system.
    private let budget = 6 << 30
    /// Fill every block handed back with NaN bytes (tests only): a computation that reads memory
    /// after its `Storage` was released then changes its result instead of silently reading the
    /// old values, which another thread could have overwritten.
    var poisonReleasedBlocks: Bool {
        get { lock.lock(); defer { lock.unlock() }; return poison }
        set { lock.lock(); poison = newValue; lock.unlock() }
    }
    private var poison = false

    func take(_ byteCount: Int) -> UnsafeMutableRawPointer {
        let size = max(byteCount, 1)
        lock.lock()
        if var list = free[size], let p = list.popLast() {
            free[size] = list
            pooledBytes -= size
            lock.unlock()
            return p
        }
        lock.unlock()
        guard let p = aligned_alloc_64(size) else {
            fatalError("out of memory allocating \(size) bytes")
        }
        return p
    }

    func give(_ pointer: UnsafeMutableRawPointer, _ byteCount: Int) {
        let size = max(byteCount, 1)
        if poisonReleasedBlocks { pointer.initializeMemory(as: UInt8.self, repeating: 0xFF, count: size) }
        lock.lock()
        if pooledBytes + size <= budget {
            free[size, default: []].append(pointer)
            pooledBytes += size
            lock.unlock()
        } else {
            lock.unlock()
            Foundation.free(pointer)
        }
    }
}

private func aligned_alloc_64(_ size: Int) -> UnsafeMutableRawPointer? {
    var p: UnsafeMutableRawPointer?
    let rounded = (size + 63) & ~63
    return posix_memalign(&p, 64, rounded) == 0 ? p : nil
}
