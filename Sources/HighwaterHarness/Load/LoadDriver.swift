@preconcurrency import Glibc
import AsyncHTTPClient
import HighwaterRecords
import HighwaterProbes
import NIOCore
import NIOHTTP1
import Synchronization
import HighwaterSystem

/// Drives HTTP load at a hosted child on loopback: N requests at concurrency C, or at a fixed rate.
public struct LoadDriver: Sendable {
    public struct Result: Sendable {
        public var latenciesMs: [Double] = []
        public var errors = 0
        public var statuses: [Int: Int] = [:]
        public var wallNs: UInt64 = 0
        public var firstError: String?
        /// Body bytes received, for bytes served per second.
        public var bytesReceived = 0
        /// Failed requests by kind: `http_502`, `timeout`, `reset`, `refused`, `other`.
        public var errorKinds: [String: Int] = [:]
    }

    public let port: Int
    public let route: String
    public let load: RunPlan.Load
    /// Builds the body of request `i`; nil sends none.
    public let body: (@Sendable (Int) -> RequestBody?)?

    public init(port: Int, route: String, load: RunPlan.Load, body: (@Sendable (Int) -> RequestBody?)? = nil) {
        self.port = port; self.route = route; self.load = load; self.body = body
    }

    /// Sends every request; `progress` is called about four times a second with the count done.
    /// - Parameter stop: checked before each request; true ends the load (the target has died).
    public func run(progress: (@Sendable (Int, UInt64) -> Void)? = nil, stop: (@Sendable () -> Bool)? = nil) async -> Result {
        var config = HTTPClient.Configuration()
        config.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(1, load.concurrency)
        config.timeout.connect = .seconds(10)
        config.timeout.read = .seconds(120)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
        let next = Counter()
        let done = Counter()
        let started = MonotonicClock.nanoseconds()
        let total = load.requests
        let url = "http://127.0.0.1:\(port)\(route)"
        let rate = load.rate
        let bodyMaker = body

        let reporter = progress.map { report in
            Task {
                while !Task.isCancelled {
                    try? await Task.sleep(nanoseconds: 250_000_000)
                    report(done.value, MonotonicClock.nanoseconds() - started)
                }
            }
        }
        let result = await withTaskGroup(of: Result.self) { group in
            for _ in 0..<max(1, load.concurrency) {
                group.addTask {
                    var partial = Result()
                    while !Interruption.requested && !(stop?() ?? false) {
                        let i = next.increment()
                        guard i < total else { break }
                        if let rate, rate > 0 {
                            let due = started + UInt64(Double(i) / rate * 1e9)
                            let now = MonotonicClock.nanoseconds()
                            if due > now { try? await Task.sleep(nanoseconds: due - now) }
                        }
                        var request = HTTPClientRequest(url: url)
                        request.method = bodyMaker == nil ? .GET : .POST
                        request.headers.add(name: "x-highwater-request", value: "\(i)")
                        if let body = bodyMaker?(i) {
                            request.headers.add(name: "content-type", value: body.contentType)
                            for (name, value) in body.headers { request.headers.add(name: name, value: value) }
                            request.body = .stream(body.chunks, length: .known(Int64(body.length)))
                        }
                        let t0 = MonotonicClock.nanoseconds()
                        do {
                            let response = try await client.execute(request, timeout: .seconds(120))
                            // Counted, not kept: a download's body can be far larger than the driver should hold.
                            var bytes = 0
                            for try await chunk in response.body { bytes += chunk.readableBytes }
                            partial.bytesReceived += bytes
                            let ms = Double(MonotonicClock.nanoseconds() - t0) / 1e6
                            partial.latenciesMs.append(ms)
                            let code = Int(response.status.code)
                            partial.statuses[code, default: 0] += 1
                            if !(200..<300).contains(code) {
                                partial.errors += 1
                                partial.errorKinds["http_\(code)", default: 0] += 1
                            }
                        } catch {
                            partial.errors += 1
                            partial.statuses[0, default: 0] += 1
                            partial.errorKinds[ConnectionErrorKind(error).rawValue, default: 0] += 1
                            if partial.firstError == nil { partial.firstError = "\(error)" }
                        }
                        done.increment()
                    }
                    return partial
                }
            }
            var merged = Result()
            for await part in group {
                merged.latenciesMs += part.latenciesMs
                merged.errors += part.errors
                merged.bytesReceived += part.bytesReceived
                for (k, v) in part.errorKinds { merged.errorKinds[k, default: 0] += v }
                for (k, v) in part.statuses { merged.statuses[k, default: 0] += v }
                if merged.firstError == nil { merged.firstError = part.firstError }
            }
            return merged
        }
        reporter?.cancel()
        var final = result
        final.wallNs = MonotonicClock.nanoseconds() - started
        try? await client.shutdown()
        return final
    }
}

/// A shared counter for the load workers.
final class Counter: Sendable {
    private let atomic = Atomic<Int>(0)
    @discardableResult
    func increment() -> Int { atomic.wrappingAdd(1, ordering: .relaxed).oldValue }
    var value: Int { atomic.load(ordering: .relaxed) }
}
