import ArgumentParser
import Foundation
import Training

/// Prints `error` as "error: …" on standard error and returns the exit code to throw (1); a
/// Foundation file error becomes one line naming the file and the system's reason.
func failure(_ error: Error) -> ExitCode {
    FileHandle.standardError.write("error: \(readableFileError(error) ?? "\(error)")\n".data(using: .utf8)!)
    return ExitCode.failure
}
