import HighwaterAnalysis
import HighwaterRecords
import Testing

/// The pool rule of the classifier, one test per rule: each fails when its rule is taken out.
@Suite("Growth that steps with the pool")
struct PoolGrowthTests {
    static let mib: UInt64 = 1 << 20

    /// RSS with a step of `size(k)` at each of `steps` (the k-th new worker's arena), a leak of `leak` bytes a
    /// request, and a deterministic swing of up to `noise` bytes; the worker threads that had served by then.
    static func series(count: Int, steps: [Int], leak: UInt64 = 0, noise: UInt64 = 256 << 10,
                       size: (Int) -> UInt64 = { 2 * mib + UInt64($0 % 5) * mib }) -> (rss: [UInt64], threads: [UInt64]) {
        var seed: UInt64 = 7
        let rss = (0..<count).map { i -> UInt64 in
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            let held = steps.enumerated().filter { $0.element <= i }.reduce(UInt64(0)) { $0 + size($1.offset) }
            return 30 * mib + held + UInt64(i) * leak + (seed >> 33) % max(noise, 1)
        }
        let threads = (0..<count).map { i in UInt64(steps.filter { $0 <= i }.count) }
        return (rss, threads)
    }

    @Test("steps where the pool grew, flat between them: a plateau at the pool's size, however late the last step")
    func stepsWithThePool() {
        // 27 workers early, the last 13 at 72% of the run: the lazy pool of the issue.
        let steps = (0..<27).map { 1 + 3 * $0 } + (0..<13).map { 1440 + 2 * $0 }
        let s = Self.series(count: 2000, steps: steps)
        let with = GrowthAnalysis.verdict(rss: s.rss, pool: PoolSeries(threads: s.threads))
        #expect(with.classification == .plateau, "\(with.evidence)")
        #expect(with.evidence.pool_bound == "threads" && with.evidence.pool_threads == 40)
        #expect(with.plateauIndex == 1464)
    }

    @Test("a leak under a filling pool grows between the steps: linear, not the pool")
    func leakBetweenSteps() {
        let s = Self.series(count: 2000, steps: (0..<40).map { 1 + 5 * $0 }, leak: 16 << 10)
        let v = GrowthAnalysis.verdict(rss: s.rss, pool: PoolSeries(threads: s.threads))
        #expect(v.classification == .linear, "\(v.evidence)")
        #expect(v.evidence.pool_bound == nil)
    }

    @Test("a rise after the pool's last step is not the pool's, even when the stretches before were flat")
    func riseAfterTheLastStep() {
        // Three long flat stretches, then a third of the rise after the last step.
        var s = Self.series(count: 2000, steps: [1, 800, 1500], noise: 1, size: { _ in 20 * Self.mib })
        for i in 1500..<2000 { s.rss[i] += UInt64(i - 1500) * 60 << 10 }
        let v = GrowthAnalysis.verdict(rss: s.rss, pool: PoolSeries(threads: s.threads))
        #expect(v.evidence.pool_bound == nil, "\(v.evidence)")
        #expect(v.classification != .plateau)
    }

    @Test("a pool still adding threads at the end is still filling, never linear")
    func stillFilling() {
        let s = Self.series(count: 2000, steps: (0..<38).map { 1 + 52 * $0 })
        let v = GrowthAnalysis.verdict(rss: s.rss, pool: PoolSeries(threads: s.threads))
        #expect(v.classification == .stillGrowing, "\(v.evidence)")
        #expect(v.evidence.pool_still_filling == true)
        var summary = RunSummary(scenario: "s", run_id: "01", config: "lazy")
        summary.growth = .init(classification: v.classification, slope_bytes_per_request: v.slopeBytesPerRequest,
                               first_plateau_request: nil, evidence: v.evidence)
        GrowthExplanation.explain(&summary, plan: Self.plan, arenaLimit: 16, cores: 2)
        #expect(summary.growth.label == "still filling (38 worker threads so far)")
    }

    @Test("a new thread for every request is no bounded pool: a leak under it stays a leak")
    func threadPerRequest() {
        let rss = (0..<1000).map { 30 * Self.mib + UInt64($0) * 64 << 10 }
        let v = GrowthAnalysis.verdict(rss: rss, pool: PoolSeries(threads: (0..<1000).map { UInt64($0 + 1) }))
        #expect(v.classification == .linear)
        #expect(v.evidence.pool_bound == nil)
    }

