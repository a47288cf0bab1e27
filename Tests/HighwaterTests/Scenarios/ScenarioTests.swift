import HighwaterRecords
import HighwaterHarness
import HighwaterScenarios
import Testing
import HighwaterWorkloads

@Suite struct ScenarioLoaderTests {
    let loader = ScenarioLoader(cores: 2)

    @Test(arguments: BrokenScenarioTable.cases.map { $0.0 })
    func brokenFileGivesFileLineColumn(_ what: String) throws {
        let (_, text, line) = try #require(BrokenScenarioTable.cases.first { $0.0 == what })
        let error = #expect(throws: ScenarioLoadError.self) { try loader.load(text: text, file: "broken.yaml") }
        let first = try #require(error?.diagnostics.first)
        #expect(first.location.line == line)
        #expect(first.description.hasPrefix("broken.yaml:\(line):\(first.location.column): error: "))
    }

    @Test func allErrorsOfAFileAtOnce() throws {
        let text = "name: t\nexecutor: {kind: eagr, size: -1}\nworkload: {name: leek}\nload: {requests: 0}\n"
        let error = #expect(throws: ScenarioLoadError.self) { try loader.load(text: text, file: "f.yaml") }
        #expect(error?.diagnostics.count == 4)
    }

    @Test("a scenario accepts exactly the upload encodings the load driver can send")
    func uploadEncodingsMatchTheHarness() {
        #expect(ScenarioField.uploadEncodings == UploadWorkload.Encoding.allCases.map(\.rawValue))
    }

    @Test func builtInScenariosLoad() throws {
        let scenarios = try loader.load(paths: ["scenarios"])
        #expect(Set(scenarios.map(\.name)) == ["threadpool-growth", "leak-vs-plateau", "spooled-upload-enospc", "upload-latency",
                                               "downloads", "downstream-client"])
        let pool = try #require(scenarios.first { $0.name == "threadpool-growth" })
        #expect(pool.plans.map(\.config) == ["eager-1", "eager-cores", "eager-coresx5", "eager-40", "eager-40-arena2", "eager-40-trim",
                                             "eager-40-jemalloc", "eager-40-tcmalloc", "lazy-40-c1", "lazy-40-c40", "lazy-40-c40-arena2",
                                             "lazy-40-c40-trim", "lazy-40-c40-jemalloc", "lazy-40-c40-tcmalloc"])
        #expect(pool.plans.map(\.executor.size) == [1, 2, 10] + Array(repeating: 40, count: 11))
        // Every configuration turns the agent's stack sampling off (a fair ranking by requests/s), and adds its own.
        #expect(pool.plans.allSatisfy { $0.environment["HIGHWATER_AGENT_SAMPLE_BYTES"] == "off" })
        #expect(pool.plans[4].environment == ["MALLOC_ARENA_MAX": "2", "HIGHWATER_AGENT_SAMPLE_BYTES": "off"])
        #expect(pool.plans[5].workload.options == ["trim": "true"])
        #expect(pool.plans[6].environment["LD_PRELOAD"] == "libjemalloc.so.2")
        #expect(pool.plans[13].environment["LD_PRELOAD"] == "libtcmalloc_minimal.so.4" && pool.plans[13].load.concurrency == 40)
        // Until the verdict settles, a minute at most; the request count is only a cap.
        #expect(pool.plans.allSatisfy { $0.load.untilSettled && $0.load.maxSeconds == 60 && $0.load.requests == 1_000_000 })
        #expect(pool.plans(quick: true).allSatisfy { $0.load.requests == 200 })
        let uploads = try #require(scenarios.first { $0.name == "spooled-upload-enospc" })
        #expect(uploads.plans.count == 12)
        #expect(uploads.plans.allSatisfy { $0.storage.tmpfsBytes == 64 << 20 })
        // Seed 002: three paths x two sizes x two concurrencies; seed 003: two clients x three concurrencies, two faults.
        let downloads = try #require(scenarios.first { $0.name == "downloads" })
        #expect(downloads.plans.count == 12)
        #expect(Set(downloads.plans.map(\.workload.name)) == Set(WorkloadKind.names(of: .download)))
        #expect(Set(downloads.plans.map(\.load.concurrency)) == [10, 100])
        let downstream = try #require(scenarios.first { $0.name == "downstream-client" })
        #expect(downstream.plans.filter { $0.workload.options["downstream_fault"] == "none" }.map(\.config)
            == ["shared-c1", "shared-c10", "shared-c100", "per-request-c1", "per-request-c10", "per-request-c100", "per-request-idle-1s"])
    }

    @Test func sweepIsACrossProductWithUniqueLabels() throws {
        let text = BrokenScenarioTable.valid + "sweep: {executor.size: [1, 2, 10, 40], environment.MALLOC_ARENA_MAX: [unset, 2]}\n"
        let s = try loader.load(text: text, file: "s.yaml")
        #expect(s.plans.count == 8)
        #expect(Set(s.plans.map(\.config)).count == 8)
        #expect(s.plans.map(\.config).contains("eager-40-arena2"))
        #expect(s.plans.filter { $0.environment.isEmpty }.count == 4)
    }

    @Test(arguments: [("cores", 8), ("cores * 5", 40), ("2 * cores + 1", 17), ("40", 40), ("cores - 2", 6)])
    func countExpressions(_ text: String, _ value: Int) throws {
        #expect(try #require(CountExpression(text)).value(cores: 8) == value)
    }
}

@Suite struct ExpectationTests {
    func run(_ config: String = "eager-40") -> RunSummary {
        var r = RunSummary(scenario: "t", run_id: "1", config: config)
        r.rss_growth = 12 << 20
        r.threads_max = 45
        r.growth.classification = .plateau
        r.latency_ms = .init(p50: 3, p90: 20, p99: 49, max: 80)
        r.workload = WorkloadFigures([.tmpUsedPeak: 1_048_576, .receiveMsP50: 2.5, .uploadsPassed: 3, .unlisted("bytes_older"): 7])
        return r
    }

