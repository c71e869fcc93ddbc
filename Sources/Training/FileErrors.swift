import Foundation

/// One readable line for an error of a Foundation file operation: "PATH: reason" (the system's
/// reason, e.g. "Not a directory", "No space left on device"), or nil for any other error.
/// Foundation's own description of these errors is an NSError dump on Linux.
public func readableFileError(_ error: Error) -> String? {
    let error = error as NSError
    guard error.domain == NSCocoaErrorDomain || error.domain == NSPOSIXErrorDomain else { return nil }
    let path = error.userInfo[NSFilePathErrorKey] as? String ?? (error.userInfo[NSURLErrorKey] as? URL)?.path
    let reason = fileErrorReason(error)
    return path.map { "\($0): \(reason)" } ?? reason
}

/// The reason of a Foundation file error without its path: the underlying system error's
/// message where there is one (Foundation's own text is often "(null)" on Linux).
func fileErrorReason(_ error: Error) -> String {
    let error = error as NSError
    if error.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(error.code))) }
    if let underlying = error.userInfo[NSUnderlyingErrorKey] as? POSIXError {
        return String(cString: strerror(underlying.code.rawValue))
    }
    if let underlying = (error.userInfo[NSUnderlyingErrorKey] as? Error).map({ $0 as NSError }), underlying.domain == NSPOSIXErrorDomain {
        return String(cString: strerror(Int32(underlying.code)))
    }
    if error.domain == NSCocoaErrorDomain {
        switch CocoaError.Code(rawValue: error.code) {
        case .fileNoSuchFile, .fileReadNoSuchFile: return "No such file or directory"
        case .fileWriteOutOfSpace: return "No space left on device"
        case .fileWriteNoPermission, .fileReadNoPermission: return "Permission denied"
        case .fileWriteFileExists: return "File exists"
        case .fileWriteVolumeReadOnly: return "Read-only file system"
        default: break
        }
    }
    return error.localizedDescription
}