    @Test("arenas at their cap bound the plateau, and the label says so")
    func arenaCap() {
        let count = 2000
        let threads = (0..<count).map { UInt64(min(40, $0 / 5 + 1)) }
        let arenas = (0..<count).map { UInt64($0 >= 6 ? 2 : 1) }
        let rss = (0..<count).map { i in 30 * Self.mib + (i >= 1 ? 12 * Self.mib : 0) + (i >= 6 ? 9 * Self.mib : 0) }
        let v = GrowthAnalysis.verdict(rss: rss, pool: PoolSeries(threads: threads, arenas: arenas, arenaLimit: 2))
        #expect(v.classification == .plateau)
        #expect(v.evidence.pool_bound == "arenas" && v.evidence.pool_arenas == 2, "\(v.evidence)")
        var plan = Self.plan
        plan.environment["MALLOC_ARENA_MAX"] = "2"
        var summary = RunSummary(scenario: "s", run_id: "01", config: "lazy-40-c40-arena2")
        summary.growth = .init(classification: .plateau, slope_bytes_per_request: 0, first_plateau_request: v.plateauIndex, evidence: v.evidence)
        GrowthExplanation.explain(&summary, plan: plan, arenaLimit: 2, cores: 2)
        #expect(summary.growth.label == "plateau at 2 arenas (MALLOC_ARENA_MAX=2)")
    }

    @Test("too little time is inconclusive however many requests, and the advice says what was lacking with the figures")
    func tooShortInTime() {
        let s = Self.series(count: 2000, steps: (0..<40).map { 1 + 5 * $0 })
        let v = GrowthAnalysis.verdict(rss: s.rss, samples: 61, seconds: 0.6, pool: PoolSeries(threads: s.threads))
        #expect(v.classification == .inconclusive)
        #expect(v.evidence.lacked == ["time"])
        #expect(v.evidence.reason == "not enough time to judge (0.6 s of the 10 s needed)")
        var summary = RunSummary(scenario: "s", run_id: "01", config: "lazy-40-c40-jemalloc")
        summary.requests = 2000
        summary.growth = .init(classification: .inconclusive, slope_bytes_per_request: 0, first_plateau_request: nil, evidence: v.evidence)
        GrowthExplanation.explain(&summary, plan: Self.plan, arenaLimit: 16, cores: 2)
        let advice = summary.growth.advice ?? ""
        #expect(advice.contains("2000 requests took 0.6 s after the warm-up, at least 10 s are needed"), "\(advice)")
        #expect(!advice.contains("send"), "\(advice)")
    }

    @Test("a run short of requests is told how many it had and how many it needs")
    func tooFewRequests() {
        let v = GrowthAnalysis.verdict(rss: (0..<21).map { 30 * Self.mib + UInt64($0) * Self.mib }, samples: 40, seconds: 12)
        #expect(v.evidence.lacked == ["requests"])
        var summary = RunSummary(scenario: "s", run_id: "01", config: "c")
        summary.requests = 21
        summary.growth = .init(classification: .inconclusive, slope_bytes_per_request: 0, first_plateau_request: nil, evidence: v.evidence)
        GrowthExplanation.explain(&summary, plan: Self.plan, arenaLimit: 16, cores: 2)
        #expect(summary.growth.advice?.contains("20 were counted after a warm-up of 1, at least 30 are needed") == true, "\(summary.growth.advice ?? "")")
    }

    @Test("a plan written before time counted reads with no minimum of time")
    func olderPlan() throws {
        let old = #"{"requests":30,"samples":10,"plateauShare":0.2}"#
        let m = try RecordCoding.decode(GrowthMinimums.self, from: Array(old.utf8))
        #expect(m.seconds == 0 && m.requests == 30)
    }

    static let plan = RunPlan(scenario: "s", config: "c", executor: .init(kind: "lazy", size: 40),
                              workload: .init(name: "alloc-churn"), load: .init(requests: 2000, concurrency: 40))
}
