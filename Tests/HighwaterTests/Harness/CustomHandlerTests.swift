@preconcurrency import Glibc
import Foundation
import HighwaterHarness
import HighwaterRecords
import HighwaterReports
import HighwaterSystem
import Testing

/// examples/custom-handler, a package of its own with three handlers of a service's kind, built in release and run
/// through `highwater run` as a user would: its scenario names the package (`host: {package: ., product: …}`).
@Suite("A user's own handlers hosted by a scenario", .serialized)
struct CustomHandlerTests {
    static var scenario: String { PublicHostTests.packageRoot + "/examples/custom-handler/custom-handler.yaml" }

    @Test("custom-handler: the cache a leak at its insert, JSON decoding not, per-request heap deltas, the report, and the pool size to choose for the resize",
          .enabled(if: AllocationProfileTests.agentBuilt, "libHighwaterAgent.so is not built beside highwater"))
    func customHandlerScenario() async throws {
        let out = TestSupport.makeTemporaryDirectory("hw-custom-handler")
        defer { TestSupport.removeTree(out) }
        // The first build of the package compiles Highwater's dependencies in release: minutes on a cold cache.
        let run = await TestSupport.run([TestSupport.highwater, "run", "--out", out, Self.scenario], timeoutNs: 1_800_000_000_000)
        // 0, or 1 when one of the scenario's own expectations failed: judged below, figure by figure.
        try #require(run.termination == .exited(0) || run.termination == .exited(1), "\(run.termination):\n\(run.stderr.suffix(6000))")
        let results = try ResultsLoader.load(resultsDirectory: out)
        let runs = results.runs.map(\.summary)
        #expect(runs.count == 7 && runs.allSatisfy { $0.run_error == nil && $0.child_exit == "exit 0" }, "\(runs.map { ($0.config, $0.run_error, $0.child_exit) })")
        func route(_ path: String) -> [RunSummary] { runs.filter { $0.configuration?.workload == path } }

        // The cache: a leak, whose top retained site is the insert, by its demangled Swift name.
        let cache = route("/cache")
        #expect(cache.count == 2)
        for s in cache {
            #expect(s.growth.classification == .linear, "\(s.config): \(s.growth.classification) \(s.growth.finding ?? "")")
            let top = try #require(s.allocation_sites?.first, "\(s.config): no allocation sites")
            #expect(top.site.hasPrefix("custom_handler.ResponseCache.insert(_: Swift.Array<Swift.UInt8>, for: Swift.Int)"), "\(s.config): top site \(top.site)")
            #expect(top.retained_bytes > 0 && s.growth.finding?.contains("ResponseCache.insert") == true, "\(s.growth.finding ?? "")")
        }

        // JSON decoding keeps nothing per request once started: whatever its label, it holds a small fraction of what
        // the cache holds per request (16 KiB by construction). Its first requests fill the Swift runtime's metadata
        // caches and the allocator's arenas; over 30 s at one thread that rise ends after about 1,500 requests (7.5 s)
        // and RSS then stays within 0.1 MiB, but inside the 10 s this scenario allows it can still read as linear on
        // a loaded machine (seen in CI under load: 538 B and 974 B per request). So the test holds the reason, not
        // the label: under a quarter of the cache's bytes per request, with the arenas' figures behind the verdict.
        let json = route("/json")
        #expect(json.count == 2)
        let cachePerRequest = cache.map(\.growth.slope_bytes_per_request).min() ?? 0
        #expect(cachePerRequest > Double(8 << 10), "the cache kept \(cachePerRequest) B per request")
        for s in json {
            #expect(s.growth.slope_bytes_per_request < cachePerRequest / 4,
                    "\(s.config): \(s.growth.slope_bytes_per_request) B per request against the cache's \(cachePerRequest): \(s.growth.finding ?? "")")
            #expect(s.arenas_max.map { $0 >= 1 } == true && s.arena_high_water?.isEmpty == false, "\(s.config): arenas \(s.arenas_max ?? -1)")
        }

