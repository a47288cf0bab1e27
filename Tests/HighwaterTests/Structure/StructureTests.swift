@preconcurrency import Glibc
import HighwaterHarness
import HighwaterProbes
import HighwaterRecords
import HighwaterSystem
import Testing

/// The rules one pipeline keeps, each checked on real processes: the sampler's sinks see what the file holds, a
/// hosted run reads glibc's arena cap by the rule `record` uses, and the package declares what it imports.
@Suite("One pipeline's rules", .serialized)
struct StructureTests {
    static let packageRoot: String = {
        var path = "\(#filePath)"
        for _ in 0..<4 { path = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]) }
        return path
    }()

    @Test("a sampler's latest-value sink holds the sample its file ends with")
    func latestSink() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-sinks")
        defer { TestSupport.removeTree(dir) }
        let child = try ChildProcess(["sleep", "30"])
        defer { TestSupport.end(child) }
        let latest = LatestSample()
        let sampler = try Sampler(options: .init(intervalNs: 5_000_000, pid: child.pid), appendingTo: dir + "/samples.jsonl",
                                  sinks: [latest])
        sampler.start()
        _ = await TestSupport.poll(seconds: 10) { sampler.totals.samples >= 20 ? true : nil }
        let totals = sampler.stop()
        let samples = RecordCoding.lines(SampleRecord.self, from: try FileTree.readBytes(dir + "/samples.jsonl"))
        #expect(samples.count == totals.samples && samples.count >= 20)
        let last = try #require(latest.record)
        #expect(last.t_ns == samples.last?.t_ns && last.pid == child.pid && last.rss == samples.last?.rss)
    }

    @Test("a hosted run's arena cap comes from GLIBC_TUNABLES as a recorded target's does")
    func tunablesArenaCap() async throws {
        var plan = ChildRunTests.plan("tunables-2", "eager", 8, requests: 200, concurrency: 8)
        plan.environment["GLIBC_TUNABLES"] = "glibc.malloc.arena_max=2"
        let summary = try #require(try await ChildRunTests.run([plan]).first)
        #expect((summary.arenas_max ?? 99) <= 2, "arenas \(summary.arenas_max.map(String.init) ?? "n/a")")
        // Reaching the cap is only seen against the cap the child really had.
        #expect(summary.arena_limit_request != nil, "the run never saw its 2 arenas as the cap")
    }

    @Test("every target's imports are declared in Package.swift (scripts/census)",
          .enabled(if: TestSupport.which("python3") != nil, "python3 is not installed"))
    func declaredImports() async throws {
        let census = await TestSupport.run(["python3", Self.packageRoot + "/scripts/census"], timeoutNs: 300_000_000_000)
        #expect(census.termination == .exited(0), "\(census.stdout.suffix(2000))\(census.stderr.suffix(2000))")
        #expect(census.stdout.contains("undeclared imports: 0"))
    }
}
