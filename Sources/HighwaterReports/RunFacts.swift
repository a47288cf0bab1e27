import HighwaterRecords
import HighwaterSystem

/// Figures of one run that the charts and sentences use. Every verdict figure (class, baseline, steady level,
/// slope, plateau point) is read from `summary.json` as stored, never recomputed, so no rendering can
/// contradict the summary; only the per-request chart data comes from the raw records.
package struct RunFacts: Sendable {
    package var classification: GrowthClass
    /// RSS after the warm-up, and the level it settled at.
    package var baseline: UInt64
    package var steady: UInt64
    /// Steady level minus baseline (or `rss_growth` without evidence).
    package var growth: Int64
    package var slopeBytesPerRequest: Double
    /// Position (0-based, in completion order) from which RSS stayed at its final level.
    package var plateauPosition: Int?
    /// Worker threads that had run a request when RSS settled.
    package var plateauThreads: Int?
    package var growthPerThread: Double?
    package var plateauArenas: Int?
    package var workerThreads: Int
    /// The arena count as the tables show it: a number under glibc, "not available (jemalloc)" under
    /// another allocator (glibc's counters describe an allocator the child did not call), never 0.
    package var arenas: String
    package var throughput: Double
    package var durationSeconds: Double
    /// Per position: was this the first request its thread ran (it pays for the thread's arena)?
    package var firstOnThread: [Bool]
    /// Per position: worker threads that had run a request so far.
    package var threadsSeen: [Int]
    package var errorCount: Int

    package static func arenasText(_ s: RunSummary) -> String {
        if let a = s.allocator, a != "glibc" { return "not available (\(a))" }
        return s.arenas_max.map(String.init) ?? "not measured"
    }

    package init(_ run: RunData) {
        let s = run.summary
        let r = run.requests
        let e = s.growth.evidence
        classification = s.growth.classification
        arenas = Self.arenasText(s)
        baseline = e?.baseline_bytes ?? s.rss_start
        steady = s.rss_steady ?? e?.steady_bytes ?? s.rss_end
        growth = s.verdictGrowth
        slopeBytesPerRequest = s.growth.slope_bytes_per_request
        plateauPosition = s.growth.first_plateau_request == nil ? nil : e?.plateau_position
        plateauThreads = s.plateau_threads
        growthPerThread = s.growth_per_thread
        plateauArenas = s.plateau_arenas
        throughput = s.throughput_rps
        // A request failed if it answered 4xx/5xx or carries an error text; one that did both counts once.
        let failedOnHost = r.status.indices.filter { r.status[$0] >= 400 || r.errors[$0] != nil }.count
        errorCount = max(s.errors, failedOnHost)

        var seen = Set<Int32>()
        var first = [Bool](repeating: false, count: r.count)
        var counts = [Int](repeating: 0, count: r.count)
        for k in 0..<r.count {
            first[k] = seen.insert(r.tid[k]).inserted
            counts[k] = seen.count
        }
        firstOnThread = first
        threadsSeen = counts
        workerThreads = s.worker_threads ?? (r.count > 0 ? seen.count : s.threads_max)
        // The load's span; a run without request records (an observed phase) lasted as long as it was sampled.
        let start = r.startNs.min() ?? 0, end = r.endNs.max() ?? 0
        let sampled = (run.samples.tNs.first, run.samples.tNs.last)
        durationSeconds = end > start ? Double(end - start) / 1e9
            : (sampled.1 ?? 0) > (sampled.0 ?? 0) ? Double(sampled.1! - sampled.0!) / 1e9 : 0
    }

    /// The arena count of the first sample taken at or after `tNs` (the last sample when none was):
    /// the state once that request had finished.
    static func arenas(at tNs: UInt64, samples: SampleColumns) -> Int? {
        guard let arenas = samples.arenas, !arenas.isEmpty else { return nil }
        let at = samples.tNs.partitionPoint { $0 < tNs }
        return Int(arenas[min(at, arenas.count - 1)])
    }

    /// Arena count per request position, from the sample taken just before each request ended.
    static func arenasByRequest(_ run: RunData) -> [Double]? {
        guard let arenas = run.samples.arenas, !arenas.isEmpty, run.requests.count > 0 else { return nil }
        let t = run.samples.tNs
        var out = [Double](repeating: 0, count: run.requests.count)
        var j = 0
        for k in 0..<run.requests.count {
            let end = run.requests.endNs[k]
            while j + 1 < t.count, t[j + 1] <= end { j += 1 }
            out[k] = Double(arenas[j])
        }
        return out
    }
}
