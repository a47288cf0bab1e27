@preconcurrency import Glibc
import FoundationEssentials
import HighwaterRecords
import HighwaterReports
import HighwaterSynthetic
import Testing
import HighwaterSystem

/// Renders reports from synthetic results directories written to disk: a lazy pool filling up
/// (16 threads at 25 MiB each), a pool of one, and a 64 KiB-per-request leak.
@Suite("Reports")
struct ReportTests {
    /// Writes the standard results.
    static func makeResults(requests: Int = 3000) throws -> (dir: String, summary: ResultsSummary) {
        let dir = TestSupport.makeTemporaryDirectory("hw-report")
        let summary = try SyntheticResults.write(directory: dir, runs: SyntheticResults.standard(requests: requests))
        return (dir, summary)
    }

    static func read(_ path: String) -> String {
        (try? FileTree.readText(path)) ?? ""
    }

    /// The plateau thread count and the growth per thread (in MiB) the text states for a configuration.
    static func statedPlateau(_ text: Substring) -> (threads: Int, perThreadMiB: Double)? {
        // A plateau bounded by glibc's arena cap is labelled by its arenas; the finding still counts the threads.
        guard let t = text.firstMatch(of: /plateau at (\d+) threads/) ?? text.firstMatch(of: /(\d+) worker threads? had run by then/),
              let g = text.firstMatch(of: /about ([0-9.]+) MiB each/),
              let threads = Int(t.1), let perThread = Double(g.1) else { return nil }
        return (threads, perThread)
    }

    static func line(of config: String, in markdown: String) -> Substring? {
        markdown.split(separator: "\n").first { $0.hasPrefix("- **\(config)**") }
    }

    /// The page and the Markdown state the plateau run's thread count and growth per thread within 10% of
    /// `summary.json`, call the leak a leak, and call neither the plateau nor the stable run one.
    static func checkPlateauAndLeak(html: String, markdown: String, summary: ResultsSummary, plateau plateauConfig: String = "lazy-16",
                                    leak leakConfig: String = "leak-64k", stable stableConfig: String = "fixed-1") throws {
        let plateau = try #require(summary.runs.first { $0.config == plateauConfig })
        let expectedThreads = Double(try #require(plateau.plateau_threads))
        let expectedPerThread = try #require(plateau.growth_per_thread) / 1_048_576
        #expect(plateau.growth.classification == .plateau)

        let plateauLine = try #require(line(of: plateauConfig, in: markdown))
        let stated = try #require(statedPlateau(plateauLine))
        #expect(abs(Double(stated.threads) - expectedThreads) <= 0.1 * expectedThreads)
        #expect(abs(stated.perThreadMiB - expectedPerThread) <= 0.1 * expectedPerThread)
        #expect(!plateauLine.contains("probable leak"))
        #expect(plateauLine.contains("not a leak"))

        // The page states the same figures in its diagnosis.
        // Its own diagnosis only: the next configuration's may state another plateau.
        let htmlDiagnosis = try #require(html.firstRange(of: "<strong>\(plateauConfig)</strong>").map { start in
            let rest = html[start.lowerBound...]
            return rest[..<(rest.firstRange(of: "</div>")?.lowerBound ?? rest.endIndex)]
        })
        let statedHTML = try #require(statedPlateau(htmlDiagnosis))
        #expect(abs(Double(statedHTML.threads) - expectedThreads) <= 0.1 * expectedThreads)
        #expect(abs(statedHTML.perThreadMiB - expectedPerThread) <= 0.1 * expectedPerThread)

