@preconcurrency import Glibc
import AsyncHTTPClient
import HighwaterProbes
import HighwaterRecords
import HighwaterSystem
import HighwaterUploads
import NIOCore
import NIOHTTP1
import Synchronization

/// Sends one `--load` phase at an external target and writes a `requests.jsonl` line per request from the
/// client's side: status, latency, bytes each way, error, and the target's RSS before and after. With one request
/// at a time (c=1) the RSS is read fresh around each request, so its change is that request's; under concurrency
/// it is the tree's RSS as the sampler last saw it, a timeline rather than a per-request cost.
struct PhaseDriver: Sendable {
    let spec: LoadSpec
    let label: String
    let targetPID: Int32
    let output: AppendOnlyFile
    /// The first requests, sent alone before the others (as `LoadDriver`'s warm-up, for the same reason).
    let warmup: Int
    /// The target's RSS as the sampler last read it (used under concurrency).
    let sampledRSS: @Sendable () -> UInt64
    let fileBody: [UInt8]?
    /// The target tree's live heap from inside it (`--agent`), read around each request; nil without the agent.
    var liveHeap: @Sendable () -> UInt64? = { nil }

    /// What the phase saw, beside its request lines.
    struct Outcome: Sendable {
        var result = LoadDriver.Result()
        /// Uploads: where they started failing.
        var uploads = UploadBoundary()
    }

    func run(stop: @escaping @Sendable () -> Bool) async -> Outcome {
        let client = LoadDriver.client(concurrency: spec.concurrency)
        let uploads = UploadTally()
        let result = await LoadDriver.schedule(requests: spec.requests, warmup: min(warmup, spec.requests), concurrency: spec.concurrency,
                                               rate: spec.rate, startedNs: MonotonicClock.nanoseconds(), stop: stop) { i, partial in
            await send(request: i, with: client, into: &partial, uploads: uploads)
        }
        try? await client.shutdown()
        let tally = uploads.state.withLock { $0 }
        return Outcome(result: result, uploads: tally)
    }

    /// Shared by the phase's workers.
    final class UploadTally: Sendable {
        let state = Mutex(UploadBoundary())
    }

    func body(request i: Int) -> RequestBody? {
        if let size = spec.uploadBytes(request: i) {
            let framing = MultipartFraming(fieldName: spec.field, fileName: "upload-\(i).bin")
            return RequestBody(contentType: framing.requestContentType, prefix: framing.head, fillBytes: Int(size), suffix: framing.tail)
        }
        switch spec.body {
        case .none: return nil
        case .generated(let size): return RequestBody(contentType: "application/octet-stream", fillBytes: Int(size))
        case .file: return RequestBody(contentType: "application/octet-stream", prefix: fileBody ?? [], fillBytes: 0)
        }
    }

    private func send(request i: Int, with client: HTTPClient, into partial: inout LoadDriver.Result,
                      uploads: UploadTally) async {
        let body = self.body(request: i)
        let request = LoadDriver.request(i, method: HTTPMethod(rawValue: spec.method), url: spec.url, body: body)
        let alone = spec.concurrency == 1 || i < warmup
        let rssBefore = alone ? ProcessTree.resident(of: targetPID) : sampledRSS()
        let heapBefore = liveHeap()
        let wall = WallClock.nanoseconds()
        let exchange = await LoadDriver.execute(request, request: i, with: client, into: &partial)
        let (status, failure) = (exchange.status, exchange.failure)
        let rssAfter = alone ? ProcessTree.resident(of: targetPID) : sampledRSS()
        let heapAfter = liveHeap()
        let upload = spec.uploadBytes(request: i)
        if let upload {
            uploads.state.withLock { $0.add(bytes: upload, status: status, error: failure) }
        }
        var record = RequestRecord(i: i, config: label, route: spec.path, tid: 0, worker: "client", start_ns: exchange.startNs, end_ns: exchange.endNs,
                                   status: status, rss_before: rssBefore, rss_after: rssAfter, heap_in_use_before: heapBefore ?? 0,
                                   heap_in_use_after: heapAfter ?? 0, error: failure)
        record.t_unix_ns = wall
        record.payload_bytes = upload
        record.request_bytes = UInt64(body?.length ?? 0)
        record.response_bytes = exchange.bytesReceived
        var line = JSONLine(capacity: 512)
        record.write(to: &line)
        try? output.append(line.bytes)
    }
}
