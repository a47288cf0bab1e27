@preconcurrency import Glibc
import FoundationEssentials
import HighwaterAnalysis
import HighwaterProbes
import Testing

/// The report of a real run of the built `highwater`: seed 004 in small (an eager pool of 16 filling up, a pool
/// of one, and a leak, one request at a time), read as text and opened in headless Chromium.
@Suite("Report of a real run")
struct RealRunReportTests {
    /// Kept after the tests for a person to look at, beside the build (absolute: Chromium takes file URLs).
    static let artifacts: String = {
        var buffer = [CChar](repeating: 0, count: 4096)
        let cwd = getcwd(&buffer, buffer.count) != nil ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "."
        return cwd + "/.build/test-artifacts"
    }()
    static let results = artifacts + "/real-run-report"

    static let scenario = """
        # Seed 004 in small: every new worker of the eager pool keeps an arena; the pool of one stays flat; the leak never stops.
        name: report-real
        executor: {kind: eager, size: 16}
        workload: {name: alloc-churn}
        load: {requests: 300, concurrency: 1, warmup: 1}
        variants:
          - {config: eager-1, executor.size: 1}
          - {config: eager-16}
          - {config: leak, workload.name: leak}

        """

    struct Run: Sendable {
        var termination: Termination
        var stderr: String
        var seconds: Double
    }

    /// One run shared by the tests of this suite: `highwater run` writes the results and renders the report.
    static let run: Run = {
        TestSupport.run(["rm", "-rf", results])
        TestSupport.run(["mkdir", "-p", results])
        let file = results + "/report-real.yaml"
        _ = try? Data(scenario.utf8).write(to: URL(filePath: file))
        let clock = ContinuousClock()
        let start = clock.now
        let r = TestSupport.run([TestSupport.highwater, "run", "--out", results + "/out", file])
        let elapsed = (clock.now - start).components
        return Run(termination: r.termination, stderr: r.stderr, seconds: Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18)
    }()

    static func read(_ path: String) throws -> String {
        try String(decoding: Data(contentsOf: URL(filePath: path)), as: UTF8.self)
    }

    @Test func reportNamesThePlateauAndGrowthPerThreadAndCallsTheLeakALeak() throws {
        let run = Self.run
        try #require(run.termination == .exited(0), "highwater run: \(run.termination)\n\(run.stderr.suffix(3000))")
        print("real run of 3 configurations x 300 requests and its report: \(Quantity.format(run.seconds)) s")
        let out = Self.results + "/out"
        let summary = try JSONDecoder().decode(ResultsSummary.self, from: Data(contentsOf: URL(filePath: out + "/summary.json")))
        let plateau = try #require(summary.runs.first { $0.config == "eager-16" })
        try #require(plateau.growth.classification == .plateau, "eager-16 was classified \(plateau.growth.classification)")
        try ReportTests.checkPlateauAndLeak(html: try Self.read(out + "/index.html"), markdown: try Self.read(out + "/report.md"),
                                            summary: summary, plateau: "eager-16", leak: "leak", stable: "eager-1")
        #expect(summary.runs.first { $0.config == "leak" }?.growth.classification == .linear)
    }

    @Test(.enabled(if: HeadlessChromium.isInstalled, "chromium is not on PATH (Debian: apt-get install chromium; `make test` installs it)"))
    func reportOfTheRealRunRendersInHeadlessChromium() throws {
        let run = Self.run
        try #require(run.termination == .exited(0), "highwater run: \(run.termination)\n\(run.stderr.suffix(3000))")
        let out = Self.results + "/out"
        let summary = try JSONDecoder().decode(ResultsSummary.self, from: Data(contentsOf: URL(filePath: out + "/summary.json")))
        let threads = try #require(summary.runs.first { $0.config == "eager-16" }?.plateau_threads)
        try HeadlessChromium.expectRendered(out + "/index.html", screenshot: Self.artifacts + "/report-screenshot.png", profile: Self.results + "/chromium-profile",
                                            showing: "plateau at \(threads) threads")
    }
}
