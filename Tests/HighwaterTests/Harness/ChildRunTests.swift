@preconcurrency import Glibc
import HighwaterRecords
import HighwaterHarness
import HighwaterProbes
import Testing
import HighwaterSystem
import HighwaterHost

/// Real child processes (the built `highwater host`), real sockets on 127.0.0.1, real glibc arenas.
@Suite("Hosted runs in child processes", .serialized)
struct ChildRunTests {
    static func run(_ plans: [RunPlan]) async throws -> [RunSummary] {
        let out = TestSupport.makeTemporaryDirectory("hw-runs")
        defer { TestSupport.removeTree(out) }
        let session = RunSession(outDirectory: out, executable: TestSupport.highwater, showProgress: false, version: "test")
        let summaries = try await session.run(plans)
        // The results layout others rely on.
        #expect(access(out + "/summary.json", R_OK) == 0)
        for s in summaries {
            for file in ["summary.json", "requests.jsonl", "samples.jsonl"] {
                #expect(access("\(out)/\(s.scenario)/\(s.run_id)/\(file)", R_OK) == 0, "\(s.run_id)/\(file)")
            }
        }
        return summaries
    }

    static func plan(_ config: String, _ kind: String, _ size: Int, requests: Int = 200, concurrency: Int = 1,
                     workload: String = "alloc-churn", options: [String: String] = [:], env: [String: String] = [:]) -> RunPlan {
        // Runs of a second or two, judged on their requests: held to no minimum of time (the scenarios are).
        var plan = RunPlan(scenario: "test", config: config, executor: .init(kind: kind, size: size),
                workload: .init(name: workload, options: options), environment: env,
                load: .init(requests: requests, concurrency: concurrency), sampleIntervalNs: 2_000_000)
        plan.minimums = GrowthMinimums(seconds: 0)
        return plan
    }

    @Test("the worker-pool growth of seed 004, its fixes, and a leak, classified")
    func threadpoolGrowth() async throws {
        let s = try await Self.run([
            Self.plan("eager-1", "eager", 1, requests: 300),
            Self.plan("eager-40", "eager", 40, requests: 300),
            Self.plan("eager-40-arena-2", "eager", 40, requests: 300, env: ["MALLOC_ARENA_MAX": "2"]),
            Self.plan("eager-40-trim", "eager", 40, requests: 300, options: ["trim": "true"]),
            Self.plan("lazy-40-c1", "lazy", 40, requests: 300),
            Self.plan("leak", "fixed", 2, requests: 300, workload: "leak", options: ["bytes_per_request": "256 KiB"]),
        ])
        let byConfig = Dictionary(uniqueKeysWithValues: s.map { ($0.config, $0) })
        let eager40 = try #require(byConfig["eager-40"])
        let cores = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        #expect(eager40.growth.classification == .plateau)
        #expect(eager40.arenas_max == min(8 * cores, 40 + 3))
        // The host's own threads: main, the event loop, the sampler, and up to `cores` of Swift concurrency's pool.
        #expect(eager40.threads_max >= 40 + 3 && eager40.threads_max <= 40 + 3 + cores, "pool size plus the host's own threads: \(eager40.threads_max)")
        #expect(byConfig["eager-1"]!.rss_growth < eager40.rss_growth / 10)
        #expect(byConfig["lazy-40-c1"]!.rss_growth < eager40.rss_growth / 10)
        let steady40 = Double(eager40.rss_steady ?? 0)
        #expect(Double(byConfig["eager-40-arena-2"]!.rss_steady ?? 0) <= steady40 / 2)
        #expect(Double(byConfig["eager-40-trim"]!.rss_steady ?? 0) <= steady40 / 2)
        #expect((byConfig["eager-40-arena-2"]!.arenas_max ?? Int.max) <= 2)
        #expect(byConfig["leak"]!.growth.classification == .linear)
        #expect(s.allSatisfy { $0.errors == 0 && $0.child_exit == "exit 0" })
    }

    @Test("every executor kind serves the same 200 requests, with the thread count its kind implies")
    func executorKinds() async throws {
        let options = ["working_set": "1 MiB"]
        let plans = RunPlan.executorKinds.map { Self.plan($0, $0, 8, options: options) }
        let summaries = try await Self.run(plans)
        #expect(summaries.count == RunPlan.executorKinds.count)
        for s in summaries {
            #expect(s.errors == 0, "\(s.config)")
            #expect(s.requests == 200, "\(s.config)")
        }
        let byConfig = Dictionary(uniqueKeysWithValues: summaries.map { ($0.config, $0) })
        // fixed: all 8 up front, so the first sample already has them.
        #expect(byConfig["fixed"]!.threads_max >= 8 + 3)
        #expect(byConfig["eager"]!.worker_threads == 8)
        #expect(byConfig["lazy"]!.worker_threads == 1, "concurrency 1: the idle thread is reused")
        #expect(byConfig["thread-per-request"]!.worker_threads == 200)
        #expect(byConfig["event-loop"]!.worker_threads == 1)
    }

