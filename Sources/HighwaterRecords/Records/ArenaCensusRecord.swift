/// What the arena census (`/proc/PID/smaps`, any glibc process) saw over a run, against glibc's limit for the
/// target: `summary.json`'s `arena_census`, written by `record`.
package struct ArenaCensusRecord: Codable, Equatable, Sendable {
    /// Arenas at most (the main one included, per process), and the non-main heaps behind them.
    package var arenas_max: Int
    package var heaps_max: Int
    /// Resident bytes in the non-main heaps: at their peak and at the end.
    package var heap_resident_peak: UInt64
    package var heap_resident_end: UInt64
    /// The main arena's `[heap]` resident at the end.
    package var main_heap_resident_end: UInt64
    /// glibc's arena limit for the target, and where it came from (its MALLOC_ARENA_MAX or GLIBC_TUNABLES, read from
    /// /proc/PID/environ, or 8 x cores).
    package var limit: Int
    package var limit_source: String
    package var cores: Int
    package var readings: Int
    package var interval_ns: UInt64
    /// The census put in one sentence for the report.
    package var finding: String

    package init(arenas_max: Int, heaps_max: Int, heap_resident_peak: UInt64, heap_resident_end: UInt64,
                main_heap_resident_end: UInt64, limit: Int, limit_source: String, cores: Int, readings: Int,
                interval_ns: UInt64, finding: String) {
        self.arenas_max = arenas_max; self.heaps_max = heaps_max; self.heap_resident_peak = heap_resident_peak
        self.heap_resident_end = heap_resident_end; self.main_heap_resident_end = main_heap_resident_end
        self.limit = limit; self.limit_source = limit_source; self.cores = cores; self.readings = readings
        self.interval_ns = interval_ns; self.finding = finding
    }

    /// The census of a run's samples; nil when no sample carried one.
    package static func from(samples: [SampleRecord], limit: Int, limitSource: String, cores: Int, intervalNs: UInt64) -> ArenaCensusRecord? {
        let counted = samples.filter { $0.arena_heaps != nil }
        guard let last = counted.last else { return nil }
        let arenas = counted.compactMap(\.arenas).max().map(Int.init) ?? 0
        let heaps = Int(counted.compactMap(\.arena_heaps).max() ?? 0)
        let peak = counted.compactMap(\.arena_heap_resident).max() ?? 0
        let processes = Int(last.processes ?? 1)
        let reached = arenas >= limit * processes
        var finding = "glibc arenas (census of /proc/PID/smaps): \(arenas) at most (\(heaps) \(heaps == 1 ? "heap" : "heaps") of 64 MiB reserved beside the main arena, "
            + "\(Quantity.formatBytes(peak)) resident in them at the peak, [heap] \(Quantity.formatBytes(last.main_heap_resident ?? 0)) at the end); "
            + "glibc's limit is \(limit) (\(limitSource))" + (processes > 1 ? " per process, \(processes) processes" : "")
        finding += reached ? ": reached" : ": not reached"
        return ArenaCensusRecord(arenas_max: arenas, heaps_max: heaps, heap_resident_peak: peak,
                                 heap_resident_end: last.arena_heap_resident ?? 0, main_heap_resident_end: last.main_heap_resident ?? 0,
                                 limit: limit, limit_source: limitSource, cores: cores, readings: counted.count,
                                 interval_ns: intervalNs, finding: finding)
    }
}
