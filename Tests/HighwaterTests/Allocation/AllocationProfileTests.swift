@preconcurrency import Glibc
import HighwaterHarness
import HighwaterProbes
import HighwaterRecords
import HighwaterReports
import HighwaterSystem
import Testing
import HighwaterWorkloads

/// The agent's sampled stacks from real `highwater host` children, named after the run from the child's memory
/// map and the binaries' symbol tables, in every-allocation and in sampled mode.
@Suite("Allocation profiles of hosted runs", .serialized)
struct AllocationProfileTests {
    static let agentBuilt = AgentPreload.library(besideExecutable: TestSupport.highwater) != nil

    struct Profile {
        var summary: RunSummary
        /// The HTML report of the run's results directory.
        var html: String
        var sites: [AllocationSite]
        var retainedFolded: String
        var allocFolded: String
        var pprof: [UInt8]
    }

    static func profile(requests: Int, sampleBytes: String) async throws -> Profile {
        let out = TestSupport.makeTemporaryDirectory("hw-profile")
        defer { TestSupport.removeTree(out) }
        var plan = RunPlan(scenario: "test", config: "leak", executor: .init(kind: "fixed", size: 2),
                           workload: .init(name: "leak", options: [:]),
                           environment: ["HIGHWATER_AGENT_SAMPLE_BYTES": sampleBytes],
                           load: .init(requests: requests, concurrency: 2), sampleIntervalNs: 10_000_000)
        // A leak of 64 KiB a request in a fraction of a second: judged on its requests, without the minimum of time
        // an allocator's return of memory needs (this is glibc's, and nothing is freed).
        plan.minimums = GrowthMinimums(seconds: 0)
        let session = RunSession(outDirectory: out, executable: TestSupport.highwater, showProgress: false, version: "test")
        let s = try #require(try await session.run([plan]).first)
        #expect(s.errors == 0 && s.child_exit == "exit 0", "\(s.notes ?? [])")
        let dir = "\(out)/test/\(s.run_id)"
        #expect(access(dir + "/" + AgentPreload.eventsFile, F_OK) != 0, "the raw events are removed once the profiles are written")
        try FileTree.writeAtomically(try RecordCoding.document(ResultsSummary(highwater_version: "test", runs: [s])), to: out + "/summary.json")
        let html = HTMLReport.render(ReportModel(try ResultsLoader.load(resultsDirectory: out)))
        return Profile(summary: s, html: html,
                       sites: RecordCoding.lines(AllocationSite.self, from: try FileTree.readBytes(dir + "/alloc-sites.jsonl")),
                       retainedFolded: try FileTree.readText(dir + "/retained.folded"),
                       allocFolded: try FileTree.readText(dir + "/alloc.folded"),
                       pprof: try FileTree.readBytes(dir + "/profile.pb.gz"))
    }

    /// The leak workload keeps one malloc of 64 KiB per request (its default), whose usable size is 65 544 bytes.
    static let leakedPerRequest = 65_544.0

    @Test("every allocation: the leak's function holds the top retained site, its bytes within 10% of what leaked",
          .enabled(if: agentBuilt, "libHighwaterAgent.so is not built beside highwater"))
    func everyAllocation() async throws {
        let requests = 60
        let p = try await Self.profile(requests: requests, sampleBytes: "0")
        let top = try #require(p.sites.first)
        #expect(top.site == "hw_leak", "\(p.sites.prefix(3))")
        // The caller that leaks, by its demangled Swift name.
        #expect(top.stack?.contains { $0.contains("ComputeWorkload.run()") } == true, "\(top.stack ?? [])")
        let leaked = Self.leakedPerRequest * Double(requests)
        #expect(abs(Double(top.retained_bytes) - leaked) <= 0.1 * leaked, "retained \(top.retained_bytes) of \(leaked)")
        #expect(top.retained_count == UInt64(requests))
        // Each request kept its own block: the samples say which, every one of them from the first to the last.
        #expect(top.retained_requests == requests && top.retained_requests_first == 0 && top.retained_requests_last == requests - 1, "\(top)")
        #expect(p.retainedFolded.contains("ComputeWorkload.run() -> ();hw_leak "), "\(p.retainedFolded.prefix(2000))")
        #expect(!p.allocFolded.isEmpty)
    }

