@preconcurrency import Glibc
import AsyncHTTPClient
import HighwaterRecords
import HighwaterSystem

/// When a target started by `highwater record` counts as ready for load.
package enum Readiness: Sendable, Equatable {
    /// At once (no check given).
    case immediately
    /// An HTTP GET to this loopback URL gets an answer, whatever its status.
    case http(host: String, port: Int, path: String)
    /// A regular expression matches a line of the target's stdout or stderr.
    case log(pattern: String)

    package var description: String {
        switch self {
        case .immediately: return "at once"
        case .http(let host, let port, let path): return "when GET http://\(host):\(port)\(path) answers"
        case .log(let pattern): return "when its output matches /\(pattern)/"
        }
    }

    /// `--ready URL` (and a scenario's `target.ready`): a GET to an http:// URL on this machine.
    package static func loopback(url: String) throws(ReadinessURLError) -> Readiness {
        guard let spec = try? LoadSpec(parsing: "GET " + url) else { throw ReadinessURLError(url: url) }
        return .http(host: spec.host, port: spec.port, path: spec.path)
    }

    /// Waits until ready, the target ends, Ctrl-C, or `timeoutNs`; says which.
    package enum Outcome: Sendable, Equatable { case ready, ended, interrupted, timedOut }

    package func wait(for target: ExternalTarget, timeoutNs: UInt64) async -> Outcome {
        let deadline = MonotonicClock.nanoseconds() &+ timeoutNs
        // A pattern is matched on a thread of its own: one that backtracks for minutes must not keep this loop from
        // seeing the timeout or Ctrl-C (the thread is left to end with the process).
        let watcher: LogPatternWatcher? = if case .log(let pattern) = self {
            LogPatternWatcher(pattern: pattern, logs: [target.stdoutPath, target.stderrPath].compactMap { $0 })
        } else { nil }
        defer { watcher?.stop() }
        let client: HTTPClient? = if case .http = self { LoadDriver.client(concurrency: 1) } else { nil }
        let outcome = await poll(watcher: watcher, client: client, target: target, deadline: deadline)
        try? await client?.shutdown()
        return outcome
    }

    private func poll(watcher: LogPatternWatcher?, client: HTTPClient?, target: ExternalTarget, deadline: UInt64) async -> Outcome {
        while true {
            switch self {
            case .immediately: return .ready
            case .http(let host, let port, let path):
                if let client, await Self.answers(host: host, port: port, path: path, client: client) { return .ready }
            case .log: if watcher?.matched == true { return .ready }
            }
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
}

/// A readiness URL that is not an http:// URL on this machine.
package struct ReadinessURLError: Error, CustomStringConvertible {
    package var url: String
    package var description: String { "--ready \(url) is not an http:// URL on this machine (e.g. http://127.0.0.1:8000/health)" }
}
