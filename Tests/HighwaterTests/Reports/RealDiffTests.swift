@preconcurrency import Glibc
import FoundationEssentials
import HighwaterRecords
import HighwaterReports
import HighwaterSystem
import Testing

/// `highwater diff` of two real runs of a leak, 100 and 300 requests, every allocation recorded: the site whose retained
/// bytes grew most is the one `go tool pprof -top -diff_base` puts first.
@Suite("Diff of two real runs")
struct RealDiffTests {
    static let scenario = """
        name: diff-leak
        executor: {kind: eager, size: 2}
        workload: {name: leak}
        environment: {HIGHWATER_AGENT_SAMPLE_BYTES: "0"}
        load: {requests: 100, concurrency: 1}
        """

    static let go = TestSupport.which("go")

    @Test("the site diff's top line is pprof's", .enabled(if: go != nil, "go is absent (Debian golang-go; make test installs it)"))
    func siteDiffAgreesWithPprof() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-real-diff")
        defer { TestSupport.removeTree(dir) }
        try FileTree.writeAtomically(Array(Self.scenario.utf8), to: dir + "/diff-leak.yaml")
        for (out, n) in [("a", 100), ("b", 300)] {
            let r = await TestSupport.run([TestSupport.highwater, "run", "--requests", String(n), "--out", dir + "/" + out, dir + "/diff-leak.yaml"],
                                          timeoutNs: 300_000_000_000)
            try #require(r.termination == .exited(0), "\(r.stdout)\n\(r.stderr)")
        }
        let c = try ResultsComparison(before: dir + "/a", after: dir + "/b")
        let top = try #require(c.configurations.first?.sites.first, "no allocation sites in \(dir)")
        #expect(top.change > 0)
        let runA = try RecordCoding.decode(ResultsSummary.self, from: FileTree.readBytes(dir + "/a/summary.json")).runs[0]
        let runB = try RecordCoding.decode(ResultsSummary.self, from: FileTree.readBytes(dir + "/b/summary.json")).runs[0]
        var environment = ProcessEnvironment.current
        environment["HOME"] = dir  // pprof keeps its settings under $HOME
        let pprof = await TestSupport.run([Self.go!, "tool", "pprof", "-top", "-sample_index=inuse_space",
                                           "-diff_base", dir + "/a/diff-leak/\(runA.run_id)/profile.pb.gz", dir + "/b/diff-leak/\(runB.run_id)/profile.pb.gz"],
                                          environment: environment)
        #expect(pprof.termination == .exited(0), "\(pprof.stderr)")
        let rows = pprof.stdout.split(separator: "\n").drop { !$0.contains("flat%") }.dropFirst()
        let first = try #require(rows.first, "\(pprof.stdout)")
        #expect(first.hasSuffix(" " + top.site), "pprof: \(first); diff: \(top.site) \(top.change)")
        print("site diff: \(top.site) \(Quantity.formatBytes(top.before)) -> \(Quantity.formatBytes(top.after)); pprof -top -diff_base: \(first)")
    }
}