    @Test("a handler that throws answers 500 with its error recorded, and the server keeps serving")
    func failingHandler() async throws {
        let s = try await Self.run([Self.plan("failing", "fixed", 2, requests: 100, options: ["working_set": "64 KiB", "fail_every": "10"])])
        #expect(s[0].errors == 10)
        #expect(s[0].requests == 100)
        #expect(s[0].child_exit == "exit 0")
    }

    @Test("the warm-up requests are sent one at a time before the others start, whatever the concurrency")
    func warmupAlone() async throws {
        let out = TestSupport.makeTemporaryDirectory("hw-runs")
        defer { TestSupport.removeTree(out) }
        var plan = Self.plan("warm", "fixed", 8, requests: 40, concurrency: 8, workload: "sleep", options: ["duration": "20ms"])
        plan.warmup = 3
        let session = RunSession(outDirectory: out, executable: TestSupport.highwater, showProgress: false, version: "test")
        let s = try #require(try await session.run([plan]).first)
        let requests = RecordCoding.lines(RequestRecord.self, from: try FileTree.readBytes("\(out)/test/\(s.run_id)/requests.jsonl"))
            .sorted { $0.start_ns < $1.start_ns }
        try #require(requests.count == 40)
        // Each of the first three ends before the next request starts; after them, requests overlap (8 in flight).
        for k in 0..<3 { #expect(requests[k].end_ns <= requests[k + 1].start_ns, "warm-up request \(k) overlapped the next") }
        #expect(requests[3...].contains { $0.start_ns < requests[3].end_ns && $0.i != requests[3].i }, "the load after the warm-up ran one at a time")
    }

    @Test("a session replaces its scenarios' earlier run directories and leaves everything else in DIR alone")
    func earlierRunsReplaced() async throws {
        let out = TestSupport.makeTemporaryDirectory("hw-runs")
        defer { TestSupport.removeTree(out) }
        // A configuration's phase of an external target (`CONFIG-NN-…`) is a run too; `notes` and the other scenario are not this session's.
        for dir in ["/test/03-old", "/test/arena2-01-work", "/test/notes", "/other/01-kept"] { try FileTree.createDirectory(out + dir) }
        for file in ["/test/03-old/plan.json", "/test/arena2-01-work/plan.json", "/test/notes/plan.json", "/test/README", "/other/01-kept/plan.json"] {
            try FileTree.writeAtomically("{}", to: out + file)
        }
        let session = RunSession(outDirectory: out, executable: TestSupport.highwater, showProgress: false, version: "test")
        let s = try await session.run([Self.plan("fresh", "fixed", 1, requests: 20)])
        #expect(s.first?.run_id == "01-fresh")
        #expect(!FileTree.isDirectory(out + "/test/03-old") && !FileTree.isDirectory(out + "/test/arena2-01-work"))
        #expect(FileTree.isDirectory(out + "/test/01-fresh"))
        #expect(FileTree.isDirectory(out + "/test/notes") && access(out + "/test/README", R_OK) == 0)
        #expect(FileTree.isDirectory(out + "/other/01-kept"))
    }

    @Test("an unknown executor kind or a size of 0 is a clear error with exit 2")
    func badExecutor() async throws {
        #expect(throws: ExecutorError.unknownKind("pool")) { _ = try Executors.make(kind: "pool", size: 4) }
        #expect(throws: ExecutorError.badSize(0)) { _ = try Executors.make(kind: "fixed", size: 0) }
        let dir = TestSupport.makeTemporaryDirectory()
        defer { TestSupport.removeTree(dir) }
        let plan = #"{"scenario":"t","config":"c","executor":{"kind":"pool","size":4},"workload":{"name":"sleep","options":{}},"environment":{},"load":{"requests":1,"concurrency":1,"payloadBytes":[]},"storage":{},"warmup":1,"sampleIntervalNs":10000000}"#
        try FileTree.writeAtomically(plan, to: dir + "/plan.json")
        let r = await TestSupport.run([TestSupport.highwater, "host", "--plan", dir + "/plan.json", "--out", dir])
        #expect(r.termination == .exited(2))
        #expect(r.stderr.contains("unknown executor kind 'pool'"))
    }
}

@Suite("A crashing child", .serialized)
struct CrashingChildTests {
    @Test("a child that crashes is reported with its signal and stderr tail, and the next run goes on")
    func crash() async throws {
        let s = try await ChildRunTests.run([
            ChildRunTests.plan("crashes", "fixed", 2, requests: 50, options: ["working_set": "64 KiB", "crash_at": "20"]),
            ChildRunTests.plan("after", "fixed", 2, requests: 50, options: ["working_set": "64 KiB"]),
        ])
        #expect(s.count == 2)
        #expect(s[0].child_exit?.contains("SIGABRT") == true, "\(s[0].child_exit ?? "nil"); notes: \(s[0].notes ?? [])")
        #expect(s[0].stderr_tail?.contains("crashing on request 20") == true)
        // The requests after the crash were never sent: said in a note, not counted as errors.
        #expect(s[0].errors >= 1 && s[0].errors < 30, "errors \(s[0].errors)")
        #expect(s[0].notes?.contains { $0.contains("never sent are not counted") } == true, "\(s[0].notes ?? [])")
        #expect(s[1].errors == 0 && s[1].child_exit == "exit 0")
    }
}
