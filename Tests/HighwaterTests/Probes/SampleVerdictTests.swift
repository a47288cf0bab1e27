@preconcurrency import Glibc
import FoundationEssentials
import HighwaterRecords
import Testing
import HighwaterSystem

/// `highwater sample` judges what it sampled: DIR/summary.json with a verdict over time, which `report` and
/// `check --results` read as a run's; an older sample directory gets an error naming what is missing.
@Suite("The sample command's verdict")
struct SampleVerdictTests {
    static var packageRoot: String { UvicornApp.packageRoot }

    /// A python with numpy (examples/pool.py needs it): the project's venv, else python3 on PATH.
    static let python: String? = {
        let candidates = [packageRoot + "/.venv/bin/python"] + (TestSupport.which("python3").map { [$0] } ?? [])
        return candidates.first { access($0, X_OK) == 0 && TestSupport.succeeds([$0, "-c", "import numpy"]) }
    }()

    static func results(_ dir: String) throws -> ResultsSummary {
        try JSONDecoder().decode(ResultsSummary.self, from: Data(try FileTree.readBytes(dir + "/summary.json")))
    }

    @Test("a short sample is inconclusive for want of time, says so with its figures, and report and check --results read it")
    func shortSampleReadsAsARun() async throws {
        let out = TestSupport.makeTemporaryDirectory("hw-sample-verdict")
        defer { TestSupport.removeTree(out) }
        let r = await TestSupport.run([TestSupport.highwater, "sample", "--warmup", "200ms", "--out", out, "--", "sh", "-c", "sleep 1.5"])
        #expect(r.termination == .exited(0), "\(r.stderr)")
        let run = try #require(try Self.results(out).runs.first)
        #expect(run.scenario == "sample" && run.requests == 0)
        #expect(run.growth.classification == .inconclusive, "\(run.growth)")
        #expect(run.growth.evidence?.lacked == ["time"], "\(run.growth)")
        #expect(run.growth.advice?.contains("at least 10 s are needed") == true, "\(run.growth.advice ?? "")")
        #expect(r.stdout.contains("verdict: not enough time to judge"), "\(r.stdout)")
        let report = await TestSupport.run([TestSupport.highwater, "report", out])
        #expect(report.termination == .exited(0), "\(report.stderr)")
        let html = try FileTree.readText(out + "/index.html")
        #expect(html.contains("sh -c sleep 1.5"), "the sampled command's run in the report")
        let check = await TestSupport.run([TestSupport.highwater, "check", "--results", out])
        #expect(check.termination == .exited(0), "\(check.stdout)\n\(check.stderr)")
    }

    @Test("a sample directory from before verdicts: report and check --results name summary.json and say to sample again")
    func olderSampleDirectory() async throws {
        let out = TestSupport.makeTemporaryDirectory("hw-sample-old")
        defer { TestSupport.removeTree(out) }
        let r = await TestSupport.run([TestSupport.highwater, "sample", "--out", out, "--", "sh", "-c", "sleep 0.2"])
        #expect(r.termination == .exited(0), "\(r.stderr)")
        _ = unlink(out + "/summary.json")
        let report = await TestSupport.run([TestSupport.highwater, "report", out])
        #expect(report.termination == .exited(2), "\(report.termination)")
        #expect(report.stderr.contains("summary.json is missing") && report.stderr.contains("sample again"), "\(report.stderr)")
        let check = await TestSupport.run([TestSupport.highwater, "check", "--results", out])
        #expect(check.termination == .exited(2), "\(check.termination)")
        #expect(check.stderr.contains("sample again"), "\(check.stderr)")
    }

    @Test("examples/pool.py: 40 workers churning numpy arrays plateau at glibc's arena cap, 1 worker holds one working set",
          .enabled(if: SampleVerdictTests.python != nil, "no python with numpy (the venv's or python3 on PATH): run `scripts/install-deps pip:numpy`"))
    func pythonPool() async throws {
        let out = TestSupport.makeTemporaryDirectory("hw-sample-pool")
        defer { TestSupport.removeTree(out) }
        let cores = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        var verdicts: [Int: RunSummary] = [:]
        for workers in [40, 1] {
            let dir = out + "/pool-\(workers)"
            let r = await TestSupport.run([TestSupport.highwater, "sample", "--out", dir, "--",
                                           Self.python!, Self.packageRoot + "/examples/pool.py", "\(workers)", "14"])
            #expect(r.termination == .exited(0), "\(r.stderr)")
            verdicts[workers] = try Self.results(dir).runs.first
            let report = await TestSupport.run([TestSupport.highwater, "report", dir])
            #expect(report.termination == .exited(0), "\(report.stderr)")
        }
        let forty = try #require(verdicts[40]), one = try #require(verdicts[1])
        // More workers than glibc's cap of arenas (8 x cores): the arenas bound the growth, not the threads.
        #expect(forty.growth.classification == .plateau, "\(forty.growth)")
        #expect(forty.arenas_max == min(8 * cores, 41), "\(forty.arenas_max ?? 0)")
        #expect(forty.growth.label?.hasPrefix("plateau at \(8 * cores) arenas") == true, "\(forty.growth.label ?? "")")
        // One worker holds one task's working set (at most 6 arrays of 4 MiB): flat from the start when the warm-up
        // took it in, a single step to it when the first large task came after. Either way no more than that set,
        // and far below the forty's.
        #expect([.stable, .plateau].contains(one.growth.classification), "\(one.growth)")
        let oneRise = Int64(one.rss_steady ?? one.rss_end) - Int64(one.growth.evidence?.baseline_bytes ?? one.rss_start)
        #expect(oneRise < 32 << 20, "one worker rose \(oneRise) bytes: \(one.growth)")
        #expect((forty.rss_steady ?? forty.rss_end) > (one.rss_steady ?? one.rss_end) + (32 << 20), "\(forty.rss_steady ?? 0) vs \(one.rss_steady ?? 0)")
    }
}