    @Test("record's --expect can name the phases it holds: 'PHASE: FIELD OP VALUE', PHASE a name or a glob")
    func phaseOfARecord() throws {
        let leak = try Expectation.parse(commandLine: "03-*: growth.classification == linear", cores: 2)
        #expect(leak.text == "growth.classification == linear" && leak.fullText == "growth.classification == linear where phase = 03-*")
        let every = try Expectation.parse(commandLine: "rss_growth < 8 MiB", cores: 2)
        for (phase, held) in [("03-get-leak", true), ("01-get-work", false)] {
            let r = run(phase)
            #expect(leak.applies(to: r, setting: { $0 == "phase" ? phase : nil }) == held, "\(phase)")
            #expect(every.applies(to: r, setting: { $0 == "phase" ? phase : nil }))
        }
        #expect(throws: ExpectationSyntaxError.self) { try Expectation.parse(commandLine: "03-*: growth.classification", cores: 2) }
    }

    func scenario(_ expect: String) throws -> Scenario {
        try ScenarioLoader(cores: 2).load(text: BrokenScenarioTable.valid.replacing("size: 4", with: "size: 40") + "expect:\n" + expect, file: "e.yaml")
    }

    @Test(arguments: [
        ("rss_growth < 8 MiB", false, "12 MiB"), ("rss_growth < 16 MiB", true, "12 MiB"),
        ("growth.classification == plateau", true, "plateau"), ("classification != plateau", false, "plateau"),
        ("threads_max <= 44", false, "45"), ("threads_max <= 43 + cores", true, "45"), ("threads_max < 43 + cores", false, "45"),
        ("errors == 0", true, "0"),
        ("p99 < 50 ms", true, "49 ms"), ("latency_ms.p99 < 50", true, "49 ms"), ("p99 < 0.04 s", false, "49 ms"),
        ("workload.tmp_used_peak <= 1 MiB", true, "1 MiB"), ("workload.receive_ms_p50 < 2 ms", false, "2.5 ms"),
        ("workload.uploads_passed >= 3", true, "3"), ("workload.bytes_older == 7", true, "7"), ("plateau_threads <= 4", false, "absent (the run did not record plateau_threads)"),
    ])
    func evaluates(_ text: String, _ passed: Bool, _ observed: String) throws {
        let s = try scenario("  - \"\(text)\"\n")
        let result = try #require(s.evaluate(run()).first)
        #expect(result.passed == passed)
        #expect(result.observed == observed)
    }

    @Test func filterLimitsTheRuns() throws {
        let s = try ScenarioLoader(cores: 2).load(text: BrokenScenarioTable.valid + "sweep: {executor.size: [1, 40]}\nexpect: [{that: threads_max <= 44, where: {config: eager-40}}]\n", file: "f.yaml")
        let (runs, outcomes) = ExpectationEvaluator.evaluate([s], runs: [run("eager-1"), run("eager-40")])
        #expect(outcomes.count == 1)
        #expect(outcomes[0].failureLine.hasPrefix("t/eager-40: threads_max <= 44 where config = eager-40 failed: observed 45, limit 44"))
        #expect(runs[0].expectations.isEmpty && runs[1].expectations.count == 1)
    }

    @Test func expectationMatchingNoRunFails() throws {
        let s = try scenario("  - errors == 0\n")
        #expect(ExpectationEvaluator.evaluate([s], runs: []).outcomes.map(\.passed) == [false])
    }
}

@Suite struct LimitsCheckTests {
    @Test func seed001Fails() throws {
        let outcomes = try LimitsCheck.evaluate(try ServiceLimits.load(path: "examples/limits-seed-001.yaml"), readings: .init())
        #expect(outcomes.map(\.passed) == [false])
        #expect(outcomes[0].sentence.contains("/tmp") && outcomes[0].sentence.contains("989 MiB"))
        #expect(outcomes[0].headroom == Int64(989 << 20) - Int64(1 << 30))
    }

    @Test func seed001At900MiBPasses() throws {
        let outcomes = try LimitsCheck.evaluate(try ServiceLimits.load(path: "examples/limits-seed-001-900mib.yaml"), readings: .init())
        #expect(outcomes.map(\.passed) == [true])
    }

    @Test func fortyThreadsAt64MiBIn1GiBFails() throws {
        let outcomes = try LimitsCheck.evaluate(try ServiceLimits.load(path: "examples/limits-threadpool-40.yaml"), readings: .init())
        #expect(outcomes.map(\.passed) == [false])
        #expect(outcomes[0].worstCase == 40 * (64 << 20))
    }

    @Test func cgroupAndStatvfsReadingsAreUsed() throws {
        let text = "memory: {limit: cgroup}\nexecutor: {size: 4, memory_per_worker: 64 MiB}\nuploads: {largest: 100 MiB, concurrent: 2, temp_dir: /tmp}\n"
        let limits = try ServiceLimits.load(text: text, file: "l.yaml")
        let outcomes = try LimitsCheck.evaluate(limits, readings: .init(cgroupMemoryMax: 512 << 20) { _ in (capacity: 150 << 20, isTmpfs: true) })
        #expect(outcomes.map(\.passed) == [true, false, true])
    }

    @Test func badLimitsFileNamesTheLine() throws {
        let error = #expect(throws: ScenarioLoadError.self) { try ServiceLimits.load(text: "uploads:\n  largest: -1 GiB\n", file: "l.yaml") }
        #expect(error?.diagnostics.first?.location.line == 2)
    }
}
