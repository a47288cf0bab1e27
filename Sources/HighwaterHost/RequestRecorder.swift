@preconcurrency import Glibc
import CHighwater
import HighwaterRecords
import HighwaterProbes
import HighwaterSystem

/// Takes the per-request readings on the worker thread and appends each record to requests.jsonl.
///
/// This is the per-request hot path: RSS comes from one pread of /proc/self/statm on a descriptor
/// kept open (safe from any thread, no allocation), the heap from the allocation agent's counters (mallinfo2
/// without the agent).
package final class RequestRecorder: @unchecked Sendable {
    /// The readings at a handler's start.
    package struct Start: Sendable {
        package var i: Int
        package var route: String
        package var tid: Int32
        package var worker: String
        package var startNs: UInt64
        /// The wall clock at the same moment, for lining requests up with other logs.
        package var startUnixNs: UInt64 = 0
        package var rss: UInt64
        package var heap: UInt64
        /// The worker thread's allocation counters, read last (nil without the agent), and the thread they
        /// belong to: a request finished on another thread has no heap_* fields.
        package var allocations: AllocationAgent.Counters? = nil
        package var thread: pthread_t = 0
    }

    package let config: String
    package let enabled: Bool
    private let statm: Int32
    /// nil when recording is off.
    private let output: AppendOnlyFile?
    private let pageSize = SystemFacts.pageSize

    package init(config: String, path: String?, enabled: Bool = true) throws {
        self.config = config
        self.enabled = enabled && path != nil
        statm = try Syscall.open("/proc/self/statm", O_RDONLY)
        output = enabled ? try path.map { try AppendOnlyFile($0) } : nil
    }

    deinit {
        Syscall.close(statm)
    }

    /// Records that could not be written (a full disk, …): requests.jsonl is short by this many lines.
    package var lost: AppendOnlyFile.Losses { output?.losses ?? .init() }

    /// Resident bytes of this process now.
    package func residentBytes() -> UInt64 {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 128) { buffer in
            guard let n = try? Syscall.pread(statm, into: UnsafeMutableRawBufferPointer(buffer), at: 0, path: "/proc/self/statm"),
                  let parsed = try? ProcessStatm.parse(UnsafeBufferPointer(rebasing: buffer[..<n]), pageSize: pageSize) else { return 0 }
            return parsed.resident
        }
    }

    package func start(i: Int, route: String) -> Start {
        guard enabled else { return Start(i: i, route: route, tid: 0, worker: "", startNs: 0, rss: 0, heap: 0) }
        let t = MonotonicClock.nanoseconds()
        let wall = WallClock.nanoseconds()
        var start = Start(i: i, route: route, tid: hw_gettid(), worker: Self.threadName(), startNs: t, startUnixNs: wall,
                          rss: residentBytes(), heap: Self.liveHeap())
        // Last, so the recorder's own allocations above are not the request's.
        start.thread = pthread_self()
        AllocationAgent.serving(request: i)
        start.allocations = AllocationAgent.threadCounters()
        return start
    }

    /// - Parameter details: adds a workload's own fields (upload bytes, …) to the record.
    package func finish(_ s: Start, status: Int, error: String? = nil, details: (inout RequestRecord) -> Void = { _ in }) {
        guard enabled else { return }
        // First, before the record's own allocations.
        let allocations = AllocationAgent.threadCounters()
        // A thread that serves requests in turn (a pool's worker) is done with this one. One that took it over from
        // another (an async executor's) may have started its own since: it keeps saying that one.
        let sameThread = pthread_equal(s.thread, pthread_self()) != 0
        if sameThread { AllocationAgent.serving(request: nil) }
        var record = RequestRecord(i: s.i, config: config, route: s.route, tid: s.tid, worker: s.worker,
                                   start_ns: s.startNs, end_ns: MonotonicClock.nanoseconds(), status: status,
                                   rss_before: s.rss, rss_after: residentBytes(), heap_in_use_before: s.heap,
                                   heap_in_use_after: Self.liveHeap(), error: error)
        record.t_unix_ns = s.startUnixNs
        if let before = s.allocations, let after = allocations, sameThread {
            let d = after - before
            record.heap_allocs = d.allocs
            record.heap_alloc_bytes = d.allocBytes
            record.heap_freed_bytes = d.freedBytes
            record.heap_live_delta = d.liveBytes
        }
        details(&record)
        var line = JSONLine(capacity: 448)
        record.write(to: &line)
        // A failed write is counted by the file; the host reports the count when it stops.
        try? output?.append(line.bytes)
    }

    /// The live heap: the agent's counters where it is loaded, so the reading costs the same with 1 or 40
    /// fragmented arenas; else glibc's mallinfo2. Under jemalloc or tcmalloc their own count, read at the slow
    /// rate; 0 under an allocator without one.
    static func liveHeap() -> UInt64 {
        guard ActiveAllocator.isGlibc else { return AllocatorProbe.recentAllocatorFigures()?.allocated ?? 0 }
        return AllocatorProbe.liveBytes()
    }

    static func threadName() -> String {
        var buffer = [CChar](repeating: 0, count: 16)
        hw_get_thread_name(&buffer, 16)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
