@preconcurrency import Glibc
import AsyncHTTPClient
import HighwaterRecords
import HighwaterProbes
import NIOCore
import NIOHTTP1
import Synchronization
import HighwaterSystem
import HighwaterHost
import HighwaterWorkloads

/// Drives HTTP load at a hosted child on loopback: N requests at concurrency C, or at a fixed rate.
package struct LoadDriver: Sendable {
    package struct Result: Sendable {
        package var latenciesMs: [Double] = []
        package var errors = 0
        package var statuses: [Int: Int] = [:]
        package var wallNs: UInt64 = 0
        package var firstError: String?
        /// Body bytes received, for bytes served per second.
        package var bytesReceived = 0
        /// Failed requests by kind: `http_502`, `timeout`, `reset`, `refused`, `other`.
        package var errorKinds: [String: Int] = [:]

        mutating func add(_ part: Result) {
            latenciesMs += part.latenciesMs
            errors += part.errors
            bytesReceived += part.bytesReceived
            for (k, v) in part.errorKinds { errorKinds[k, default: 0] += v }
            for (k, v) in part.statuses { statuses[k, default: 0] += v }
            if firstError == nil { firstError = part.firstError }
        }
    }

    package let port: Int
    package let route: String
    package let load: RunPlan.Load
    /// Builds the body of request `i`; nil sends none.
    package let body: (@Sendable (Int) -> RequestBody?)?

    /// The first requests, sent one at a time before the others start: the run's warm-up. Alone, they measure the
    /// first requests' own cost; sent with the rest at concurrency 40, the first to finish would already carry
    /// the growth of 40 requests in flight, and a verdict counted from it would miss a pool filling up.
    package let warmup: Int

    package init(port: Int, route: String, load: RunPlan.Load, warmup: Int = 0, body: (@Sendable (Int) -> RequestBody?)? = nil) {
        self.port = port; self.route = route; self.load = load; self.body = body
        self.warmup = min(max(0, warmup), load.requests)
    }

    /// Sends every request; `progress` is called about four times a second with the count done.
    /// - Parameter stop: checked before each request; true ends the load (the target has died).
    /// - Parameter enough: checked before each request; true ends the load after the requests in flight (the
    ///   verdict has settled), which `stop` would cancel.
    package func run(progress: (@Sendable (Int, UInt64) -> Void)? = nil, stop: (@Sendable () -> Bool)? = nil,
                    enough: (@Sendable () -> Bool)? = nil) async -> Result {
        let client = Self.client(concurrency: load.concurrency)
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
        let final = await Self.schedule(requests: total, warmup: warmup, concurrency: load.concurrency, rate: rate, startedNs: started,
                                        stop: stop, enough: enough) { i, partial in
            await Self.send(request: i, to: url, with: client, body: bodyMaker, into: &partial)
            done.increment()
        }
        reporter?.cancel()
        try? await client.shutdown()
        return final
    }

    /// Requests `0..<requests` by index: the first `warmup` one at a time, then the rest by `concurrency` workers, at
    /// `rate` a second from `startedNs` when set; one counter hands out the indices, so the workers go on from the
    /// warm-up. The result's wall time runs from `startedNs` to the end.
    /// Each stops when `stop` says so (the target has died, a time limit) or on Ctrl-C. The load of `run` and of
    /// `record`'s phases, so both pace, warm up and stop alike.
    static func schedule(requests total: Int, warmup: Int, concurrency: Int, rate: Double?, startedNs started: UInt64,
                         stop: (@Sendable () -> Bool)?, enough: (@Sendable () -> Bool)? = nil,
                         send: @escaping @Sendable (Int, inout Result) async -> Void) async -> Result {
        let next = Counter()
        let halted = { @Sendable in Interruption.requested || (stop?() ?? false) || (enough?() ?? false) }
        var result = await watched(stop: stop, workers: warmup > 0 ? 1 : 0) {
            var partial = Result()
            while !Task.isCancelled && !halted() && next.value < warmup {
                await send(next.increment(), &partial)
            }
            return partial
        }
        guard !halted() else {
            result.wallNs = MonotonicClock.nanoseconds() - started
            return result
        }
        result.add(await watched(stop: stop, workers: max(1, concurrency)) {
            var partial = Result()
            requests: while !Task.isCancelled && !halted() {
                let i = next.increment()
                guard i < total else { break }
                if let rate, rate > 0 {
                    // In slices of at most a second: a sleep of years is not one the runtime can take.
                    let due = Self.due(request: i, rate: rate, startedNs: started)
                    while case let now = MonotonicClock.nanoseconds(), due > now {
                        do { try await Task.sleep(nanoseconds: min(due - now, 1_000_000_000)) } catch { break requests }
                    }
                }
                await send(i, &partial)
            }
            return partial
        })
        result.wallNs = MonotonicClock.nanoseconds() - started
        return result
    }

    /// The client of one load: up to `concurrency` connections to the target, 10 s to connect, 120 s to answer.
    static func client(concurrency: Int) -> HTTPClient {
        var config = HTTPClient.Configuration()
        config.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(1, concurrency)
        config.timeout.connect = .seconds(10)
        config.timeout.read = .seconds(120)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
    }

    /// One request: its latency, status and bytes, or its error, added to `partial`.
    static func send(request i: Int, to url: String, with client: HTTPClient, body bodyMaker: (@Sendable (Int) -> RequestBody?)?,
             into partial: inout Result) async {
        let request = Self.request(i, method: bodyMaker == nil ? .GET : .POST, url: url, body: bodyMaker?(i))
        _ = await execute(request, request: i, with: client, into: &partial)
    }

    /// Request `i`: numbered in `x-highwater-request` (the host's records carry it), its body streamed.
    static func request(_ i: Int, method: HTTPMethod, url: String, body: RequestBody?) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "x-highwater-request", value: "\(i)")
        if let body {
            request.headers.add(name: "content-type", value: body.contentType)
            for (name, value) in body.headers { request.headers.add(name: name, value: value) }
            request.body = .stream(body.chunks, length: .known(Int64(body.length)))
        }
        return request
    }

    /// What one request got back.
    struct Exchange {
        var status = 0
        var bytesReceived: UInt64 = 0
        var startNs: UInt64 = 0
        var endNs: UInt64 = 0
        var failure: String?
    }

    /// Sends `request` and reads its response to the end, counting it into `partial`: its latency, status and bytes,
    /// or its error and kind. A non-2xx status is an error of kind `http_STATUS`.
    static func execute(_ request: HTTPClientRequest, request i: Int, with client: HTTPClient, into partial: inout Result) async -> Exchange {
        var exchange = Exchange(startNs: MonotonicClock.nanoseconds())
        do {
            let response = try await client.execute(request, timeout: .seconds(120))
            // Counted, not kept: a download's body can be far larger than the driver should hold.
            for try await chunk in response.body { exchange.bytesReceived += UInt64(chunk.readableBytes) }
            exchange.status = Int(response.status.code)
        } catch {
            exchange.failure = "\(error)"
            partial.errors += 1
            partial.statuses[0, default: 0] += 1
            partial.errorKinds[ConnectionErrorKind(error).rawValue, default: 0] += 1
            if partial.firstError == nil { partial.firstError = "\(error)" }
        }
        exchange.endNs = MonotonicClock.nanoseconds()
        guard exchange.failure == nil else { return exchange }
        partial.bytesReceived += Int(exchange.bytesReceived)
        partial.latenciesMs.append(Double(exchange.endNs - exchange.startNs) / 1e6)
        partial.statuses[exchange.status, default: 0] += 1
        if !(200..<300).contains(exchange.status) {
            partial.errors += 1
            partial.errorKinds["http_\(exchange.status)", default: 0] += 1
            if partial.firstError == nil { partial.firstError = "request \(i) answered \(exchange.status)" }
        }
        return exchange
    }

    /// `workers` copies of `work` at once, beside a watcher: Ctrl-C or a dead target cancels every worker at once,
    /// also one sleeping until a slow rate's next slot or waiting on a request in flight (an upload, a slow handler).
    static func watched(stop: (@Sendable () -> Bool)?, workers: Int, _ work: @escaping @Sendable () async -> Result) async -> Result {
        guard workers > 0 else { return Result() }
        return await withTaskGroup(of: Result?.self) { group in
            for _ in 0..<workers { group.addTask { await work() } }
            group.addTask {
                while !Task.isCancelled {
                    if Interruption.requested || (stop?() ?? false) { return nil }
                    try? await Task.sleep(nanoseconds: 50_000_000)
                }
                return nil
            }
            var merged = Result()
            var finished = 0
            for await part in group {
                guard let part else { group.cancelAll(); continue }
                merged.add(part)
                finished += 1
                if finished == workers { group.cancelAll() }
            }
            return merged
        }
    }
}

extension LoadDriver {
    /// When request `i` is due at `rate` per second: saturates instead of trapping for a rate so slow (1e-7/s) that
    /// the offset does not fit in 64 bits of nanoseconds.
    static func due(request i: Int, rate: Double, startedNs: UInt64) -> UInt64 {
        let offset = Double(i) / rate * 1e9
        guard offset.isFinite, offset < Double(UInt64.max - startedNs) else { return .max }
        return startedNs + UInt64(offset)
    }
}

/// A shared counter for the load workers.
final class Counter: Sendable {
    private let atomic = Atomic<Int>(0)
    @discardableResult
    func increment() -> Int { atomic.wrappingAdd(1, ordering: .relaxed).oldValue }
    var value: Int { atomic.load(ordering: .relaxed) }
}
