@testable import HighwaterAnalysis
import HighwaterRecords
import HighwaterReports
import HighwaterScenarios
import Testing

/// `repeat: N` runs each configuration N times, interleaved A B A B, and the report gives each figure's spread.
@Suite("Repeated configurations")
struct RepetitionTests {
    let loader = ScenarioLoader(cores: 2)

    static let text = """
        name: ab
        executor: {kind: fixed, size: 2}
        workload: {name: sleep}
        load: {requests: 40}
        repeat: 3
        variants:
          - {config: a}
          - {config: b, executor.size: 4}
        """

    @Test("repeat 3 with two configurations runs a b b a a b, each numbered; --quick runs each once")
    func interleaved() throws {
        let scenario = try loader.load(text: Self.text, file: "ab.yaml")
        let plans = scenario.plans(quick: false)
        #expect(plans.map(\.config) == ["a", "b", "b", "a", "a", "b"])
        #expect(plans.map(\.repetition) == [1, 1, 2, 2, 3, 3])
        #expect(plans.allSatisfy { $0.repeats == 3 })
        let quick = scenario.plans(quick: true)
        #expect(quick.map(\.config) == ["a", "b"])
        #expect(quick.allSatisfy { $0.repetition == nil })
        // Without `repeat`, nothing changes.
        let once = try loader.load(text: Self.text.replacing("repeat: 3\n", with: ""), file: "ab.yaml").plans(quick: false)
        #expect(once.map(\.config) == ["a", "b"] && once.allSatisfy { $0.repetition == nil })
    }

    @Test("with a sweep, configurations under the same load run back to back in each round, counterbalanced")
    func groupedByLoad() throws {
        let text = Self.text.replacing("repeat: 3", with: "repeat: 2") + "\nsweep:\n  load.concurrency: [1, 4]\n"
        let plans = try loader.load(text: text, file: "ab.yaml").plans(quick: false)
        #expect(plans.map { "\($0.config)@\($0.load.concurrency)" }
                == ["a-c1@1", "b-c1@1", "a-c4@4", "b-c4@4", "b-c1@1", "a-c1@1", "b-c4@4", "a-c4@4"],
                "\(plans.map(\.config))")
    }

    @Test("the run order and the spread share one definition of the same load: a rate alone separates them")
    func sameLoadOnce() throws {
        let text = Self.text.replacing("repeat: 3", with: "repeat: 2") + "\nsweep:\n  load.rate: [5, 10]\n"
        let plans = try loader.load(text: text, file: "ab.yaml").plans(quick: false)
        #expect(plans.prefix(4).map(\.config) == ["a-5rps", "b-5rps", "a-10rps", "b-10rps"], "\(plans.map(\.config))")
        let runs = plans.map { plan in
            var s = Self.run(plan.config, repetition: plan.repetition!, p50: plan.load.rate == 5 ? 100 : 300, rps: 1, steady: 1)
            // As the summarizer describes a run's configuration, so a drift between it and the spread shows here.
            s.configuration?.load = GrowthSubject.hosted(plan).configuration.load
            return s
        }
        let spread = try #require(RepetitionSpread(summaries: runs))
        // Concurrency, requests and upload size are alike; the rate is not, so b-r10 is compared with a-r10 only.
        #expect(spread.rows.first { $0.config == "b-10rps" }?.baseline == "a-10rps")
        #expect(spread.rows.first { $0.config == "a-10rps" }?.baseline == nil)
        #expect(spread.rows.first { $0.config == "b-10rps" }?.p50AgainstBaseline?.median == 1)
    }

    @Test("repeat past 20 is refused at its line, naming the largest accepted")
    func bounded() {
        let error = #expect(throws: ScenarioLoadError.self) {
            try loader.load(text: Self.text.replacing("repeat: 3", with: "repeat: 21"), file: "ab.yaml")
        }
        #expect(error?.description.contains("ab.yaml:5:") == true, "\(error?.description ?? "")")
        #expect(error?.description.contains("the largest accepted is 20") == true)
    }

    static func run(_ config: String, repetition: Int, p50: Double, rps: Double, steady: UInt64, upload: Double = 100e6) -> RunSummary {
        var s = RunSummary(scenario: "ab", run_id: "\(repetition)-\(config)", config: config)
        s.configuration = RunConfiguration(requests: 50, concurrency: 1)
        s.workload = WorkloadFigures([.uploadFileBytes: upload])
        s.growth.classification = .stable
        s.latency_ms = .init(p50: p50, p90: p50, p99: p50, max: p50)
        s.throughput_rps = rps
        s.rss_steady = steady
        s.repetition = repetition
        return s
    }

    @Test("the spread gives median and range per configuration, and p50 against the first under the same load, repetition by repetition")
    func spread() throws {
        let runs = [
            Self.run("spooled", repetition: 1, p50: 200, rps: 5, steady: 30 << 20),
            Self.run("streamed", repetition: 1, p50: 100, rps: 9, steady: 28 << 20),
            Self.run("spooled", repetition: 2, p50: 300, rps: 3, steady: 31 << 20),
            Self.run("streamed", repetition: 2, p50: 180, rps: 6, steady: 28 << 20),
            Self.run("spooled", repetition: 3, p50: 250, rps: 4, steady: 32 << 20),
            Self.run("streamed", repetition: 3, p50: 125, rps: 8, steady: 29 << 20),
            // Another upload size: compared with its own first configuration, never with spooled at 100 MB.
            Self.run("streamed-1MB", repetition: 1, p50: 2, rps: 400, steady: 28 << 20, upload: 1e6),
            Self.run("streamed-1MB", repetition: 2, p50: 3, rps: 300, steady: 28 << 20, upload: 1e6),
        ]
        let spread = try #require(RepetitionSpread(summaries: runs))
        let streamed = try #require(spread.rows.first { $0.config == "streamed" })
        #expect(streamed.baseline == "spooled")
        #expect(spread.rows.first { $0.config == "streamed-1MB" }?.baseline == nil)
        #expect(streamed.repetitions == 3)
        #expect(streamed.p50Ms.median == 125 && streamed.p50Ms.low == 100 && streamed.p50Ms.high == 180)
        // 100/200, 180/300, 125/250: the ratio of each pair, not the ratio of the medians.
        let ratio = try #require(streamed.p50AgainstBaseline)
        #expect(ratio.low == 0.5 && ratio.median == 0.5 && ratio.high == 0.6)
        #expect(spread.rows.first { $0.config == "spooled" }?.p50AgainstBaseline == nil)
        #expect(ratio.text { Quantity.format($0) } == "0.5 (0.5–0.6)")
        // Runs once each: no spread to show.
        #expect(RepetitionSpread(summaries: runs.map { var r = $0; r.repetition = nil; return r }) == nil)
    }
}
