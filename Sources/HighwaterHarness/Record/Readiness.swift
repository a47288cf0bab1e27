@preconcurrency import Glibc
import HighwaterSystem

/// When a target started by `highwater record` counts as ready for load.
public enum Readiness: Sendable, Equatable {
    /// At once (no check given).
    case immediately
    /// An HTTP GET to this loopback URL gets an answer, whatever its status.
    case http(host: String, port: Int, path: String)
    /// A regular expression matches a line of the target's stdout or stderr.
    case log(pattern: String)

    public var description: String {
        switch self {
        case .immediately: return "at once"
        case .http(let host, let port, let path): return "when GET http://\(host):\(port)\(path) answers"
        case .log(let pattern): return "when its output matches /\(pattern)/"
        }
    }

    /// Checks once. `logs` are the target's output files; `regex` is the `.log` pattern, compiled once by `wait`.
    func isReady(logs: [String], regex: Regex<AnyRegexOutput>?) -> Bool {
        switch self {
        case .immediately:
            return true
        case .http(let host, let port, let path):
            return Self.answers(host: host, port: port, path: path)
        case .log:
            guard let regex else { return false }
            for path in logs {
                guard let bytes = Self.tail(of: path, bytes: 1 << 20) else { continue }
                let text = String(decoding: bytes, as: UTF8.self)
                if text.split(separator: "\n").contains(where: { $0.contains(regex) }) { return true }
            }
            return false
        }
    }

    /// Waits until ready, the target ends, Ctrl-C, or `timeoutNs`; says which.
    public enum Outcome: Sendable, Equatable { case ready, ended, interrupted, timedOut }

    public func wait(for target: ExternalTarget, timeoutNs: UInt64) async -> Outcome {
        let logs = [target.stdoutPath, target.stderrPath].compactMap { $0 }
        let deadline = MonotonicClock.nanoseconds() &+ timeoutNs
        let regex: Regex<AnyRegexOutput>? = if case .log(let pattern) = self { try? Regex(pattern) } else { nil }
        while true {
            if isReady(logs: logs, regex: regex) { return .ready }
            if target.hasEnded { return .ended }
            if Interruption.requested { return .interrupted }
            if MonotonicClock.nanoseconds() >= deadline { return .timedOut }
            try? await Task.sleep(nanoseconds: 50_000_000)
        }
    }

    /// One GET over a plain socket, with a 1 s timeout: any status line is an answer.
    package static func answers(host: String, port: Int, path: String) -> Bool {
        let v6 = host.contains(":")
        let fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { Syscall.close(fd) }
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected: Int32
        if v6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = UInt16(port).bigEndian
            inet_pton(AF_INET6, host, &address.sin6_addr)
            connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(port).bigEndian
            inet_pton(AF_INET, host, &address.sin_addr)
            connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        guard connected == 0 else { return false }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nConnection: close\r\n\r\n".utf8)
        guard (try? Syscall.writeAll(fd, request, path: "socket")) != nil else { return false }
        var buffer = [UInt8](repeating: 0, count: 16)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 16, 0) }
        return n >= 12 && buffer.starts(with: Array("HTTP/1.".utf8))
    }

    /// The last `bytes` of a file: a chatty server's log must not make each check slower than the last.
    static func tail(of path: String, bytes: Int) -> [UInt8]? {
        guard let fd = try? Syscall.open(path, O_RDONLY | O_CLOEXEC) else { return nil }
        defer { Syscall.close(fd) }
        guard let size = try? Syscall.status(descriptor: fd, path: path).st_size else { return nil }
        let start = max(0, Int(size) - bytes)
        var buffer = [UInt8](repeating: 0, count: Int(size) - start)
        let n = buffer.withUnsafeMutableBytes { (try? Syscall.pread(fd, into: $0, at: start, path: path)) ?? 0 }
        return Array(buffer.prefix(n))
    }
}