        // Per-request heap deltas, from the agent preloaded into the user's host.
        for s in runs {
            let lines = try FileTree.readText("\(out)/custom-handler/\(s.run_id)/requests.jsonl").split(separator: "\n")
            #expect(lines.count >= s.requests && !lines.isEmpty)
            let records = lines.map { try? RecordCoding.decode(RequestRecord.self, from: Array($0.utf8)) }
            #expect(records.allSatisfy { $0?.heap_live_delta != nil && $0?.heap_in_use_after != nil && $0?.status == 200 },
                    "\(s.config): \(lines.first ?? "")")
            #expect(records.first??.route == s.configuration?.workload)
        }

        // The built-in host is the same code path: a built-in workload's records have the same fields as a handler's.
        let builtIn = TestSupport.makeTemporaryDirectory("hw-builtin-fields")
        defer { TestSupport.removeTree(builtIn) }
        let plan = RunPlan(scenario: "fields", config: "alloc-churn", executor: .init(kind: "fixed", size: 2),
                           workload: .init(name: "alloc-churn"), load: .init(requests: 20, concurrency: 2))
        let session = RunSession(outDirectory: builtIn, executable: TestSupport.highwater, showProgress: false, version: "test")
        let own = try #require(try await session.run([plan]).first)
        func fields(_ path: String) throws -> Set<String> {
            let first = try #require(try FileTree.readText(path).split(separator: "\n").first)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any])
            return Set(object.keys)
        }
        let builtInFields = try fields("\(builtIn)/fields/\(own.run_id)/requests.jsonl")
        let handlerFields = try fields("\(out)/custom-handler/\(try #require(json.first).run_id)/requests.jsonl")
        #expect(builtInFields == handlerFields && builtInFields.contains("heap_live_delta"), "built-in \(builtInFields.sorted()), handler \(handlerFields.sorted())")

        // The report, as for built-in runs, and the fix ranking of the blocking route from the same run.
        for file in ["index.html", "report.md", "junit.xml"] {
            #expect(((try? Syscall.status(out + "/" + file))?.st_size ?? 0) > 0, "\(file) not written")
        }
        let model = ReportModel(results)
        let ranking = try #require(model.scenarios.first?.rankings.first { $0.workload == "/resize" })
        #expect(ranking.rows.count == 3)
        // Independently of the ranking's own choice: the fastest run's requests/s, and the lowest steady RSS among the
        // runs that kept nine tenths of it.
        let fastest = try #require(ranking.rows.map(\.throughput).max())
        let expected = try #require(ranking.rows.filter { $0.throughput >= 0.9 * fastest }.min { $0.steadyRSS < $1.steadyRSS })
        #expect(ranking.bestKeepingThroughput?.config == expected.config)
        let markdown = try FileTree.readText(out + "/report.md")
        #expect(markdown.contains("### Fixes ranked: /resize at concurrency 8"))
        let named = markdown.split(separator: "\n").contains { line in
            (line.contains("Best fix for /resize") || line.contains("Best that keeps the throughput")) && line.contains("‘\(expected.config)’")
        }
        #expect(named, "the findings do not name \(expected.config): \(markdown.prefix(3000))")
    }

    @Test("a command that is not a Highwater host, and a package that does not build: each configuration a run_error naming it, exit 3")
    func badHosts() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-bad-host")
        defer { TestSupport.removeTree(dir) }
        // /bin/true exits at once: both configurations are tried, each says what it started and what a host is.
        try FileTree.writeAtomically("""
            name: not-a-host
            host: {command: /bin/true}
            executor: {kind: fixed}
            workload: {name: /work}
            load: {requests: 10}
            sweep: {executor.size: [1, 2]}
            """, to: dir + "/not-a-host.yaml")
        let run = await TestSupport.run([TestSupport.highwater, "run", "--out", dir + "/out", dir + "/not-a-host.yaml"])
        #expect(run.termination == .exited(3), "\(run.termination)")
        let runs = try ResultsLoader.load(resultsDirectory: dir + "/out").runs.map(\.summary)
        #expect(runs.count == 2 && runs.allSatisfy { $0.run_error?.contains("the host /bin/true ended with exit 0 before it listened") == true && $0.run_error?.contains("Host.main") == true },
                "\(runs.map(\.run_error))")

        // A package whose code does not compile: the compiler's error on the terminal, and exit 3.
        try FileTree.createDirectory(dir + "/broken/Sources/broken")
        try FileTree.writeAtomically("""
            // swift-tools-version: 6.2
            import PackageDescription
            let package = Package(name: "broken", targets: [.executableTarget(name: "broken")])
            """, to: dir + "/broken/Package.swift")
        try FileTree.writeAtomically("let x: Int = \"not a number\"\n", to: dir + "/broken/Sources/broken/main.swift")
        try FileTree.writeAtomically("""
            name: broken-host
            host: {package: broken, product: broken}
            executor: {kind: fixed, size: 1}
            workload: {name: /work}
            load: {requests: 10}
            """, to: dir + "/broken.yaml")
        let build = await TestSupport.run([TestSupport.highwater, "run", "--out", dir + "/out2", dir + "/broken.yaml"], timeoutNs: 600_000_000_000)
        #expect(build.termination == .exited(3), "\(build.termination)")
        #expect((build.stdout + build.stderr).contains("error: cannot convert value of type 'String'"), "\(build.stdout.suffix(2000)) \(build.stderr.suffix(2000))")
        #expect(build.stderr.contains("broken-host/default: `swift build -c release --package-path \(dir)/broken --product broken` failed"), "\(build.stderr.suffix(2000))")
    }
}
