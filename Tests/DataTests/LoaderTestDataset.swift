import Foundation
@testable import Data

/// An in-memory dataset for loader tests: image `i` is a constant grey/RGB patch whose first
/// byte is `i mod 256`; optionally fails at some indices (naming a fake file) or sleeps per read.
struct InMemoryDataset: ImageDataset {
    var name = "in-memory"
    var count: Int
    var channels = 3
    var size = 8
    var classCount: Int? = 5
    var failing: Set<Int> = []
    var delaySeconds: Double = 0
    var reads: ReadCounter? = nil

    func image(at index: Int) throws -> ImageU8 {
        reads?.increment()
        if delaySeconds > 0 { Thread.sleep(forTimeInterval: delaySeconds) }
        if failing.contains(index) {
            throw DataError.malformed(path: "images/\(index).png", reason: "truncated PNG")
        }
        var pixels = [UInt8](repeating: UInt8((index * 37) % 256), count: size * size * channels)
        pixels[0] = UInt8(index % 256)
        return ImageU8(height: size, width: size, channels: channels, pixels: pixels)
    }

    func label(at index: Int) -> Int? { classCount.map { index % $0 } }
}

/// A thread-safe counter of dataset reads.
final class ReadCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func increment() { lock.lock(); value += 1; lock.unlock() }
    var count: Int { lock.lock(); defer { lock.unlock() }; return value }
}
