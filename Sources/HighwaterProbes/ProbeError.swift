@preconcurrency import Glibc
import HighwaterSystem

/// A failed reading: which call, on which path, and the errno behind it.
public struct ProbeError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Code: Sendable, Equatable {
        /// A system call failed; its errno says why.
        case system(SystemError)
        /// The file was read but its text is not what the kernel writes.
        case malformed(String)
        /// The process is gone (it exited while we read it).
        case noSuchProcess
        /// The facility is absent here (no cgroup v2, no such controller, …).
        case unavailable(String)
    }

    public var code: Code
    public var path: String

    public init(_ code: Code, path: String) {
        self.code = code
        self.path = path
    }

    /// A failed call as a probe sees it: ESRCH, and ENOENT under /proc/PID, mean the process has exited.
    public init(_ error: SystemError) {
        let path = error.path
        if error.errno == ESRCH || (error.errno == ENOENT && path.hasPrefix("/proc/") && !path.hasPrefix("/proc/self")) {
            self.init(.noSuchProcess, path: path)
        } else {
            self.init(.system(error), path: path)
        }
    }

    public static func system(_ call: String, path: String, errno: Int32 = Glibc.errno) -> ProbeError {
        ProbeError(SystemError(call, path: path, errno: errno))
    }

    public var description: String {
        switch code {
        case .system(let error):
            return error.description
        case .malformed(let what):
            return "\(path): unexpected contents: \(what)"
        case .noSuchProcess:
            return "\(path): the process has exited"
        case .unavailable(let why):
            return "\(path): \(why)"
        }
    }
}