        let leakLine = try #require(line(of: leakConfig, in: markdown))
        #expect(leakLine.contains("🔴 leak"))
        #expect(leakLine.contains(" per request"))
        #expect(leakLine.contains("per hour"))
        #expect(html.contains("<strong>\(leakConfig)</strong> <span class=\"verdict v-linear\">leak</span>"))
        #expect(html.contains("<strong>\(plateauConfig)</strong> <span class=\"verdict v-plateau\">"))
        let stableLine = try #require(line(of: stableConfig, in: markdown))
        #expect(stableLine.contains("stable"))
        #expect(!stableLine.contains("leak"))
    }

    @Test func namesPlateauThreadsAndGrowthPerThreadAndCallsTheLeakALeak() throws {
        let (dir, summary) = try Self.makeResults()
        defer { TestSupport.removeTree(dir) }
        let (html, markdown) = try ReportWriter.write(resultsDirectory: dir)
        try Self.checkPlateauAndLeak(html: html, markdown: markdown, summary: summary)
        #expect(try #require(Self.line(of: "leak-64k", in: markdown)).contains("64 KiB per request"))
        #expect(Self.read(dir + "/report.md") == markdown)
        #expect(Self.read(dir + "/index.html") == html)
    }

    @Test("the report renders the verdict summary.json stores and never recomputes it from the raw data")
    func rendersOnlyTheStoredVerdict() throws {
        let (dir, summary) = try Self.makeResults()
        defer { TestSupport.removeTree(dir) }
        var changed = summary
        let k = try #require(changed.runs.firstIndex { $0.config == "leak-64k" })
        changed.runs[k].growth.classification = .inconclusive
        changed.runs[k].growth.label = "not enough requests to judge (3 of the 30 needed)"
        changed.runs[k].growth.finding = "stored finding"
        let data = try JSONEncoder().encode(changed)
        let fd = open(dir + "/summary.json", O_WRONLY | O_TRUNC)
        _ = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        let (html, markdown) = try ReportWriter.write(resultsDirectory: dir)
        let leakLine = try #require(Self.line(of: "leak-64k", in: markdown))
        #expect(!leakLine.contains("🔴"))
        #expect(leakLine.contains("stored finding"))
        #expect(!html.contains("<span class=\"verdict v-linear\">"))
    }

    @Test func pageIsSelfContainedWithChartsThatHaveAxesLabelsAndLegends() throws {
        let (dir, _) = try Self.makeResults()
        defer { TestSupport.removeTree(dir) }
        let (html, _) = try ReportWriter.write(resultsDirectory: dir)
        #expect(!html.contains("<script"))
        #expect(!html.contains("http://"))
        #expect(!html.contains("https://"))
        #expect(html.contains("<svg"))
        #expect(html.contains("class=\"axes\""))
        #expect(html.contains("class=\"legend\""))
        #expect(html.contains("request (i, in completion order)"))
        #expect(html.contains("threads / arenas"))
        #expect(html.contains("MiB</text>"))
        #expect(html.contains("first request on a new thread"))
        #expect(html.contains("plateau from request"))
        #expect(html.contains("Configurations side by side"))
        #expect(html.contains("@media print"))
    }

    @Test func junitHasACasePerExpectationAndCompletedForRunsWithout() throws {
        let (dir, _) = try Self.makeResults(requests: 500)
        defer { TestSupport.removeTree(dir) }
        try ReportWriter.write(resultsDirectory: dir)
        let junit = Self.read(dir + "/junit.xml")
        #expect(junit.contains("name=\"rss_growth &lt; 1 GiB\""))
        #expect(junit.contains("name=\"completed\""))
        #expect(junit.contains("<failure message=\"observed: linear\""))
        #expect(junit.contains("tests=\"3\" failures=\"1\""))
    }

    @Test func writesACSVPerRunWithARowPerRequest() throws {
        let (dir, _) = try Self.makeResults(requests: 500)
        defer { TestSupport.removeTree(dir) }
        try ReportWriter.write(resultsDirectory: dir)
        let csv = Self.read(dir + "/leak/run-3/requests.csv")
        let lines = csv.split(separator: "\n")
        #expect(lines.count == 501)
        #expect(lines.first.map(String.init) == String(CSVExport.header.dropLast()))
        #expect(lines.dropFirst().allSatisfy { $0.split(separator: ",", omittingEmptySubsequences: false).count == 14 })
    }

    @Test func missingDirectoryOrSummaryIsAClearError() throws {
        #expect(throws: ReportError.self) { try ReportWriter.write(resultsDirectory: "/nonexistent/highwater-results") }
        let dir = TestSupport.makeTemporaryDirectory("hw-report-empty")
        defer { TestSupport.removeTree(dir) }
        do {
            try ReportWriter.write(resultsDirectory: dir)
            Issue.record("an empty directory rendered")
        } catch let error as ReportError {
            #expect(error.description.contains("summary.json"))
        }
    }

    @Test func truncatedLastLineIsSkippedAndTheRestLoads() throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-report-cut")
        defer { TestSupport.removeTree(dir) }
        let path = dir + "/requests.jsonl"
        let text = """
            {"i":0,"config":"a","route":"/","tid":7,"worker":"w\\"0","start_ns":10,"end_ns":20,"status":200,"rss_before":100,"rss_after":300,"heap_in_use_before":5,"heap_in_use_after":4,"error":null}
            {"i":1,"config":"a","route":"/","tid":8,"worker":"w1","start_ns":30,"end_ns":45,"status":500,"rss_before":300,"rss_after":200,"heap_in_use_before":4,"heap_in_use_after":4,"error":"boom \\"x\\"\\n"}
            {"i":2,"config":"a","route":"/","tid":8,"worker":"w1","start_ns":50,"end_
            """
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        _ = text.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
        close(fd)
        let r = try ResultsLoader.loadRequests(path)
        #expect(r.count == 2)
        #expect(r.skippedLines == 1)
        #expect(r.tid == [7, 8])
        #expect(r.rssAfter == [300, 200])
        #expect(r.status == [200, 500])
        #expect(r.errors[1] == "boom \"x\"\n")
        #expect(r.errors[0] == nil)
    }

    @Test func downsampleKeepsEachBucketsExtremes() {
        var ys = [Double](repeating: 1, count: 100_000)
        ys[12_345] = 1000
        ys[67_890] = -50
        let points = Downsample.minMax(ys, buckets: 100)
        #expect(points.count <= 202)
        #expect(points.contains(ChartPoint(12_345, 1000)))
        #expect(points.contains(ChartPoint(67_890, -50)))
        #expect(points.first == ChartPoint(0, 1))
        #expect(points.last == ChartPoint(99_999, 1))
        #expect(zip(points, points.dropFirst()).allSatisfy { $0.x < $1.x })
    }

    @Test func bigRunStaysSmall() throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-report-big")
        defer { TestSupport.removeTree(dir) }
        try SyntheticResults.write(directory: dir, runs: [
            .init(scenario: "threadpool-growth", config: "lazy-16", shape: .plateau(threads: 16, perThread: 25 << 20), requests: 50_000)
        ])
        let (html, _) = try ReportWriter.write(resultsDirectory: dir)
        #expect(html.utf8.count < 5 << 20)
    }

    @Test(.enabled(if: HeadlessChromium.isInstalled, "chromium is not on PATH (Debian: apt-get install chromium; `make test` installs it)"))
    func syntheticReportWithUploadsRendersInHeadlessChromium() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-report-chromium")
        defer { TestSupport.removeTree(dir) }
        try SyntheticResults.write(directory: dir, runs: SyntheticResults.standard(requests: 3000),
                                   uploads: SyntheticResults.uploads(scenario: "spooled-upload-enospc", tmpCapacity: 64 << 20,
                                                                     sizes: [1 << 20, 63 << 20, 64 << 20], requests: 2))
        try ReportWriter.write(resultsDirectory: dir)
        try? FileTree.createDirectory(RealRunReportTests.artifacts)
        try await HeadlessChromium.expectRendered(dir + "/index.html", screenshot: RealRunReportTests.artifacts + "/report-synthetic-screenshot.png",
                                            profile: dir + "/chromium-profile", showing: "predicted boundary 64 MiB")
    }
}
