@preconcurrency import Glibc

/// A failed reading: which call, on which path, and the errno behind it.
public struct ProbeError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Code: Sendable, Equatable {
        /// A system call failed; `errno` says why.
        case system(call: String, errno: Int32)
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

    public static func system(_ call: String, path: String, errno: Int32 = Glibc.errno) -> ProbeError {
        // ESRCH and ENOENT under /proc/PID mean the process has exited.
        if (errno == ESRCH || (errno == ENOENT && path.hasPrefix("/proc/") && !path.hasPrefix("/proc/self"))) {
            return ProbeError(.noSuchProcess, path: path)
        }
        return ProbeError(.system(call: call, errno: errno), path: path)
    }

    public var description: String {
        switch code {
        case .system(let call, let err):
            return "\(call)(\(path)) failed: \(String(cString: strerror(err))) (errno \(err))"
        case .malformed(let what):
            return "\(path): unexpected contents: \(what)"
        case .noSuchProcess:
            return "\(path): the process has exited"
        case .unavailable(let why):
            return "\(path): \(why)"
        }
    }
}
