/// One line of `requests.jsonl`: a request as its worker thread saw it, taken at the handler's
/// start and end. `worker` is the worker thread's name; `tid` its kernel thread id.
package struct RequestRecord: Codable, Equatable, Sendable {
    package var i: Int
    package var config: String
    package var route: String
    package var tid: Int32
    package var worker: String
    package var start_ns: UInt64
    package var end_ns: UInt64
    /// Wall-clock time (CLOCK_REALTIME, ns since the epoch) at `start_ns`: for lining up with a server's log.
    package var t_unix_ns: UInt64?
    package var status: Int
    package var rss_before: UInt64
    package var rss_after: UInt64
    package var heap_in_use_before: UInt64
    package var heap_in_use_after: UInt64
    package var error: String?
    // Upload workloads only: the file size the client sent, and where its bytes went.
    package var payload_bytes: UInt64?
    package var bytes_received: UInt64?
    package var bytes_to_temp_dir: UInt64?
    package var bytes_to_destination: UInt64?
    /// 1 when the spool passed its threshold and went to the temp dir.
    package var threshold_crossed: UInt64?
    package var receive_ns: UInt64?
    package var copy_ns: UInt64?
    // With the allocation agent preloaded (absent without it): the handler thread's malloc calls between
    // the handler's start and end, in usable bytes, so what it allocated and freed balances to the byte.
    package var heap_allocs: UInt64?
    package var heap_alloc_bytes: UInt64?
    package var heap_freed_bytes: UInt64?
    /// heap_alloc_bytes - heap_freed_bytes: what the request left on the live heap (a leak's size).
    package var heap_live_delta: Int64?
    /// `record` only, from the load driver's side: the bytes it sent (body) and received (response body).
    package var request_bytes: UInt64?
    package var response_bytes: UInt64?

    package init(i: Int, config: String, route: String, tid: Int32, worker: String, start_ns: UInt64, end_ns: UInt64,
                status: Int, rss_before: UInt64, rss_after: UInt64, heap_in_use_before: UInt64,
                heap_in_use_after: UInt64, error: String? = nil) {
        self.i = i; self.config = config; self.route = route; self.tid = tid; self.worker = worker
        self.start_ns = start_ns; self.end_ns = end_ns; self.status = status; self.rss_before = rss_before
        self.rss_after = rss_after; self.heap_in_use_before = heap_in_use_before
        self.heap_in_use_after = heap_in_use_after; self.error = error
    }

    package var rssDelta: Int64 { Int64(bitPattern: rss_after &- rss_before) }
    package var heapDelta: Int64 { Int64(bitPattern: heap_in_use_after &- heap_in_use_before) }

    package func write(to line: inout JSONLine) {
        line.reset()
        line.field("i", i)
        line.field("config", config)
        line.field("route", route)
        line.field("tid", Int(tid))
        line.field("worker", worker)
        line.field("start_ns", start_ns)
        line.field("end_ns", end_ns)
        line.field("t_unix_ns", t_unix_ns)
        line.field("status", status)
        line.field("rss_before", rss_before)
        line.field("rss_after", rss_after)
        line.field("heap_in_use_before", heap_in_use_before)
        line.field("heap_in_use_after", heap_in_use_after)
        line.field("error", error)
        line.field("payload_bytes", payload_bytes)
        line.field("bytes_received", bytes_received)
        line.field("bytes_to_temp_dir", bytes_to_temp_dir)
        line.field("bytes_to_destination", bytes_to_destination)
        line.field("threshold_crossed", threshold_crossed)
        line.field("receive_ns", receive_ns)
        line.field("copy_ns", copy_ns)
        line.field("heap_allocs", heap_allocs)
        line.field("heap_alloc_bytes", heap_alloc_bytes)
        line.field("heap_freed_bytes", heap_freed_bytes)
        line.field("heap_live_delta", heap_live_delta)
        line.field("request_bytes", request_bytes)
        line.field("response_bytes", response_bytes)
        line.finish()
    }
}
