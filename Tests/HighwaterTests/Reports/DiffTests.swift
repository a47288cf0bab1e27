@preconcurrency import Glibc
import FoundationEssentials
import HighwaterRecords
import HighwaterReports
import HighwaterSynthetic
import HighwaterSystem
import Testing

/// `highwater diff A B` and `check --baseline`: two results directories side by side, what moved beyond the noise,
/// and the allocation sites that moved, as `go tool pprof -diff_base` sees them.
@Suite("Diff of two results")
struct DiffTests {
    /// A pool whose threads each keep `perThread`, a pool of one, and a leak of `leak` per request.
    static func write(_ dir: String, perThread: UInt64, leak: UInt64, version: String? = nil) throws {
        try SyntheticResults.write(directory: dir, runs: [
            .init(scenario: "diff-pool", config: "lazy-16", shape: .plateau(threads: 16, perThread: perThread), requests: 2000),
            .init(scenario: "diff-pool", config: "fixed-1", shape: .stable, requests: 2000),
            .init(scenario: "diff-leak", config: "leak", shape: .leak(perRequest: leak), requests: 2000),
        ])
        if let version {
            var summary = try RecordCoding.decode(ResultsSummary.self, from: FileTree.readBytes(dir + "/summary.json"))
            summary.highwater_version = version
            try FileTree.writeAtomically(try RecordCoding.document(summary), to: dir + "/summary.json")
        }
    }

    @Test("the smaller pool is better, the unchanged pool of one unchanged, the larger leak worse, each figure with its ratio")
    func flagsBetterWorseAndUnchanged() throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-diff")
        defer { TestSupport.removeTree(dir) }
        try Self.write(dir + "/a", perThread: 25 << 20, leak: 64 << 10)
        try Self.write(dir + "/b", perThread: 5 << 20, leak: 128 << 10)
        let c = try ResultsComparison(before: dir + "/a", after: dir + "/b")
        let byName = Dictionary(uniqueKeysWithValues: c.configurations.map { ($0.name, $0) })
        #expect(byName["diff-pool/lazy-16"]?.change == .better)
        #expect(byName["diff-pool/fixed-1"]?.change == .unchanged)
        #expect(byName["diff-leak/leak"]?.change == .worse)
        let steady = try #require(byName["diff-pool/lazy-16"]?.deltas.first { $0.figure == .steadyRSS })
        #expect(steady.after < steady.before && (steady.ratio ?? 1) < 0.6)
        let terminal = ComparisonReport.terminal(c)
        #expect(terminal.contains("1 better, 1 worse, 1 unchanged"))
        #expect(ComparisonReport.markdown(c).contains("| diff-pool/lazy-16 | 🟢 better |"))
        #expect(ComparisonReport.html(c).contains("<td class=\"l better\">better</td>"))
        // Reversed, the pool is worse: what check --baseline fails, naming the configuration and the figure.
        let reversed = try ResultsComparison(before: dir + "/b", after: dir + "/a")
        let lines = ComparisonReport.regressions(reversed).map(\.line)
        #expect(lines.contains { $0.hasPrefix("diff-pool/lazy-16: steady RSS") }, "\(lines)")
        #expect(!lines.contains { $0.hasPrefix("diff-pool/fixed-1") })
    }

    @Test("not a results directory, different versions, nothing in common: a clear error, exit 2")
    func badInput() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-diff-bad")
        defer { TestSupport.removeTree(dir) }
        try Self.write(dir + "/a", perThread: 25 << 20, leak: 64 << 10)
        try Self.write(dir + "/old", perThread: 25 << 20, leak: 64 << 10, version: "0.0.1")
        try SyntheticResults.write(directory: dir + "/other", runs: [.init(scenario: "elsewhere", config: "x", shape: .stable, requests: 200)])
        try FileTree.createDirectory(dir + "/empty")
        for (b, says) in [(dir + "/empty", "summary.json is missing"), (dir + "/old", "different"), (dir + "/other", "no configuration in common")] {
            let r = await TestSupport.run([TestSupport.highwater, "diff", dir + "/a", b])
            #expect(r.termination == .exited(2), "\(b): \(r.termination) \(r.stderr)")
            #expect(r.stderr.contains(says) || (says == "different" && r.stderr.contains("0.0.1")), "\(r.stderr)")
        }
    }

    @Test("check --baseline exits 1 when a configuration got worse, naming it and the figure; 0 when it got better")
    func checkBaseline() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-baseline")
        defer { TestSupport.removeTree(dir) }
        for (name, perThread) in [("small", UInt64(4 << 20)), ("large", UInt64(24 << 20))] {
            try SyntheticResults.write(directory: dir + "/" + name, runs: [
                .init(scenario: "baseline-pool", config: "lazy-16", shape: .plateau(threads: 16, perThread: perThread), requests: 1000),
                .init(scenario: "baseline-pool", config: "fixed-1", shape: .stable, requests: 1000),
            ])
        }
        let worse = await TestSupport.run([TestSupport.highwater, "check", "--results", dir + "/large", "--baseline", dir + "/small", "--tolerance", "10%"])
        #expect(worse.termination == .exited(1), "\(worse.stdout)\n\(worse.stderr)")
        #expect(worse.stderr.contains("FAILED baseline-pool/lazy-16: steady RSS"), "\(worse.stderr)")
        #expect(!worse.stderr.contains("baseline-pool/fixed-1"))
        let better = await TestSupport.run([TestSupport.highwater, "check", "--results", dir + "/small", "--baseline", dir + "/large"])
        #expect(better.termination == .exited(0), "\(better.stdout)\n\(better.stderr)")
        let diff = await TestSupport.run([TestSupport.highwater, "diff", dir + "/small", dir + "/large", "--markdown", dir + "/diff.md", "--html", dir + "/diff.html"])
        #expect(diff.termination == .exited(0), "\(diff.stderr)")
        #expect(diff.stdout.contains("WORSE     baseline-pool/lazy-16"), "\(diff.stdout)")
        #expect(((try? FileTree.readText(dir + "/diff.md")) ?? "").contains("🔴 worse"))
    }
}