    @Test("a leak's verdict names the site that leaks, and the report shows the sites and the retained flame graph",
          .enabled(if: agentBuilt, "libHighwaterAgent.so is not built beside highwater"))
    func leakNamed() async throws {
        // 200 requests of 64 KiB: 12.5 MiB of growth, well past the evidence a verdict needs.
        let p = try await Self.profile(requests: 200, sampleBytes: "0")
        #expect(p.summary.growth.classification == .linear, "\(p.summary.growth)")
        #expect(p.summary.allocation_sites?.first?.site == "hw_leak", "\(p.summary.allocation_sites ?? [])")
        let finding = p.summary.growth.finding ?? ""
        #expect(finding.contains("The leak, by the allocation samples: hw_leak under HighwaterWorkloads.ComputeWorkload.run() -> () retains 64 KiB per request"), "\(finding)")
        #expect(finding.contains("64 KiB per request"), "\(finding)")
        #expect(finding.contains("from 200 samples, allocated in 200 different requests, #0 to #199"), "\(finding)")
        // The advice starts from the site it named, not from how to find one.
        #expect(p.summary.growth.advice?.hasPrefix("Start with hw_leak (called from HighwaterWorkloads.ComputeWorkload.run() -> ())") == true,
                "\(p.summary.growth.advice ?? "")")
        #expect(p.html.contains("Who holds the memory (allocation samples)"))
        #expect(p.html.contains("<code>hw_leak</code>"))
        // The flame graph of what was retained: a frame for the leaking function, with its bytes in the tooltip.
        #expect(p.html.contains("Retained heap at the end, by stack"))
        #expect(p.html.contains("<title>hw_leak: 12"), "\(p.html.count) characters of HTML")
    }

    /// Sampled at one allocation per 64 KiB on average, a 64 KiB block is sampled with p = 1 - e^-1 = 0.63 and
    /// stands for 1/p blocks; over n requests the estimate's relative standard deviation is sqrt((1-p)/(n p)),
    /// 2.7% for n = 800, so 10% is 3.7 standard deviations: it fails about once in 5 000 runs.
    @Test("sampled: the same site, its retained bytes scaled back to within 10% of what leaked",
          .enabled(if: agentBuilt, "libHighwaterAgent.so is not built beside highwater"))
    func sampled() async throws {
        let requests = 800
        let p = try await Self.profile(requests: requests, sampleBytes: "65536")
        let top = try #require(p.sites.first)
        #expect(top.site == "hw_leak", "\(p.sites.prefix(3))")
        let leaked = Self.leakedPerRequest * Double(requests)
        #expect(abs(Double(top.retained_bytes) - leaked) <= 0.1 * leaked, "retained \(top.retained_bytes) of \(leaked)")
        #expect(top.samples < requests, "sampled, not every block")
        // A request leaks one block: each retained sample is a different request's.
        #expect(top.retained_requests == top.samples, "\(top)")
    }

    static let go = TestSupport.which("go")

    @Test("go tool pprof, a reader nobody here wrote, opens profile.pb.gz and puts the leak at the top of inuse_space",
          .enabled(if: agentBuilt, "libHighwaterAgent.so is not built beside highwater"),
          .enabled(if: go != nil, "go is absent (Debian golang-go; make test installs it)"))
    func readByGoPprof() async throws {
        let p = try await Self.profile(requests: 20, sampleBytes: "0")
        let dir = TestSupport.makeTemporaryDirectory("hw-pprof")
        defer { TestSupport.removeTree(dir) }
        try FileTree.writeAtomically(p.pprof, to: dir + "/profile.pb.gz")
        var environment = ProcessEnvironment.current
        environment["HOME"] = dir  // pprof keeps its settings under $HOME
        let r = await TestSupport.run([Self.go!, "tool", "pprof", "-top", "-sample_index=inuse_space", dir + "/profile.pb.gz"],
                                      environment: environment)
        #expect(r.termination == .exited(0), "\(r.stderr)")
        // The rows after the header: flat, flat%, sum%, cum, cum%, name.
        let rows = r.stdout.split(separator: "\n").drop { !$0.contains("flat%") }.dropFirst()
        let top = try #require(rows.first, "\(r.stdout)")
        #expect(top.hasSuffix(" hw_leak"), "\(r.stdout)")
    }
}
