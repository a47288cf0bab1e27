@preconcurrency import Glibc
import HighwaterRecords
import HighwaterSessions
import HighwaterSynthetic
import HighwaterSystem
import Testing

/// `check`'s and `diff`'s sessions driven in process over results written by HighwaterSynthetic (a leak, a stable
/// pool) and a scenario file whose expectations one of them breaks.
@Suite("The check and diff sessions, in process")
struct CheckSessionTests {
    static let scenario = """
        name: session-check
        executor: {kind: eager, size: 2}
        load: {requests: 400, concurrency: 1}
        sweep:
          workload.name: [leak, alloc-churn]
        expect:
          - {that: growth.classification == linear, where: {config: leak}}
          - {that: growth.classification != linear, where: {config: alloc-churn}}
          - {that: rss_growth < 1 MiB, where: {config: leak}}
        """

    /// A results directory of two configurations of `session-check` (a 64 KiB-per-request leak, carrying the synthetic
    /// writer's own expectation that growth is not linear, and a stable pool), and the scenario file that judges them.
    static func results(in dir: String) throws -> (results: String, scenario: String) {
        let results = dir + "/results"
        try SyntheticResults.write(directory: results, runs: [
            .init(scenario: "session-check", config: "leak", shape: .leak(perRequest: 64 << 10), requests: 400),
            .init(scenario: "session-check", config: "alloc-churn", shape: .stable, requests: 400),
        ])
        try FileTree.writeAtomically(Array(scenario.utf8), to: dir + "/session-check.yaml")
        return (results, dir + "/session-check.yaml")
    }

    @Test("stored results against a scenario's expectations: every case evaluated, the broken one failed, JUnit and Markdown written")
    func expectationsOverStoredResults() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-check-session")
        defer { TestSupport.removeTree(dir) }
        let (results, scenario) = try Self.results(in: dir)
        var spec = CheckSession.Spec()
        spec.scenarios = [scenario]
        spec.results = results
        spec.junit = dir + "/junit.xml"
        spec.markdown = dir + "/check.md"
        #expect(spec.problems().isEmpty)
        let lines = SampleSessionTests.Lines()
        let cases = try await CheckSession(spec, say: lines.say).run()
        #expect(cases.count == 3, "\(cases)")
        #expect(cases.allSatisfy { $0.suite == "session-check" })
        let failed = cases.filter { !$0.passed }
        #expect(failed.count == 1 && failed.first?.name == "leak: rss_growth < 1 MiB where config = leak", "\(failed)")
        #expect(cases.contains { $0.passed && $0.name == "leak: growth.classification == linear where config = leak" }, "\(cases)")
        #expect(lines.all == ["2 of 3 checks hold; 1 failed"], "\(lines.all)")
        let junit = try FileTree.readText(dir + "/junit.xml")
        #expect(junit == CheckCase.junit(cases))
        #expect(junit.contains("<testsuites name=\"highwater check\" tests=\"3\" failures=\"1\">"), "\(junit)")
        #expect(junit.ranges(of: "<failure message=").count == 1, "\(junit)")
        let markdown = try FileTree.readText(dir + "/check.md")
        #expect(markdown.hasPrefix("## highwater check: 1 of 3 failed ❌"), "\(markdown)")
        // The failed row first, for a reader of a CI summary.
        #expect(markdown.split(separator: "\n").dropFirst(3).first?.hasPrefix("| ❌ | session-check: leak: rss_growth < 1 MiB") == true, "\(markdown)")
    }

    @Test("results against themselves as the baseline: every configuration holds; a limits file that cannot hold fails")
    func baselineAndLimits() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-check-session-baseline")
        defer { TestSupport.removeTree(dir) }
        let (results, _) = try Self.results(in: dir)
        var spec = CheckSession.Spec()
        spec.results = results
        spec.baseline = results
        spec.limits = [UvicornApp.packageRoot + "/examples/limits-threadpool-40.yaml"]
        let cases = try await CheckSession(spec, say: { _ in }).run()
        let compared = cases.filter { $0.suite == "baseline \(results)" }
        #expect(Set(compared.map(\.name)) == ["session-check/leak", "session-check/alloc-churn"], "\(cases)")
        #expect(compared.allSatisfy { $0.passed }, "\(compared)")
        // Without a scenario file, the expectations the runs carry are checked: the leak's breaks.
        #expect(cases.filter { $0.suite == "session-check" }.map(\.name) == ["leak: growth is not linear"], "\(cases)")
        #expect(cases.filter { $0.suite == "session-check" }.allSatisfy { !$0.passed }, "\(cases)")
        // 40 workers x 64 MiB in a 1 GiB container.
        let limits = cases.filter { $0.suite.hasPrefix("limits ") }
        #expect(!limits.isEmpty && limits.contains { !$0.passed }, "\(limits)")
    }

    @Test("a spec without anything to check, or a baseline without results, says so")
    func problems() {
        #expect(CheckSession.Spec().problems() == ["give scenario files, --results DIR or --limits FILE"])
        var spec = CheckSession.Spec()
        spec.limits = ["limits.yaml"]
        spec.baseline = "base"
        #expect(spec.problems() == ["--baseline compares results: give --results DIR or scenario files to run"])
    }

    @Test("diff: the comparison said and written as HTML; a directory that holds no results is bad input (exit 2)")
    func diff() throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-diff-session")
        defer { TestSupport.removeTree(dir) }
        let (results, _) = try Self.results(in: dir)
        let lines = SampleSessionTests.Lines()
        try DiffSession.run(results, results, tolerance: 0.1, html: dir + "/diff.html", markdown: nil, say: lines.say)
        let said = lines.all.joined()
        #expect(said.contains("session-check/leak") && said.contains("session-check/alloc-churn"), "\(said)")
        #expect(try FileTree.readText(dir + "/diff.html").contains("session-check/leak"))
        #expect {
            try DiffSession.compare(results, dir, tolerance: 0.1)
        } throws: { error in
            (error as? HighwaterFailure)?.exitStatus == 2
        }
    }
}
