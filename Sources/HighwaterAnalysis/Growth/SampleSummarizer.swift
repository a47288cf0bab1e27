import HighwaterRecords

/// The verdict over a sampled process (`highwater sample`): no requests, so the series is the samples themselves,
/// RSS over time, with the process's threads and its arenas (the smaps census) as the pool.
package enum SampleSummarizer {
    /// A process's start (loading its code and libraries, its first imports) is not what it does under its work:
    /// the samples of its first second do not count, unless asked otherwise.
    package static let defaultWarmupNs: UInt64 = 1_000_000_000

    /// - Parameters:
    ///   - name: what was sampled (the command, or "pid N").
    ///   - arenaLimit: glibc's arena cap in the target, when known, and where it came from ("MALLOC_ARENA_MAX").
    package static func summarize(name: String, samples: [SampleRecord], warmupNs: UInt64 = defaultWarmupNs,
                                 arenaLimit: (limit: Int, source: String)?, cores: Int, environment: [String: String] = [:],
                                 minimums: GrowthMinimums = .init()) -> RunSummary {
        let subject = GrowthSubject.external(PhasePlan(scenario: "sample", config: name, target: name, load: .init(requests: 0),
                                                       environment: environment, warmup: 0, minimums: minimums))
        var s = RunSummary(scenario: "sample", run_id: "sample", config: name)
        s.configuration = RunConfiguration(command: name)
        s.threads_max = Int(samples.map(\.threads).max() ?? 0)
        s.arenas_max = samples.compactMap(\.arenas).max().map { Int($0) }
        s.rss_start = samples.first?.rss ?? 0
        s.rss_end = samples.last?.rss ?? 0
        let sampledPeak = samples.map(\.rss).max() ?? 0
        let kernelPeak = samples.map(\.vm_hwm).max() ?? 0
        s.rss_peak = max(sampledPeak, kernelPeak)
        s.rss_peak_sampled = sampledPeak
        s.rss_peak_source = kernelPeak > sampledPeak ? "VmHWM" : "sampled"
        let limit = arenaLimit?.limit ?? 0
        guard let first = samples.first else {
            s.growth = .init(classification: .notRun, slope_bytes_per_request: 0, first_plateau_request: nil)
            s.note(.noSample)
            GrowthExplanation.explain(&s, subject: subject, arenaLimit: limit, cores: cores)
            return s
        }
        let w = warmupEnd(samples, warmupNs: warmupNs)
        let counted = samples.count - w
        let seconds = counted > 0 ? Double(samples[samples.count - 1].t_ns &- samples[max(w - 1, 0)].t_ns) / 1e9 : 0
        // The census reads arenas at its own, slower rate: carried forward between readings, from the first.
        var lastArenas = samples.first(where: { $0.arenas != nil })?.arenas
        let arenas: [UInt64]? = lastArenas == nil ? nil : samples.map { r in
            if let a = r.arenas { lastArenas = a }
            return lastArenas ?? 0
        }
        let pool = PoolSeries(threads: samples.map(\.threads), arenas: arenas, arenaLimit: arenaLimit?.limit,
                              arenaLimitSource: arenaLimit?.source)
        let heapSeries = samples.map { $0.heap_in_use ?? 0 }
        let heap = samples.allSatisfy({ $0.heap_in_use != nil }) ? heapSeries : nil
        let v = GrowthAnalysis.verdict(rss: samples.map(\.rss), rssBefore: first.rss, heap: heap, samples: counted,
                                       seconds: seconds, pool: pool, warmup: w, bySample: true,
                                       thresholds: .init(minimums: minimums))
        s.rss_growth = v.growth
        s.rss_steady = v.steady
        s.growth = .init(classification: v.classification, slope_bytes_per_request: 0,
                         first_plateau_request: nil, evidence: v.evidence)
        if let p = v.plateauIndex {
            s.plateau_threads = Int(samples[p].threads)
            s.plateau_arenas = arenas.map { Int($0[p]) }
            s.note(.plateauBegan(afterSeconds: Double(samples[p].t_ns &- first.t_ns) / 1e9))
        }
        if seconds > 0 {
            s.note(.rssMoved(Double(v.growth), seconds: seconds, warmupSeconds: Double(warmupNs) / 1e9))
        }
        GrowthExplanation.explain(&s, subject: subject, arenaLimit: limit, cores: cores, lastSample: samples.last)
        return s
    }

    /// Where the warm-up ends: after `warmupNs`, or earlier where the program started its pool within it (the rise
    /// in its thread count that added the most threads at once, the later of equals, from where that rise began),
    /// so the growth of a pool that started early is counted, not hidden in the warm-up; the program's loading
    /// before it is not.
    static func warmupEnd(_ samples: [SampleRecord], warmupNs: UInt64) -> Int {
        guard let first = samples.first else { return 0 }
        let end = samples.firstIndex { $0.t_ns &- first.t_ns >= warmupNs } ?? samples.count
        var best: (rise: UInt64, start: Int)?
        var k = 1
        while k < end {
            guard samples[k].threads > samples[k - 1].threads else { k += 1; continue }
            let start = k
            while k < end, samples[k].threads > samples[k - 1].threads { k += 1 }
            let rise = samples[k - 1].threads - samples[start - 1].threads
            if rise >= (best?.rise ?? 0) { best = (rise, start) }
        }
        return best?.start ?? end
    }
}
