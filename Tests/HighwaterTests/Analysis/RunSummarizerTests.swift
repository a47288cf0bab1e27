import HighwaterAnalysis
import HighwaterRecords
import Testing

@Suite("Run summaries from records")
struct RunSummarizerTests {
    @Test("a plateau names its thread count, arenas and growth per thread")
    func plateau() {
        let mib: UInt64 = 1 << 20
        let plan = RunPlan(scenario: "s", config: "eager-8", executor: .init(kind: "eager", size: 8),
                           workload: .init(name: "alloc-churn"), load: .init(requests: 100))
        var requests: [RequestRecord] = []
        var samples: [SampleRecord] = []
        for i in 0..<100 {
            let tid = Int32(1000 + min(i, 7))
            let rss = 30 * mib + UInt64(min(i, 7) + 1) * 8 * mib
            requests.append(RequestRecord(i: i, config: "eager-8", route: "/work", tid: tid, worker: "w", start_ns: UInt64(i) * 200_000_000,
                                          end_ns: UInt64(i) * 200_000_000 + 5, status: 200, rss_before: rss - (i < 8 ? 8 * mib : 0),
                                          rss_after: rss, heap_in_use_before: 0, heap_in_use_after: 0))
            samples.append(SampleRecord(t_ns: UInt64(i) * 200_000_000 + 4, pid: 1, rss: rss, rss_anon: rss, rss_file: 0, rss_shmem: 0,
                                        vm_size: 0, vm_hwm: 0, threads: UInt64(3 + min(i, 7) + 1), fds: 5, utime_ns: 0,
                                        stime_ns: 0, arenas: UInt64(3 + min(i, 7) + 1)))
        }
        let s = RunSummarizer.summarize(plan: plan, runID: "01", requests: requests, samples: samples,
                                        client: .init(latenciesMs: Array(repeating: 2, count: 100), errors: 0, wallNs: 1_000_000_000),
                                        arenaLimit: 16)
        #expect(s.growth.classification == .plateau)
        #expect(s.growth.first_plateau_request == 7)
        #expect(s.plateau_threads == 8)
        #expect(s.plateau_arenas == 11)
        #expect(s.growth_per_thread == Double(8 * mib))
        #expect(s.threads_max == 11)
        #expect(s.first_on_thread_requests == 8)
        #expect(s.rss_delta_first_on_thread == Double(8 * mib))
        #expect(s.throughput_rps == 100)
        #expect(s.growth.finding?.contains("settled at request 7") == true)
        #expect(s.growth.evidence?.requests_counted == 99)
        #expect(s.growth.label == "plateau at 8 threads")
    }
}

@Suite("Runs without data and advice that fits")
struct VerdictEdgeTests {
    static let plan = RunPlan(scenario: "s", config: "c", executor: .init(kind: "eager", size: 40),
                              workload: .init(name: "alloc-churn"), environment: ["MALLOC_ARENA_MAX": "2"], load: .init(requests: 100))

    @Test("a run with no request is not-run, never stable, and its expectations cannot pass")
    func noData() {
        let s = RunSummarizer.summarize(plan: Self.plan, runID: "01", requests: [], samples: [],
                                        client: .init(latenciesMs: [], errors: 100, wallNs: 0), arenaLimit: 2)
        #expect(s.growth.classification == .notRun)
        #expect(s.growth.label == "not run")
        #expect(!s.growth.classification.hasData)
    }

    @Test("advice never repeats a setting the run already has")
    func adviceFitsTheConfiguration() {
        var s = RunSummary(scenario: "s", run_id: "01", config: "eager-40-arena2")
        s.growth = .init(classification: .plateau, slope_bytes_per_request: 0, first_plateau_request: 10)
        GrowthExplanation.explain(&s, plan: Self.plan, arenaLimit: 2, cores: 2)
        let advice = s.growth.advice ?? ""
        #expect(!advice.contains("set MALLOC_ARENA_MAX=2"))
        #expect(advice.contains("already has MALLOC_ARENA_MAX=2"))
        var trimmed = Self.plan
        trimmed.environment = ["LD_PRELOAD": "libjemalloc.so.2"]
        trimmed.executor.size = 1
        var j = RunSummary(scenario: "s", run_id: "02", config: "eager-1-jemalloc")
        j.allocator = "jemalloc"
        j.growth = .init(classification: .plateau, slope_bytes_per_request: 0, first_plateau_request: 10)
        GrowthExplanation.explain(&j, plan: trimmed, arenaLimit: 16, cores: 2)
        #expect(j.growth.advice?.contains("jemalloc") == true)
        #expect(j.growth.advice?.contains("preload") == false)
        #expect(j.growth.finding?.contains("not available (jemalloc)") == true)
    }
}
