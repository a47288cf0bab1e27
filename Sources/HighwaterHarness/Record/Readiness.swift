@preconcurrency import Glibc
import AsyncHTTPClient
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

    /// Checks once. `logs` are the target's output files; `regex` is the `.log` pattern, compiled once by `wait`;
    /// `client` asks an `.http` URL.
    func isReady(logs: [String], regex: Regex<AnyRegexOutput>?, client: HTTPClient?) async -> Bool {
        switch self {
        case .immediately:
            return true
        case .http(let host, let port, let path):
            guard let client else { return false }
            return await Self.answers(host: host, port: port, path: path, client: client)
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
        let client: HTTPClient? = if case .http = self { LoadDriver.client(concurrency: 1) } else { nil }
        let outcome = await poll(logs: logs, regex: regex, client: client, target: target, deadline: deadline)
        try? await client?.shutdown()
        return outcome
    }

    private func poll(logs: [String], regex: Regex<AnyRegexOutput>?, client: HTTPClient?, target: ExternalTarget,
                      deadline: UInt64) async -> Outcome {
        while true {
            if await isReady(logs: logs, regex: regex, client: client) { return .ready }
            if target.hasEnded { return .ended }
            if Interruption.requested { return .interrupted }
            if MonotonicClock.nanoseconds() >= deadline { return .timedOut }
            try? await Task.sleep(nanoseconds: 50_000_000)
        }
    }

    /// One GET with a 1 s deadline: any answer, whatever its status, means the server is up.
    static func answers(host: String, port: Int, path: String, client: HTTPClient) async -> Bool {
        let authority = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        var request = HTTPClientRequest(url: "http://\(authority)\(path)")
        request.headers.add(name: "Connection", value: "close")
        guard let response = try? await client.execute(request, timeout: .seconds(1)) else { return false }
        // The body is not wanted, but it must be drained for the connection to be let go.
        _ = try? await response.body.collect(upTo: 1 << 20)
        return true
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
