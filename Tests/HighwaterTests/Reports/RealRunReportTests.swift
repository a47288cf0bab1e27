@preconcurrency import Glibc
import FoundationEssentials
import HighwaterRecords
import HighwaterProbes
import HighwaterReports
import Testing
import HighwaterSystem

/// The report of a real run of the built `highwater` on the shipped `threadpool-growth` and `leak-vs-plateau`
/// scenario files, 300 requests per configuration: read as text and opened in headless Chromium.
@Suite("Report of a real run")
struct RealRunReportTests {
    /// Kept after the tests for a person to look at, beside the build (absolute: Chromium takes file URLs).
    static let packageRoot: String = {
        var buffer = [CChar](repeating: 0, count: 4096)
        return getcwd(&buffer, buffer.count) != nil ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "."
    }()
    static let artifacts = packageRoot + "/.build/test-artifacts"
    static let results = artifacts + "/real-run-report"

    struct Run: Sendable {
        var termination: Termination
        var stderr: String
        var seconds: Double
    }

    /// One run shared by the tests of this suite: `highwater run` writes the results and renders the report.
    static let run = Task<Run, Never> {
        FileTree.removeTree(results)
        try? FileTree.createDirectory(results)
        // The shipped files run until their verdicts settle (10 s at least); 300 requests take a second, so their
        // copies here are judged on the requests alone.
        let files = ["threadpool-growth", "leak-vs-plateau"].map { name -> String in
            let copy = results + "/\(name).yaml"
            let text = (try? read(packageRoot + "/scenarios/\(name).yaml")) ?? ""
            try? FileTree.writeAtomically(text + "\nverdict: {min_seconds: 0}\n", to: copy)
            return copy
        }
        let clock = ContinuousClock()
        let start = clock.now
        let r = await TestSupport.run([TestSupport.highwater, "run", "--requests", "300", "--out", results + "/out"] + files)
        let elapsed = (clock.now - start).components
        return Run(termination: r.termination, stderr: r.stderr, seconds: Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18)
    }

    static func read(_ path: String) throws -> String {
        try String(decoding: Data(contentsOf: URL(filePath: path)), as: UTF8.self)
    }

    @Test func reportNamesThePlateauAndGrowthPerThreadAndCallsTheLeakALeak() async throws {
        let run = await Self.run.value
        try #require(run.termination == .exited(0), "highwater run: \(run.termination)\n\(run.stderr.suffix(3000))")
        print("real run of threadpool-growth and leak-vs-plateau, 300 requests per configuration, and its report: \(Quantity.format(run.seconds)) s")
        let out = Self.results + "/out"
        let summary = try JSONDecoder().decode(ResultsSummary.self, from: Data(contentsOf: URL(filePath: out + "/summary.json")))
        let plateau = try #require(summary.runs.first { $0.config == "eager-40" })
        try #require(plateau.growth.classification == .plateau, "eager-40 was classified \(plateau.growth.classification)")
        try ReportTests.checkPlateauAndLeak(html: try Self.read(out + "/index.html"), markdown: try Self.read(out + "/report.md"),
                                            summary: summary, plateau: "eager-40", leak: "leak", stable: "eager-1")
        #expect(summary.runs.first { $0.config == "leak" }?.growth.classification == .linear)
    }

    @Test(.enabled(if: HeadlessChromium.isInstalled, "chromium is not on PATH (Debian: apt-get install chromium; `make test` installs it)"))
    func reportOfTheRealRunRendersInHeadlessChromium() async throws {
        let run = await Self.run.value
        try #require(run.termination == .exited(0), "highwater run: \(run.termination)\n\(run.stderr.suffix(3000))")
        let out = Self.results + "/out"
        let summary = try JSONDecoder().decode(ResultsSummary.self, from: Data(contentsOf: URL(filePath: out + "/summary.json")))
        let threads = try #require(summary.runs.first { $0.config == "eager-40" }?.plateau_threads)
        try await HeadlessChromium.expectRendered(out + "/index.html", screenshot: Self.artifacts + "/report-screenshot.png", profile: Self.results + "/chromium-profile",
                                            showing: "plateau at \(threads) threads")
    }

    @Test("the findings are in the first viewport and name the leak and threadpool-growth's best fix; every scenario has its overlay; the flame graph zooms on a click and its search highlights hw_leak",
          .enabled(if: HeadlessChromium.isInstalled, "chromium is not on PATH (Debian: apt-get install chromium; `make test` installs it)"))
    func findingsOverlaysAndFlameGraphInChromium() async throws {
        let run = await Self.run.value
        try #require(run.termination == .exited(0), "highwater run: \(run.termination)\n\(run.stderr.suffix(3000))")
        let out = Self.results + "/out"
        let probe = try await HeadlessChromium.interact(out + "/index.html", frame: "hw_leak", profile: Self.results + "/chromium-probe-profile")
        #expect(probe.error == nil, "\(probe.error ?? "")")
        let top = try #require(probe.findingsTop), viewport = try #require(probe.viewport)
        #expect(top < viewport, "the findings start at \(top) px of a \(viewport) px viewport")
        let findings = probe.findings ?? ""
        #expect(findings.contains("Leak: ‘leak’"), "\(findings)")
        #expect(findings.contains("Best fix for alloc-churn"), "\(findings)")
        #expect(probe.overlays?.isEmpty == false && probe.overlays!.values.allSatisfy { $0 >= 1 }, "\(probe.overlays ?? [:])")
        let before = try #require(probe.widthBefore, "no hw_leak frame in a flame graph"), after = try #require(probe.widthAfter)
        #expect(after > before || before >= (probe.svgWidth ?? 0) - 1, "hw_leak was \(before) px wide, \(after) px after a click")
        #expect(probe.zoomed == "hw_leak")
        #expect((probe.matches ?? 0) >= 1 && (probe.matchedBytes ?? 0) > 0, "search: \(probe.found ?? "")")
        print("in chromium: findings at \(top) px of \(viewport); overlays \(probe.overlays ?? [:]); hw_leak \(before) -> \(after) px on a click, "
              + "\(probe.hidden ?? 0) frames hidden; search: \(probe.found ?? "")")
        let html = try Self.read(out + "/index.html"), markdown = try Self.read(out + "/report.md")
        #expect(markdown.count <= MarkdownReport.budget)
        print("index.html \(html.utf8.count) bytes, report.md \(markdown.count) characters")
    }
}
