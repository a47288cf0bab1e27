import HighwaterHarness
import HighwaterRecords
import HighwaterReports
import HighwaterSystem
import Testing

/// Allocators preloaded in a variant's environment (`LD_PRELOAD`), run for real through `highwater run`.
@Suite("Preloaded allocators", .serialized)
struct PreloadedAllocatorTests {
    static let jemalloc = "libjemalloc.so.2"

    /// A scenario of three configurations: a pool of one, eager-40 on jemalloc, and one that preloads a
    /// library that does not exist.
    static func scenario(missing: String) -> String {
        """
        name: preload
        executor: {kind: eager, size: 1}
        workload: {name: alloc-churn}
        load: {requests: 60, concurrency: 1}
        # A second's run, judged on its requests: the minimum of time is not what this checks.
        verdict: {min_seconds: 0}
        variants:
          - {config: glibc-1}
          - {config: jemalloc-40, executor.size: 40, environment.LD_PRELOAD: \(jemalloc)}
          - {config: missing, environment.LD_PRELOAD: \(missing)}
        """
    }

    @Test("a missing preload names the library and exits 3 for its configuration; jemalloc's arenas are not available, never 0, and its heap is its own count",
          .enabled(if: Preload.resolve(jemalloc) != nil, "needs Debian's libjemalloc2 (scripts/install-deps installs it)"))
    func missingPreloadAndJemalloc() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-preload")
        defer { TestSupport.removeTree(dir) }
        let missing = "/nonexistent/libjemalloc-missing.so.2"
        try FileTree.writeAtomically(Self.scenario(missing: missing), to: dir + "/preload.yaml")
        let r = await TestSupport.run([TestSupport.highwater, "run", "--out", dir + "/out", dir + "/preload.yaml"])
        #expect(r.termination == .exited(3), "\(r.termination): \(r.stderr)")
        #expect((r.stdout + r.stderr).contains(missing), "the error names the library: \(r.stderr)")

        let results = try ResultsLoader.load(resultsDirectory: dir + "/out")
        let byConfig = Dictionary(uniqueKeysWithValues: results.runs.map { ($0.summary.config, $0.summary) })
        let notRun = try #require(byConfig["missing"])
        #expect(notRun.growth.classification == .notRun)
        #expect(notRun.run_error?.contains(missing) == true)

        let glibc = try #require(byConfig["glibc-1"])
        #expect(glibc.requests == 60 && glibc.errors == 0, "the other configurations still run")
        #expect(glibc.allocator == "glibc")
        #expect((glibc.arenas_max ?? 0) >= 1)

        let je = try #require(byConfig["jemalloc-40"])
        #expect(je.requests == 60 && je.errors == 0)
        #expect(je.allocator == "jemalloc")
        #expect(je.arenas_max == nil, "glibc's arena count under jemalloc: \(String(describing: je.arenas_max))")
        // The live heap as jemalloc counts it (mallctl stats.allocated), in the verdict, the samples and the requests.
        #expect(je.growth.evidence?.heap_growth_bytes != nil && je.growth.evidence?.heap_source == "jemalloc", "\(je.growth)")
        let samples = RecordCoding.lines(SampleRecord.self, from: try FileTree.readBytes("\(dir)/out/preload/\(je.run_id)/samples.jsonl"))
        #expect(samples.contains { ($0.heap_in_use ?? 0) > 0 && ($0.heap_system ?? 0) >= ($0.heap_in_use ?? 0) }, "jemalloc's figures in the samples")
        #expect((je.rss_steady ?? 0) > 0 && je.threads_max >= 40, "RSS and threads are still measured")
        #expect(RunFacts.arenasText(je) == "not available (jemalloc)")
        let markdown = try FileTree.readText(dir + "/out/report.md")
        #expect(markdown.contains("not available (jemalloc)"))
        let csv = try FileTree.readText("\(dir)/out/preload/\(je.run_id)/requests.csv").split(separator: "\n")
        #expect(csv.count == 61 && csv.dropFirst().allSatisfy { !$0.split(separator: ",", omittingEmptySubsequences: false)[10].isEmpty },
                "jemalloc's live heap in the heap cells: \(csv.dropFirst().first ?? "")")

        // The fixes ranked by steady RSS, with requests/s from the same run; the run without data is left out.
        let model = ReportModel(results)
        let ranking = try #require(model.scenarios.first?.rankings.first)
        #expect(ranking.concurrency == "1" && ranking.rows.map(\.config).sorted() == ["glibc-1", "jemalloc-40"])
        #expect(ranking.rows.map(\.rssRank) == [1, 2])
        #expect(ranking.rows[0].steadyRSS <= ranking.rows[1].steadyRSS)
        let fastest = try #require(ranking.rows.first { $0.throughputRank == 1 })
        #expect(ranking.rows.allSatisfy { $0.throughput <= fastest.throughput })
        #expect(ranking.rows.first { $0.config == "jemalloc-40" }?.fix.hasPrefix("jemalloc") == true)
        #expect(markdown.contains("### Fixes ranked: alloc-churn at concurrency 1"))
    }
}
