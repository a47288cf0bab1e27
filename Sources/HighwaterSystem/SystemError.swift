@preconcurrency import Glibc

/// A failed system call: which call, on which path (or what), and the errno behind it.
///
/// Every syscall wrapper in `Syscall` throws this one type, so callers name the same three facts
/// whatever failed; domain errors (`ProbeError`, `UploadError`, …) wrap it rather than copy it.
package struct SystemError: Error, CustomStringConvertible, Equatable, Sendable {
    package var call: String
    /// The path or object the call was about; empty when there is none.
    package var path: String
    package var errno: Int32
    /// Highwater's own words, when the errno alone would mislead (a limit of Highwater's, not the kernel's).
    package var detail: String?

    package init(_ call: String, path: String = "", errno: Int32 = Glibc.errno, detail: String? = nil) {
        self.call = call
        self.path = path
        self.errno = errno
        self.detail = detail
    }

    /// The kernel's words for the errno, or Highwater's when it gave its own.
    package var reason: String { detail ?? String(cString: strerror(errno)) }

    package var description: String {
        detail.map { "cannot read \(path): \($0)" } ?? "\(call)(\(path)) failed: \(reason) (errno \(errno))"
    }
}
