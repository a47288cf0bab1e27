/// One line of `samples.jsonl`: a process as the sampler saw it at `t_ns` (CLOCK_MONOTONIC), which is also
/// `t_unix_ns` on the wall clock (CLOCK_REALTIME, for lining samples up with other logs).
/// Byte counts in bytes. The allocator fields are present only when a process samples itself.
package struct SampleRecord: Codable, Equatable, Sendable {
    package var t_ns: UInt64
    package var t_unix_ns: UInt64?
    package var pid: Int32
    package var rss: UInt64
    package var rss_anon: UInt64
    package var rss_file: UInt64
    package var rss_shmem: UInt64
    package var vm_size: UInt64
    package var vm_hwm: UInt64
    package var threads: UInt64
    package var fds: UInt64
    package var utime_ns: UInt64
    package var stime_ns: UInt64
    package var heap_in_use: UInt64?
    package var heap_free: UInt64?
    package var heap_system: UInt64?
    package var arenas: UInt64?
    package var tmp_used: UInt64?
    /// `record` with a process tree: how many processes the figures above add up (the root and its descendants).
    package var processes: UInt64?
    /// Another process's heap from inside it (`sample --agent`, `record --agent`): how many processes' agents the
    /// heap figures add up; heap_in_use is their live bytes, heap_free and heap_system their last mallinfo2.
    package var heap_processes: UInt64?
    /// The arena census from /proc/PID/smaps (any glibc process, read at a slower rate of its own): glibc's
    /// non-main arena heaps (64 MiB-aligned anonymous reservations) and the resident bytes in them, and the
    /// main arena's `[heap]`; `arenas` is then the heaps plus the main arena.
    package var arena_heaps: UInt64?
    package var arena_heap_resident: UInt64?
    package var main_heap_resident: UInt64?

    package init(t_ns: UInt64, pid: Int32, rss: UInt64, rss_anon: UInt64, rss_file: UInt64, rss_shmem: UInt64,
                vm_size: UInt64, vm_hwm: UInt64, threads: UInt64, fds: UInt64, utime_ns: UInt64, stime_ns: UInt64,
                heap_in_use: UInt64? = nil, heap_free: UInt64? = nil, heap_system: UInt64? = nil,
                arenas: UInt64? = nil, tmp_used: UInt64? = nil) {
        self.t_ns = t_ns; self.pid = pid; self.rss = rss; self.rss_anon = rss_anon; self.rss_file = rss_file
        self.rss_shmem = rss_shmem; self.vm_size = vm_size; self.vm_hwm = vm_hwm; self.threads = threads
        self.fds = fds; self.utime_ns = utime_ns; self.stime_ns = stime_ns; self.heap_in_use = heap_in_use
        self.heap_free = heap_free; self.heap_system = heap_system; self.arenas = arenas; self.tmp_used = tmp_used
    }

    /// Writes the record as one JSON line without a general encoder.
    package func write(to line: inout JSONLine) {
        line.reset()
        line.field("t_ns", t_ns)
        line.field("t_unix_ns", t_unix_ns)
        line.field("pid", Int(pid))
        line.field("rss", rss)
        line.field("rss_anon", rss_anon)
        line.field("rss_file", rss_file)
        line.field("rss_shmem", rss_shmem)
        line.field("vm_size", vm_size)
        line.field("vm_hwm", vm_hwm)
        line.field("threads", threads)
        line.field("fds", fds)
        line.field("utime_ns", utime_ns)
        line.field("stime_ns", stime_ns)
        line.field("heap_in_use", heap_in_use)
        line.field("heap_free", heap_free)
        line.field("heap_system", heap_system)
        line.field("arenas", arenas)
        line.field("tmp_used", tmp_used)
        line.field("processes", processes)
        line.field("heap_processes", heap_processes)
        line.field("arena_heaps", arena_heaps)
        line.field("arena_heap_resident", arena_heap_resident)
        line.field("main_heap_resident", main_heap_resident)
        line.finish()
    }
}
