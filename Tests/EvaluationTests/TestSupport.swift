import Foundation
import Randomness

extension SeededGenerator {
    /// A standard normal sample as Float, for synthetic features.
    mutating func gaussian() -> Float { Float(normal()) }
}

/// Runs `python3 -c script` (found through PATH, so pyenv/venv interpreters count); nil when it
/// cannot be started. Status 127 means python3 is not on PATH.
func runPython(_ script: String) -> (status: Int32, output: String)? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    do { try process.run() } catch { return nil }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// True when python3 can import numpy and scipy (the cross-checks need them).
let pythonWithNumpy: Bool = {
    guard let result = runPython("import numpy, scipy.optimize") else { return false }
    return result.status == 0
}()

/// A fresh temporary directory for one test.
func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "invprop-eval-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// A flag set once from another thread and read afterwards (tests only).
final class SharedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    /// Sets the flag.
    func set() { lock.lock(); value = true; lock.unlock() }
    /// Whether the flag was set.
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}
