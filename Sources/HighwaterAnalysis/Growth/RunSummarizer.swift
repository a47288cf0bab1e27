import HighwaterRecords
/// Turns one run's raw records into its summary: pure arithmetic, unit-tested without processes.
package enum RunSummarizer {
    package struct ClientSide: Sendable {
        package var latenciesMs: [Double]
        /// Requests the client saw fail (non-2xx or no answer).
        package var errors: Int
        package var wallNs: UInt64
        package init(latenciesMs: [Double], errors: Int, wallNs: UInt64) {
            self.latenciesMs = latenciesMs; self.errors = errors; self.wallNs = wallNs
        }
    }

    /// A hosted configuration's summary.
    package static func summarize(plan: RunPlan, runID: String, requests: [RequestRecord],
                                 samples: [SampleRecord], client: ClientSide, arenaLimit: Int, cores: Int = 0,
                                 allocator: AllocatorReport? = nil) -> RunSummary {
        summarize(.hosted(plan), runID: runID, requests: requests, samples: samples, client: client, arenaLimit: arenaLimit,
                  cores: cores, allocator: allocator)
    }

    /// - Parameter arenaLimit: glibc's arena cap for the target (MALLOC_ARENA_MAX or 8 x cores).
    /// - Parameter liveHeap: the request records carry the live heap (a hosted child's always do; a process from
    ///   outside's only with the agent's live counters).
    package static func summarize(_ subject: GrowthSubject, runID: String, requests unsorted: [RequestRecord],
                                 samples: [SampleRecord], client: ClientSide, arenaLimit: Int, cores: Int = 0,
                                 allocator: AllocatorReport? = nil, liveHeap: Bool = true) -> RunSummary {
        var s = RunSummary(scenario: subject.scenario, run_id: runID, config: subject.config)
        let requests = unsorted.sorted { $0.end_ns < $1.end_ns }
        s.requests = max(requests.count, client.latenciesMs.count)
        s.errors = client.errors
        s.latency_ms = Percentiles.of(client.latenciesMs)
        s.throughput_rps = client.wallNs > 0 ? Double(client.latenciesMs.count) / (Double(client.wallNs) / 1e9) : 0
        s.threads_max = Int(samples.map(\.threads).max() ?? 0)
        s.arenas_max = samples.compactMap(\.arenas).max().map { Int($0) }
        s.rss_start = samples.first?.rss ?? requests.first?.rss_before ?? 0
        let sampledPeak = max(samples.map(\.rss).max() ?? 0, requests.map(\.rss_after).max() ?? 0)
        let kernelPeak = samples.map(\.vm_hwm).max() ?? 0
        s.rss_peak = max(sampledPeak, kernelPeak)
        s.rss_peak_sampled = sampledPeak
        s.rss_peak_source = kernelPeak > sampledPeak ? "VmHWM" : "sampled"
        s.configuration = subject.configuration
        s.allocator = allocator?.allocator
        s.arena_high_water = allocator?.arena_high_water

        guard !requests.isEmpty else {
            s.rss_end = samples.last?.rss ?? 0
            s.growth = .init(classification: .notRun, slope_bytes_per_request: 0, first_plateau_request: nil)
            s.note(.noRequest)
            GrowthExplanation.explain(&s, subject: subject, arenaLimit: arenaLimit, cores: cores)
            return s
        }
        let w = min(max(subject.warmup, 0), requests.count)
        let warmupEndNs = w > 0 ? requests[w - 1].end_ns : 0
        // An external target's live heap is not seen from outside (`record`): no heap series, not a flat one. Under
        // jemalloc or tcmalloc the hosted child reads the allocator's own figures; a build without them wrote 0.
        let heapSeries = requests.map(\.heap_in_use_after)
        let heap = !liveHeap || !heapSeries.contains(where: { $0 != 0 }) ? nil : heapSeries
        let countedFromNs = w > 0 ? warmupEndNs : requests[0].start_ns
        let seconds = Double((requests.map(\.end_ns).max() ?? countedFromNs) &- countedFromNs) / 1e9
        let pool = poolSeries(requests: requests, samples: samples, subject: subject, arenaLimit: arenaLimit, cores: cores)
        let v = GrowthAnalysis.verdict(rss: requests.map(\.rss_after), rssBefore: requests[0].rss_before, heap: heap,
                                       samples: samples.filter { $0.t_ns >= warmupEndNs }.count, seconds: seconds, pool: pool,
                                       warmup: w, thresholds: .init(minimums: subject.minimums ?? .init()))
        s.rss_end = requests[requests.count - 1].rss_after
        s.rss_growth = v.growth
        s.rss_steady = v.steady
        s.growth = .init(classification: v.classification, slope_bytes_per_request: v.slopeBytesPerRequest,
                         first_plateau_request: v.plateauIndex.map { requests[$0].i }, evidence: v.evidence)

        let hosted = subject.hosted != nil
        if hosted {
            // Which requests were the first on their thread: they carry a new arena's cost. A process from outside
            // has no workers Highwater sees, so no request is "first on its thread".
            var seen = Set<Int32>()
            var firstDeltas: [Double] = []
            var otherDeltas: [Double] = []
            for r in requests {
                if seen.insert(r.tid).inserted { firstDeltas.append(Double(r.rssDelta)) } else { otherDeltas.append(Double(r.rssDelta)) }
            }
            s.worker_threads = seen.count
            s.first_on_thread_requests = firstDeltas.count
            s.rss_delta_first_on_thread = mean(firstDeltas)
            s.rss_delta_other = mean(otherDeltas)
        }

        s.growth.evidence?.heap_source = heap != nil ? (allocator?.allocator ?? "glibc") : nil
        if let p = v.plateauIndex ?? v.evidence.plateau_position {
            let atPlateauNs = requests[p].end_ns
            let toSteady = Double(v.steady) - Double(v.baseline)
            if hosted {
                let warmupThreads = Set(requests[..<w].map(\.tid))
                let threadsAtPlateau = Set(requests[...p].map(\.tid))
                let newThreads = threadsAtPlateau.subtracting(warmupThreads).count
                s.plateau_threads = threadsAtPlateau.count
                if newThreads > 0 { s.growth_per_thread = toSteady / Double(newThreads) }
            }
            // The first sample after the plateau request ended shows the arenas it left behind.
            s.plateau_arenas = samples.first(where: { $0.t_ns >= atPlateauNs })?.arenas.map(Int.init)
                ?? samples.last(where: { $0.t_ns <= atPlateauNs })?.arenas.map(Int.init)
            let arenasAtBaseline = samples.last(where: { $0.t_ns <= warmupEndNs })?.arenas.map(Int.init)
            if let a = s.plateau_arenas, let b = arenasAtBaseline, a > b { s.growth_per_arena = toSteady / Double(a - b) }
        }
        if !hosted, let p = s.growth.first_plateau_request, let at = requests.first(where: { $0.i == p })?.end_ns {
            // The threads the process had when RSS settled: its samples' count then.
            s.plateau_threads = samples.last(where: { $0.t_ns <= at }).map { Int($0.threads) }
        }
        if let limitNs = samples.first(where: { ($0.arenas ?? 0) >= UInt64(arenaLimit) })?.t_ns {
            s.arena_limit_request = requests.first(where: { $0.end_ns >= limitNs })?.i
        }
        GrowthExplanation.explain(&s, subject: subject, arenaLimit: arenaLimit, cores: cores, lastSample: samples.last)
        return s
    }

    /// The pool at each request's end: for a hosted run, the worker threads that had served a request by then
    /// (each gets its arena at its first allocation; a pool's idle threads hold nothing); for an external target,
    /// whose workers are not seen, the process's threads as sampled. The arenas as sampled, the last reading at
    /// or before the request's end (the first reading before any).
    static func poolSeries(requests: [RequestRecord], samples: [SampleRecord], subject: GrowthSubject,
                           arenaLimit: Int, cores: Int) -> PoolSeries {
        var threads: [UInt64]?
        let workers = subject.hosted != nil && requests.contains(where: { $0.tid != 0 })
        if workers {
            var seen = Set<Int32>()
            threads = requests.map { seen.insert($0.tid); return UInt64(seen.count) }
        } else {
            threads = aligned(requests, samples) { $0.threads }
        }
        let limitSource = subject.environment["MALLOC_ARENA_MAX"].map { "MALLOC_ARENA_MAX=\($0)" }
            ?? (cores > 0 ? "8 x \(cores) cores" : nil)
        return PoolSeries(threads: threads, arenas: aligned(requests, samples) { $0.arenas }, arenaLimit: arenaLimit > 0 ? arenaLimit : nil,
                          arenaLimitSource: limitSource, threadsAreWorkers: workers)
    }

    /// A sampled figure at each request's end; nil when no sample carries it.
    static func aligned(_ requests: [RequestRecord], _ samples: [SampleRecord], _ figure: (SampleRecord) -> UInt64?) -> [UInt64]? {
        let readings = samples.compactMap { s in figure(s).map { (s.t_ns, $0) } }
        guard let first = readings.first else { return nil }
        var j = 0
        var current = first.1
        return requests.map { r in
            while j < readings.count, readings[j].0 <= r.end_ns { current = readings[j].1; j += 1 }
            return current
        }
    }

    static func mean(_ values: [Double]) -> Double? {
        values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }
}
