@preconcurrency import Glibc
import HighwaterSystem

/// A failed reading: which call, on which path, and the errno behind it.
package struct ProbeError: Error, CustomStringConvertible, Equatable, Sendable {
    package enum Code: Sendable, Equatable {
        /// A system call failed; its errno says why.
        case system(SystemError)
        /// The file was read but its text is not what the kernel writes.
        case malformed(String)
        /// The process is gone (it exited while we read it).
        case noSuchProcess
        /// The process has exited and waits to be reaped; `waitStatus` is the status its parent will get, as
        /// /proc/PID/stat reports it (nil when the kernel did not say).
        case exited(waitStatus: Int32?)
        /// The facility is absent here (no cgroup v2, no such controller, …).
        case unavailable(String)
    }

    package var code: Code
    package var path: String

    package init(_ code: Code, path: String) {
        self.code = code
        self.path = path
    }

    /// A failed call as a probe sees it: ESRCH, and ENOENT under /proc/PID, mean the process has exited.
    package init(_ error: SystemError) {
        let path = error.path
        if error.errno == ESRCH || (error.errno == ENOENT && path.hasPrefix("/proc/") && !path.hasPrefix("/proc/self")) {
            self.init(.noSuchProcess, path: path)
        } else {
            self.init(.system(error), path: path)
        }
    }

    package static func system(_ call: String, path: String, errno: Int32 = Glibc.errno) -> ProbeError {
        ProbeError(SystemError(call, path: path, errno: errno))
    }

    /// "exited (status N)" or "killed by signal N", as a shell would put the wait status.
    package static func describeExit(_ status: Int32?) -> String {
        guard let status else { return "exited" }
        let signal = status & 0x7f
        if signal == 0 { return "exited (status \((status >> 8) & 0xff))" }
        return "killed by signal \(signal)"
    }

    package var description: String {
        switch code {
        case .system(let error):
            return error.description
        case .malformed(let what):
            return "\(path): unexpected contents: \(what)"
        case .noSuchProcess:
            return "\(path): the process has exited"
        case .exited(let status):
            return "the process " + ProbeError.describeExit(status)
        case .unavailable(let why):
            return "\(path): \(why)"
        }
    }
}
