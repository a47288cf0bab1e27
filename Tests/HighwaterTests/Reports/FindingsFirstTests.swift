@preconcurrency import Glibc
import FoundationEssentials
import HighwaterRecords
@testable import HighwaterReports
import HighwaterSynthetic
import HighwaterSystem
import Testing

/// The report answers first: findings per scenario, the contents, the runs by severity; verdicts and expectations
/// apart; failed requests in the badge; Markdown within a pull-request comment.
@Suite("Findings first")
struct FindingsFirstTests {
    @Test("findings come before the contents and the runs, name the leak as the leak, and the runs are ordered by severity")
    func findingsFirst() throws {
        let (dir, _) = try ReportTests.makeResults()
        defer { TestSupport.removeTree(dir) }
        let (html, markdown) = try ReportWriter.write(resultsDirectory: dir)
        let findings = try #require(html.firstRange(of: "id=\"findings\""))
        let contents = try #require(html.firstRange(of: "<nav id=\"contents\""))
        let runs = try #require(html.firstRange(of: "id=\"runs\""))
        let firstScenario = try #require(html.firstRange(of: "<section class=\"scenario\""))
        #expect(findings.lowerBound < contents.lowerBound && contents.lowerBound < runs.lowerBound && runs.lowerBound < firstScenario.lowerBound)
        let findingsText = html[findings.lowerBound..<contents.lowerBound]
        #expect(findingsText.contains("<li class=\"finding-grows\">Leak: ‘<a href=\"#run--leak--leak-64k\">leak-64k</a>’ grew"))
        #expect(findingsText.contains("Plateau (grew, then stopped: not a leak): ‘<a href=\"#run--threadpool-growth--lazy-16\">lazy-16</a>’"))
        #expect(html.contains("id=\"run--leak--leak-64k\""))
        // The runs table: the leak, then the plateau, then the stable pool of one.
        let table = html[runs.lowerBound..<firstScenario.lowerBound]
        let order = ["leak-64k", "lazy-16", "fixed-1"].map { table.firstRange(of: ">\($0)</a>")?.lowerBound }
        #expect(order.allSatisfy { $0 != nil } && order[0]! < order[1]! && order[1]! < order[2]!, "\(order)")
        // Memory verdict and expectations in their own columns: the leak's failed expectation beside its badge.
        #expect(table.contains("<span class=\"verdict v-linear\">leak</span></td><td class=\"l\"><span class=\"fail\">1 of 1 failed: growth is not linear (observed linear)</span>"))
        #expect(markdown.firstRange(of: "## Findings")!.lowerBound < markdown.firstRange(of: "## Runs by severity")!.lowerBound)
        #expect(markdown.contains("- 📈 Leak: ‘leak-64k’ grew"))
        #expect(markdown.contains("<details><summary>Each configuration's finding"))
    }

    @Test("each scenario has one overlay chart of every configuration's RSS over requests, labelled with its threads and arenas")
    func overlay() throws {
        let (dir, summary) = try ReportTests.makeResults()
        defer { TestSupport.removeTree(dir) }
        let (html, _) = try ReportWriter.write(resultsDirectory: dir)
        for scenario in Set(summary.runs.map(\.scenario)) {
            let start = try #require(html.firstRange(of: "<section class=\"scenario\" id=\"scenario--\(scenario)\""))
            let section = html[start.lowerBound...].prefix { _ in true }
            let end = section.firstRange(of: "</section>\n<section class=\"scenario\"")?.lowerBound ?? section.endIndex
            let body = section[..<end]
            #expect(body.contains("aria-label=\"\(scenario): RSS over requests, every configuration\""), "\(scenario)")
            for run in summary.runs where run.scenario == scenario {
                // The label is escaped as any text in SVG is: glibc's cap becomes glibc&#39;s cap.
                let label = Markup.escape(run.growth.label ?? run.growth.classification.rawValue)
                #expect(body.contains("<title>\(run.config): \(label), \(run.threads_max) threads, "), "\(run.config)")
            }
        }
    }

    @Test("a request figure past Int64 (a torn tcmalloc reading: 2^64 - 269712) is written clamped; the report does not trap")
    func figurePastInt64() throws {
        let (dir, summary) = try ReportTests.makeResults(requests: 50)
        defer { TestSupport.removeTree(dir) }
        let run = try #require(summary.runs.first)
        let path = "\(dir)/\(run.scenario)/\(run.run_id)/requests.jsonl"
        var lines = try FileTree.readText(path).split(separator: "\n").map(String.init)
        lines[1] = lines[1].replacing(/"heap_in_use_before":\d+/, with: "\"heap_in_use_before\":18446744073709281904")
        try FileTree.writeAtomically(lines.joined(separator: "\n") + "\n", to: path)
        _ = try ReportWriter.write(resultsDirectory: dir)
        let csv = try FileTree.readText("\(dir)/\(run.scenario)/\(run.run_id)/requests.csv")
        #expect(csv.contains(",\(Int64.max),"), "\(csv.prefix(400))")
    }

