import ArgumentParser
import Foundation

/// Prints `error` as "error: …" on standard error and returns the exit code to throw (1).
func failure(_ error: Error) -> ExitCode {
    FileHandle.standardError.write("error: \(error)\n".data(using: .utf8)!)
    return ExitCode.failure
}
