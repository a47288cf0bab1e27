import AsyncHTTPClient
import HighwaterRecords
import NIOCore
import HighwaterHost

/// The downstream calls of seed 003 as the host serves them on `/downstream`: each request calls a downstream
/// HTTP service and streams its answer back, through one shared pooled client (`downstream-shared`, the fix) or a
/// client made for the request and shut down after it (`downstream-per-request`, which opens a connection per call).
///
/// Options: `response_size` (what the downstream answers; default 64 KiB), `delay` (how long it waits first;
/// default 5 ms), `pool_size` (the shared client's connection limit; default 8), `timeout` (the call's deadline;
/// default 5 s), `idle_timeout` (how long the client's pool keeps an idle connection; default 60 s, AsyncHTTPClient's),
/// `downstream_fault` (`stall` or `reset` every `fault_every`th call; default none, every 10th), `downstream_url`
/// (filled in by the harness with the service it started).
///
/// A client per request holds about 8-10 KB of heap per call after its shutdown until the pool's idle timer for
/// that call's connection fires (measured: at 25 calls/s the live heap rose for 5 s and then held with
/// `idle_timeout: 5 s`, and for 60 s with the default), so a run shorter than `idle_timeout` sees it grow per call.
package final class DownstreamWorkload: Sendable {
    /// One client shared by every request, or one per request: the downstream workloads of `WorkloadKind`.
    package enum Mode: Sendable {
        case shared, perRequest

        package init?(_ kind: WorkloadKind?) {
            switch kind {
            case .downstreamShared: self = .shared
            case .downstreamPerRequest: self = .perRequest
            default: return nil
            }
        }
    }

    package enum Fault: String, Sendable, CaseIterable {
        case none, stall, reset
    }

    package static let route = "/downstream"
    package static let faults = Fault.allCases.map(\.rawValue)

    package let mode: Mode
    package let responseBytes: Int
    package let delayNs: UInt64
    package let poolSize: Int
    package let timeoutNs: UInt64
    package let idleTimeoutNs: UInt64
    package let fault: Fault
    package let faultEvery: Int
    package let url: String?
    /// The one client of `downstream-shared`, made when the host starts; nil for a client per request.
    let sharedClient: HTTPClient?

    package init(_ workload: RunPlan.Workload, makeClient: Bool = false) throws {
        guard let mode = Mode(WorkloadKind(rawValue: workload.name)) else { throw HarnessError.unknownWorkload(workload.name) }
        let o = WorkloadOptions(workload)
        self.mode = mode
        responseBytes = try o.bytes("response_size", 64 << 10)
        delayNs = try o.duration("delay", 5_000_000)
        poolSize = try o.count("pool_size", 8)
        timeoutNs = try o.duration("timeout", 5_000_000_000)
        idleTimeoutNs = try o.duration("idle_timeout", 60_000_000_000)
        fault = Fault(rawValue: try o.choice("downstream_fault", Self.faults))!
        faultEvery = try o.count("fault_every", 10)
        url = workload.options["downstream_url"]
        sharedClient = makeClient && mode == .shared ? HTTPClient(eventLoopGroupProvider: .singleton,
                                                                   configuration: Self.configuration(poolSize: poolSize, timeoutNs: timeoutNs, idleTimeoutNs: idleTimeoutNs)) : nil
    }

    /// Pool limits as httpx's `Limits(max_connections=…)`: at most `poolSize` connections to the downstream.
    static func configuration(poolSize: Int, timeoutNs: UInt64, idleTimeoutNs: UInt64) -> HTTPClient.Configuration {
        var config = HTTPClient.Configuration()
        config.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = poolSize
        config.timeout.connect = .seconds(2)
        config.timeout.read = .nanoseconds(Int64(timeoutNs))
        config.connectionPool.idleTimeout = .nanoseconds(Int64(min(idleTimeoutNs, UInt64(Int64.max))))
        return config
    }

    /// A client for one call: the shared one, or a new one the caller must shut down.
    func client() -> (client: HTTPClient, owned: Bool) {
        if let sharedClient { return (sharedClient, false) }
        return (HTTPClient(eventLoopGroupProvider: .singleton, configuration: Self.configuration(poolSize: 1, timeoutNs: timeoutNs, idleTimeoutNs: idleTimeoutNs)), true)
    }

    /// Once the server has stopped.
    package func shutdown() {
        try? sharedClient?.syncShutdown()
    }
}

extension WorkloadOptions {
    func count(_ key: String, _ fallback: Int) throws -> Int {
        guard let text = workload.options[key] else { return fallback }
        guard let n = Int(text), n >= 1 else {
            throw HarnessError.badOption(workload: workload.name, option: key, value: text, expected: "a whole number, 1 or more")
        }
        return n
    }
}