    @Test("a failed request is in the badge; a signal Highwater sent to stop a target is not a crash")
    func badges() throws {
        var requests = RequestColumns()
        for k in 0..<16 {
            requests.index.append(k); requests.tid.append(1); requests.startNs.append(0); requests.endNs.append(1)
            requests.status.append(k % 2 == 0 ? 507 : 200); requests.rssBefore.append(0); requests.rssAfter.append(0)
            requests.heapBefore.append(0); requests.heapAfter.append(0)
        }
        var summary = RunSummary(scenario: "record", run_id: "02-post-upload", config: "02-post-upload")
        summary.requests = 16
        summary.growth.classification = .stable
        summary.child_exit = "signal 15 (SIGTERM)"
        let run = RunData(summary: summary, directory: "/nonexistent", requests: requests, samples: SampleColumns())
        #expect(RequestFailures(run).text == "8 of 16 answered 507")
        #expect(Diagnosis.of(run, facts: RunFacts(run)).failures == "8 of 16 answered 507")
        let stopped = try #require(ProcessEnd.sentence(summary))
        #expect(stopped.text.hasPrefix("Stopped by Highwater") && !stopped.failed)
        summary.growth.classification = .crashed
        summary.child_exit = "signal 11 (SIGSEGV)"
        #expect(ProcessEnd.sentence(summary)?.failed == true)
    }

    /// `count` runs over `scenarios` scenarios, a leak, a plateau and a stable pool in turn.
    static func manyRuns(_ count: Int, scenarios: Int, requests: Int, name: String) -> [SyntheticResults.RunSpec] {
        (0..<count).map { k in
            SyntheticResults.RunSpec(scenario: "scenario-\(k % scenarios)", config: name + String(k),
                                     shape: k % 3 == 0 ? .leak(perRequest: 16 << 10) : k % 3 == 1 ? .plateau(threads: 8, perThread: 4 << 20) : .stable,
                                     requests: requests)
        }
    }

    @Test("report.md stays within 60,000 characters however many runs: details fold, then leave, largest first")
    func markdownBudget() throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-report-budget")
        defer { TestSupport.removeTree(dir) }
        try SyntheticResults.write(directory: dir, runs: Self.manyRuns(240, scenarios: 8, requests: 120, name: "configuration-with-a-long-name-"))
        let model = ReportModel(try ResultsLoader.load(resultsDirectory: dir))
        let unbounded = MarkdownReport.render(model, budget: .max)
        let markdown = MarkdownReport.render(model)
        // Without the budget this report would not fit a comment: the test can fail.
        #expect(unbounded.count > MarkdownReport.budget, "\(unbounded.count) characters unbounded")
        #expect(markdown.count <= MarkdownReport.budget, "\(markdown.count) characters")
        #expect(markdown.contains("## Findings") && markdown.contains("## Runs by severity"))
        print("report.md of 240 runs: \(markdown.count) characters (\(unbounded.count) unbounded)")
    }

    @Test("a page of 90 runs of 3,000 requests each stays under 2 MB: long series are drawn from min/max buckets")
    func pageBudget() throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-report-page-budget")
        defer { TestSupport.removeTree(dir) }
        try SyntheticResults.write(directory: dir, runs: Self.manyRuns(90, scenarios: 6, requests: 3000, name: "configuration-"))
        let (html, _) = try ReportWriter.write(resultsDirectory: dir)
        try? FileTree.createDirectory(RealRunReportTests.artifacts)
        try? FileTree.writeAtomically(Array(html.utf8), to: RealRunReportTests.artifacts + "/report-90-runs.html")
        #expect(html.utf8.count <= 2_000_000, "\(html.utf8.count) bytes (.build/test-artifacts/report-90-runs.html)")
        // Each series keeps its extremes: the leak's last (highest) reading is drawn.
        #expect(html.contains("RSS over requests"))
        print("index.html of 90 runs of 3000 requests: \(html.utf8.count) bytes")
    }

    @Test("junit.xml carries each run's real duration")
    func junitDurations() throws {
        let (dir, _) = try ReportTests.makeResults(requests: 500)
        defer { TestSupport.removeTree(dir) }
        try ReportWriter.write(resultsDirectory: dir)
        let junit = ReportTests.read(dir + "/junit.xml")
        let times = junit.matches(of: /time="([0-9.]+)"/).compactMap { Double($0.1) }
        // 500 requests at 2,000 a second: a quarter of a second each.
        #expect(times.contains { $0 >= 0.2 && $0 <= 0.3 }, "\(times)")
    }
}
