import HighwaterRecords
/// Turns one run's raw records into its summary: pure arithmetic, unit-tested without processes.
public enum RunSummarizer {
    public struct ClientSide: Sendable {
        public var latenciesMs: [Double]
        /// Requests the client saw fail (non-2xx or no answer).
        public var errors: Int
        public var wallNs: UInt64
        public init(latenciesMs: [Double], errors: Int, wallNs: UInt64) {
            self.latenciesMs = latenciesMs; self.errors = errors; self.wallNs = wallNs
        }
    }

    /// - Parameter arenaLimit: glibc's arena cap for the child (MALLOC_ARENA_MAX or 8 x cores).
    public static func summarize(plan: RunPlan, runID: String, requests unsorted: [RequestRecord],
                                 samples: [SampleRecord], client: ClientSide, arenaLimit: Int,
                                 thresholds: GrowthAnalysis.Thresholds = .init()) -> RunSummary {
        var s = RunSummary(scenario: plan.scenario, run_id: runID, config: plan.config)
        let requests = unsorted.sorted { $0.end_ns < $1.end_ns }
        s.requests = max(requests.count, client.latenciesMs.count)
        s.errors = client.errors
        s.latency_ms = Percentiles.of(client.latenciesMs)
        s.throughput_rps = client.wallNs > 0 ? Double(client.latenciesMs.count) / (Double(client.wallNs) / 1e9) : 0
        s.threads_max = Int(samples.map(\.threads).max() ?? 0)
        s.arenas_max = Int(samples.compactMap(\.arenas).max() ?? 0)
        s.rss_start = samples.first?.rss ?? requests.first?.rss_before ?? 0
        s.rss_peak = max(samples.map(\.rss).max() ?? 0, requests.map(\.rss_after).max() ?? 0)
        s.configuration = describe(plan)

        guard !requests.isEmpty else {
            s.rss_end = samples.last?.rss ?? 0
            s.notes = ["no request reached a handler"]
            return s
        }
        let rss = requests.map(\.rss_after)
        let v = GrowthAnalysis.verdict(rss: rss, warmup: plan.warmup, thresholds: thresholds)
        s.rss_end = rss[rss.count - 1]
        s.rss_growth = v.growth
        s.rss_steady = v.steady
        s.growth = .init(classification: v.classification, slope_bytes_per_request: v.slopeBytesPerRequest,
                         first_plateau_request: v.plateauIndex.map { requests[$0].i })

        // Which requests were the first on their thread: they carry a new arena's cost.
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

        var notes: [String] = []
        let w = min(max(plan.warmup, 0), requests.count - 1)
        switch v.classification {
        case .plateau:
            let p = v.plateauIndex ?? w
            let warmupThreads = Set(requests[..<w].map(\.tid))
            let threadsAtPlateau = Set(requests[...p].map(\.tid))
            let newThreads = threadsAtPlateau.subtracting(warmupThreads).count
            s.plateau_threads = threadsAtPlateau.count
            let atPlateauNs = requests[p].end_ns
            // The first sample after the plateau request ended shows the arenas it left behind.
            s.plateau_arenas = samples.first(where: { $0.t_ns >= atPlateauNs })?.arenas.map(Int.init)
                ?? samples.last(where: { $0.t_ns <= atPlateauNs })?.arenas.map(Int.init)
            let toSteady = Double(v.steady) - Double(v.baseline)
            if newThreads > 0 { s.growth_per_thread = toSteady / Double(newThreads) }
            let baselineNs = requests[max(w - 1, 0)].end_ns
            let arenasAtBaseline = samples.last(where: { $0.t_ns <= baselineNs })?.arenas.map(Int.init)
            if let a = s.plateau_arenas, let b = arenasAtBaseline, a > b { s.growth_per_arena = toSteady / Double(a - b) }
            if let limitNs = samples.first(where: { ($0.arenas ?? 0) >= UInt64(arenaLimit) })?.t_ns {
                s.arena_limit_request = requests.first(where: { $0.end_ns >= limitNs })?.i
            }
            var sentence = "RSS grew \(Quantity.formatBytes(toSteady)) and settled at request \(requests[p].i)"
            sentence += " after \(threadsAtPlateau.count) worker thread\(threadsAtPlateau.count == 1 ? "" : "s") had run"
            if let g = s.growth_per_thread { sentence += " (about \(Quantity.formatBytes(g)) per new thread)" }
            if let a = s.plateau_arenas { sentence += ", with \(a) arenas (glibc's limit here: \(arenaLimit), the main arena included)" }
            sentence += "."
            notes.append(sentence)
            if let a = s.plateau_arenas, a >= arenaLimit, (s.worker_threads ?? 0) > threadsAtPlateau.count {
                var sentence = "The arena count reached glibc's limit of \(arenaLimit)"
                if let r = s.arena_limit_request { sentence += " at request \(r)" }
                sentence += "; later threads share arenas, and growth stopped once every arena held a working set, before the pool's \(plan.executor.size)th thread"
                if let g = s.growth_per_arena { sentence += " (about \(Quantity.formatBytes(g)) per arena)" }
                notes.append(sentence + ". Arena growth, not a leak: bound the pool, set MALLOC_ARENA_MAX=2, or call malloc_trim after large requests.")
            } else if (s.worker_threads ?? 0) <= threadsAtPlateau.count {
                notes.append("Growth stopped when no new worker thread appeared: the pool was full. Arena growth, not a leak.")
            }
        case .linear:
            let perHour = s.throughput_rps > 0 ? v.slopeBytesPerRequest * s.throughput_rps * 3600 : nil
            var sentence = "RSS kept growing to the end at \(Quantity.formatBytes(v.slopeBytesPerRequest)) per request"
            if let perHour { sentence += " (\(Quantity.formatBytes(perHour)) per hour at \(Quantity.format(s.throughput_rps)) requests/s)" }
            notes.append(sentence + ": a probable leak.")
        case .stable:
            notes.append("RSS stayed within \(Quantity.formatBytes(thresholds.stableBytes)) of its level after the warm-up: stable.")
        }
        s.notes = notes
        return s
    }

    static func mean(_ values: [Double]) -> Double? {
        values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }

    static func describe(_ plan: RunPlan) -> [String: String] {
        var d: [String: String] = [
            "executor": "\(plan.executor.kind) \(plan.executor.size)",
            "workload": plan.workload.name,
            "requests": "\(plan.load.requests)",
            "concurrency": "\(plan.load.concurrency)",
        ]
        for (k, v) in plan.workload.options { d["workload." + k] = v }
        for (k, v) in plan.environment { d["env." + k] = v }
        if let r = plan.load.rate { d["rate"] = "\(r)" }
        return d
    }
}
