/// One line of `requests.jsonl`: a request as its worker thread saw it, taken at the handler's
/// start and end. `worker` is the worker thread's name; `tid` its kernel thread id.
package struct RequestRecord: JSONLineRecord, Codable, Equatable, Sendable {
    /// The fields of a line in the order written; a new field is a case here, a property and its value in
    /// `subscript(field:)` (the compiler asks for the last).
    package enum Field: Int, JSONLineField {
        case i, config, route, tid, worker, start_ns, end_ns, t_unix_ns, status
        case rss_before, rss_after, heap_in_use_before, heap_in_use_after, error
        case payload_bytes, bytes_received, bytes_to_temp_dir, bytes_to_destination, threshold_crossed, receive_ns, copy_ns
        case heap_allocs, heap_alloc_bytes, heap_freed_bytes, heap_live_delta
        case request_bytes, response_bytes
    }
    typealias CodingKeys = Field
    package static let keys = JSONLine.Keys<Field>()

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

    package subscript(field: Field) -> JSONLine.Value {
        switch field {
        case .i: .signed(Int64(i))
        case .config: .string(config)
        case .route: .string(route)
        case .tid: .signed(Int64(tid))
        case .worker: .string(worker)
        case .start_ns: .unsigned(start_ns)
        case .end_ns: .unsigned(end_ns)
        case .t_unix_ns: .unsigned(t_unix_ns)
        case .status: .signed(Int64(status))
        case .rss_before: .unsigned(rss_before)
        case .rss_after: .unsigned(rss_after)
        case .heap_in_use_before: .unsigned(heap_in_use_before)
        case .heap_in_use_after: .unsigned(heap_in_use_after)
        case .error: .string(error)
        case .payload_bytes: .unsigned(payload_bytes)
        case .bytes_received: .unsigned(bytes_received)
        case .bytes_to_temp_dir: .unsigned(bytes_to_temp_dir)
        case .bytes_to_destination: .unsigned(bytes_to_destination)
        case .threshold_crossed: .unsigned(threshold_crossed)
        case .receive_ns: .unsigned(receive_ns)
        case .copy_ns: .unsigned(copy_ns)
        case .heap_allocs: .unsigned(heap_allocs)
        case .heap_alloc_bytes: .unsigned(heap_alloc_bytes)
        case .heap_freed_bytes: .unsigned(heap_freed_bytes)
        case .heap_live_delta: .signed(heap_live_delta)
        case .request_bytes: .unsigned(request_bytes)
        case .response_bytes: .unsigned(response_bytes)
        }
    }

    package func write(to line: inout JSONLine) { line.write(self) }
}
