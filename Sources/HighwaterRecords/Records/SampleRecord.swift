/// One line of `samples.jsonl`: a process as the sampler saw it at `t_ns` (CLOCK_MONOTONIC), which is also
/// `t_unix_ns` on the wall clock (CLOCK_REALTIME, for lining samples up with other logs).
/// Byte counts in bytes. The allocator fields are present only when a process samples itself.
package struct SampleRecord: JSONLineRecord, Codable, Equatable, Sendable {
    /// The fields of a line in the order written; a new field is a case here, a property and its value in
    /// `subscript(field:)` (the compiler asks for the last).
    package enum Field: Int, JSONLineField {
        case t_ns, t_unix_ns, pid, rss, rss_anon, rss_file, rss_shmem, vm_size, vm_hwm, threads, fds, utime_ns, stime_ns
        case heap_in_use, heap_free, heap_system, arenas, tmp_used, processes, heap_processes
        case arena_heaps, arena_heap_resident, main_heap_resident
    }
    typealias CodingKeys = Field
    package static let keys = JSONLine.Keys<Field>()

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

    package subscript(field: Field) -> JSONLine.Value {
        switch field {
        case .t_ns: .unsigned(t_ns)
        case .t_unix_ns: .unsigned(t_unix_ns)
        case .pid: .signed(Int64(pid))
        case .rss: .unsigned(rss)
        case .rss_anon: .unsigned(rss_anon)
        case .rss_file: .unsigned(rss_file)
        case .rss_shmem: .unsigned(rss_shmem)
        case .vm_size: .unsigned(vm_size)
        case .vm_hwm: .unsigned(vm_hwm)
        case .threads: .unsigned(threads)
        case .fds: .unsigned(fds)
        case .utime_ns: .unsigned(utime_ns)
        case .stime_ns: .unsigned(stime_ns)
        case .heap_in_use: .unsigned(heap_in_use)
        case .heap_free: .unsigned(heap_free)
        case .heap_system: .unsigned(heap_system)
        case .arenas: .unsigned(arenas)
        case .tmp_used: .unsigned(tmp_used)
        case .processes: .unsigned(processes)
        case .heap_processes: .unsigned(heap_processes)
        case .arena_heaps: .unsigned(arena_heaps)
        case .arena_heap_resident: .unsigned(arena_heap_resident)
        case .main_heap_resident: .unsigned(main_heap_resident)
        }
    }

    /// Writes the record as one JSON line without a general encoder.
    package func write(to line: inout JSONLine) { line.write(self) }
}
