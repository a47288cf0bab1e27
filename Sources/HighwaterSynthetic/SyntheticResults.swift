import FoundationEssentials
import HighwaterAnalysis
import HighwaterRecords
import HighwaterSystem

/// A results directory written from a model of known truth, for tests and the render benchmark:
/// a thread pool whose new threads each add an arena (plateau), a bounded pool (stable), and a leak (linear).
package enum SyntheticResults {
    package enum Shape: Sendable {
        /// RSS steps by `perThread` bytes on each of `threads` new workers' first request, then stays flat.
        case plateau(threads: Int, perThread: UInt64)
        /// RSS grows by `perRequest` bytes every request.
        case leak(perRequest: UInt64)
        case stable
    }

    package struct RunSpec: Sendable {
        package var scenario: String
        package var config: String
        package var shape: Shape
        package var requests: Int
        package init(scenario: String, config: String, shape: Shape, requests: Int) {
            self.scenario = scenario; self.config = config; self.shape = shape; self.requests = requests
        }
    }

    /// Seed 004 in small: a lazy pool of 16 threads at 25 MiB each, a pool of one, and a 64 KiB-per-request leak.
    package static func standard(requests: Int) -> [RunSpec] {
        [
            RunSpec(scenario: "threadpool-growth", config: "lazy-16", shape: .plateau(threads: 16, perThread: 25 << 20), requests: requests),
            RunSpec(scenario: "threadpool-growth", config: "fixed-1", shape: .stable, requests: requests),
            RunSpec(scenario: "leak", config: "leak-64k", shape: .leak(perRequest: 64 << 10), requests: requests),
        ]
    }

    /// Writes `DIR/summary.json` and each run's folder, memory runs first, then uploads; returns the summary written.
    @discardableResult
    package static func write(directory: String, runs: [RunSpec], uploads: [UploadSpec] = []) throws -> ResultsSummary {
        try FileTree.createDirectory(directory)
        var summaries: [RunSummary] = []
        for (k, spec) in runs.enumerated() {
            summaries.append(try writeRun(directory: directory, spec: spec, runID: "run-\(k + 1)", seed: UInt64(k + 1)))
        }
        for (k, spec) in uploads.enumerated() {
            summaries.append(try writeUploadRun(directory: directory, spec: spec, runID: "run-\(runs.count + k + 1)"))
        }
        let summary = ResultsSummary(highwater_version: "synthetic", created_ns: 0, runs: summaries)
        try FileTree.writeAtomically(try RecordCoding.document(summary), to: directory + "/summary.json")
        return summary
    }

    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: UInt64) -> UInt64 { n == 0 ? 0 : next() % n }
        mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
    }

    static func writeRun(directory: String, spec: RunSpec, runID: String, seed: UInt64) throws -> RunSummary {
        let runDir = directory + "/" + spec.scenario + "/" + runID
        try FileTree.createDirectory(runDir)
        var random = Random(state: seed &* 7919)
        let mib: UInt64 = 1 << 20
        let start: UInt64 = 30 * mib
        let heapBase: UInt64 = 4 * mib
        let intervalNs: UInt64 = 500_000  // 2,000 requests per second
        let t0: UInt64 = 1_000_000_000_000
        let poolSize: Int
        switch spec.shape {
        case .plateau(let threads, _): poolSize = threads
        case .leak: poolSize = 4
        case .stable: poolSize = 1
        }

        let requestsFile = try FileAppender(runDir + "/requests.jsonl")
        var line = JSONLine()
        var level = start, heap = heapBase
        var started = 0
        var rssSeries: [UInt64] = []
        rssSeries.reserveCapacity(spec.requests)
        var heapSeries: [UInt64] = []
        heapSeries.reserveCapacity(spec.requests)
        var latencies: [Double] = []
        latencies.reserveCapacity(spec.requests)
        var peak = start
        // Thread k first runs request 3k: the pool grows as load arrives, as a lazy pool does.
        var levelAt: [(UInt64, UInt64, UInt64, Int)] = []  // (end_ns, rss, heap, threads started) for the sampler
        levelAt.reserveCapacity(spec.requests / 20 + 2)
        for i in 0..<spec.requests {
            let worker: Int
            if started < poolSize && i == started * 3 { worker = started; started += 1 } else { worker = Int(random.below(UInt64(started))) }
            let firstOnThread = worker == started - 1 && i == (started - 1) * 3
            let before = level + random.below(128 << 10)
            switch spec.shape {
            case .plateau(_, let perThread):
                if firstOnThread { level += UInt64(Double(perThread) * (0.95 + 0.1 * random.unit())) }
            case .leak(let perRequest):
                level += perRequest
                heap += perRequest
            case .stable:
                break
            }
            if firstOnThread && i == 0 { level += 2 * mib }
            let after = level + random.below(128 << 10)
            peak = max(peak, after)
            let startNs = t0 + UInt64(i) * intervalNs
            let latencyNs = 300_000 + random.below(200_000) + (firstOnThread ? 2_000_000 : 0)
            let working = 1 * mib + random.below(mib)
            let record = RequestRecord(i: i, config: spec.config, route: "/work", tid: Int32(10_000 + worker), worker: "hw-pool-\(worker)",
                                       start_ns: startNs, end_ns: startNs + latencyNs, status: 200, rss_before: before, rss_after: after,
                                       heap_in_use_before: heap + working, heap_in_use_after: heap + working / 8)
            record.write(to: &line)
            try requestsFile.append(line.bytes)
            rssSeries.append(after)
            heapSeries.append(record.heap_in_use_after)
            latencies.append(Double(latencyNs) / 1e6)
            if i % 20 == 0 || i == spec.requests - 1 { levelAt.append((startNs + latencyNs, after, heap, started)) }
        }
        try requestsFile.close()

        // A sample every 10 ms (every 20 requests at 2,000 per second).
        let samplesFile = try FileAppender(runDir + "/samples.jsonl")
        var arenasMax = 0, threadsMax = 0
        for (t, rss, heapNow, threads) in levelAt {
            let arenas = 1 + threads
            arenasMax = max(arenasMax, arenas); threadsMax = max(threadsMax, threads + 3)
            let sample = SampleRecord(t_ns: t, pid: 4242, rss: rss, rss_anon: rss - 12 * mib, rss_file: 11 * mib, rss_shmem: mib,
                                      vm_size: rss * 4, vm_hwm: rss, threads: UInt64(threads + 3), fds: 12, utime_ns: t - t0, stime_ns: (t - t0) / 10,
                                      heap_in_use: heapNow, heap_free: 2 * mib, heap_system: heapNow + 2 * mib, arenas: UInt64(arenas))
            sample.write(to: &line)
            try samplesFile.append(line.bytes)
        }
        try samplesFile.close()

        let verdict = GrowthAnalysis.verdict(rss: rssSeries, heap: heapSeries, samples: levelAt.count)
        var s = RunSummary(scenario: spec.scenario, run_id: runID, config: spec.config)
        s.requests = spec.requests
        s.rss_start = rssSeries.first ?? start
        s.rss_end = rssSeries.last ?? start
        s.rss_peak = peak
        s.rss_growth = verdict.growth
        s.threads_max = threadsMax
        s.arenas_max = arenasMax
        s.growth = .init(classification: verdict.classification, slope_bytes_per_request: verdict.slopeBytesPerRequest,
                         first_plateau_request: verdict.plateauIndex, evidence: verdict.evidence)
        s.latency_ms = Percentiles.of(latencies)
        s.throughput_rps = 1e9 / Double(intervalNs)
        s.rss_steady = verdict.steady
        s.worker_threads = started
        s.child_exit = "exit 0"
        s.configuration = RunConfiguration(executor: poolSize == 1 ? "fixed 1" : "lazy \(poolSize)", workload: "synthetic")
        switch spec.shape {
        case .plateau(let threads, let perThread):
            s.plateau_threads = threads
            s.plateau_arenas = threads + 1
            s.growth_per_thread = Double(perThread)
            s.expectations = [.init(text: "rss_growth < 1 GiB", passed: verdict.growth < 1 << 30, observed: Quantity.formatBytes(verdict.growth))]
        case .leak:
            s.expectations = [.init(text: "growth is not linear", passed: verdict.classification != .linear, observed: verdict.classification.rawValue)]
        case .stable:
            break
        }
        let plan = RunPlan(scenario: spec.scenario, config: spec.config, executor: .init(kind: poolSize == 1 ? "fixed" : "lazy", size: poolSize),
                           workload: .init(name: "synthetic"), load: .init(requests: spec.requests))
        GrowthExplanation.explain(&s, plan: plan, arenaLimit: 16, cores: 2)
        try FileTree.writeAtomically(try RecordCoding.document(s), to: runDir + "/summary.json")
        return s
    }
}
