import Prometheus

/// Every series `watch` exports, named once, in Prometheus's conventions: base units with their suffix (`_bytes`,
/// `_seconds`), counters ending in `_total`, the standard `process_*` names where one exists and `highwater_*` beside
/// them for what only Highwater reads.
enum WatchMetric: CaseIterable {
    case residentBytes, virtualBytes, openFDs, cpuSeconds
    case residentByKind, residentPeak, threads
    case arenas, arenaLimit, arenaHeapResident, mainHeapResident
    case heapLive, heapFree, heapSystem
    case deletedHeldLargest
    case dirUsed, dirCapacity
    case limitCapacity, limitWorstCase, limitUsed, limitHeadroom, limitHolds
    case targets

    var descriptor: MetricNameDescriptor {
        switch self {
        case .residentBytes:
            .init(metricName: "process_resident_memory", unitName: "bytes", helpText: "Resident memory of the process (VmRSS).")
        case .virtualBytes:
            .init(metricName: "process_virtual_memory", unitName: "bytes", helpText: "Virtual memory of the process (VmSize).")
        case .openFDs:
            .init(metricName: "process_open_fds", unitName: "", helpText: "Open file descriptors of the process.")
        case .cpuSeconds:
            .init(metricName: "process_cpu_seconds", unitName: "total", helpText: "User and system CPU time of the process, in seconds.")
        case .residentByKind:
            .init(namespace: "highwater", metricName: "resident_memory", unitName: "bytes",
                  helpText: "Resident memory by kind: anon (heap, stacks), file (mapped files), shmem (shared memory, tmpfs).")
        case .residentPeak:
            .init(namespace: "highwater", metricName: "resident_memory_peak", unitName: "bytes",
                  helpText: "The kernel's high-water mark of resident memory (VmHWM).")
        case .threads:
            .init(namespace: "highwater", metricName: "threads", unitName: "", helpText: "Threads of the process.")
        case .arenas:
            .init(namespace: "highwater", metricName: "glibc_arenas", unitName: "",
                  helpText: "glibc malloc arenas (census of /proc/PID/smaps: the main arena plus each 64 MiB-aligned heap).")
        case .arenaLimit:
            .init(namespace: "highwater", metricName: "glibc_arena_limit", unitName: "",
                  helpText: "The most arenas glibc creates for the process (MALLOC_ARENA_MAX, else 8 per core).")
        case .arenaHeapResident:
            .init(namespace: "highwater", metricName: "glibc_arena_resident", unitName: "bytes",
                  helpText: "Resident bytes in glibc's non-main arena heaps.")
        case .mainHeapResident:
            .init(namespace: "highwater", metricName: "glibc_main_arena_resident", unitName: "bytes",
                  helpText: "Resident bytes of the main arena's [heap].")
        case .heapLive:
            .init(namespace: "highwater", metricName: "heap_live", unitName: "bytes",
                  helpText: "Live heap bytes counted inside the process by the preloaded allocation agent.")
        case .heapFree:
            .init(namespace: "highwater", metricName: "heap_free", unitName: "bytes",
                  helpText: "Free bytes glibc's malloc holds (mallinfo2 fordblks), asked of the agent.")
        case .heapSystem:
            .init(namespace: "highwater", metricName: "heap_system", unitName: "bytes",
                  helpText: "Bytes glibc's malloc took from the system (mallinfo2 arena + hblkhd), asked of the agent.")
        case .deletedHeldLargest:
            .init(namespace: "highwater", metricName: "deleted_file_held_largest", unitName: "bytes",
                  helpText: "The largest deleted file the process holds open on the watched directory's filesystem (a spooled upload ls cannot see).")
        case .dirUsed:
            .init(namespace: "highwater", metricName: "watch_dir_used", unitName: "bytes", helpText: "Bytes in use on the watched directory's filesystem.")
        case .dirCapacity:
            .init(namespace: "highwater", metricName: "watch_dir_capacity", unitName: "bytes", helpText: "Capacity of the watched directory's filesystem.")
        case .limitCapacity:
            .init(namespace: "highwater", metricName: "limit_capacity", unitName: "bytes", helpText: "The limit a limits file sets (memory, temp dir).")
        case .limitWorstCase:
            .init(namespace: "highwater", metricName: "limit_worst_case", unitName: "bytes",
                  helpText: "The worst case the limits file predicts against the limit (highwater check --limits).")
        case .limitUsed:
            .init(namespace: "highwater", metricName: "limit_used", unitName: "bytes",
                  helpText: "What counts against the limit now: the watched processes' resident memory, or the temp dir's use.")
        case .limitHeadroom:
            .init(namespace: "highwater", metricName: "limit_headroom", unitName: "bytes",
                  helpText: "The limit less what counts against it now; negative when crossed.")
        case .limitHolds:
            .init(namespace: "highwater", metricName: "limit_holds", unitName: "",
                  helpText: "1 while the limit holds now and its predicted worst case fits, else 0.")
        case .targets:
            .init(namespace: "highwater", metricName: "watch_targets", unitName: "", helpText: "Processes watch samples now.")
        }
    }
}
