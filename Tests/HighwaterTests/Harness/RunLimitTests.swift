@preconcurrency import Glibc
import HighwaterRecords
import HighwaterHarness
import Testing
import HighwaterSystem

/// A run's time limit on a real hosted child that hangs: a handler that sleeps for ten minutes.
@Suite("Run time limits", .serialized)
struct RunLimitTests {
    @Test("a child that hangs under a 3 s limit is stopped, recorded as timed out, the next configuration runs, no process is left")
    func hungChildIsStopped() async throws {
        let out = TestSupport.makeTemporaryDirectory("hw-limit")
        defer { TestSupport.removeTree(out) }
        // The next configuration has a limit it cannot reach even on a loaded machine: it must run, not time out.
        func plan(_ config: String, sleep: String, limitSeconds: UInt64) -> RunPlan {
            RunPlan(scenario: "limit", config: config, executor: .init(kind: "fixed", size: 1),
                    workload: .init(name: "sleep", options: ["duration": sleep]),
                    load: .init(requests: 3, concurrency: 1), timeLimitNs: limitSeconds * 1_000_000_000)
        }
        let session = RunSession(outDirectory: out, executable: TestSupport.highwater, showProgress: false, version: "test")
        let started = MonotonicClock.nanoseconds()
        let runs = try await session.run([plan("hangs", sleep: "10 min", limitSeconds: 3), plan("quick", sleep: "1 ms", limitSeconds: 90)])
        let elapsed = Double(MonotonicClock.nanoseconds() - started) / 1e9
        try #require(runs.count == 2)
        let hung = runs[0]
        #expect(hung.timed_out_after_s == 3)
        #expect(hung.notes?.contains { $0.hasPrefix("timed out after 3 s") } == true, "\(hung.notes ?? [])")
        // It ends on SIGTERM by itself (exit 0) or at SIGKILL after the grace period; either way it says why on stderr.
        #expect(hung.child_exit != nil)
        #expect(hung.stderr_tail?.contains("stopped by a signal") == true, "\(hung.stderr_tail ?? "nil")")
        // Well short of the driver's 120 s request timeout, even with the whole suite running beside it.
        #expect(elapsed < 100, "took \(elapsed) s")
        let next = runs[1]
        #expect(next.timed_out_after_s == nil)
        #expect(next.requests == 3 && next.errors == 0 && next.child_exit == "exit 0")
        // The hung child is gone: the pid its samples carry is no process now.
        let samples = RecordCoding.lines(SampleRecord.self, from: (try? FileTree.readBytes("\(out)/limit/\(hung.run_id)/samples.jsonl")) ?? [])
        let pid = try #require(samples.first?.pid, "the hung child wrote no sample")
        // Its samples end at the limit plus the grace period (and scheduling slack), not at the request timeout.
        if let first = samples.first, let last = samples.last {
            let sampled = Double(last.t_ns - first.t_ns) / 1e9
            #expect(sampled < 3 + 2 + 5, "the hung child was sampled for \(sampled) s")
        }
        #expect(kill(pid, 0) != 0 && errno == ESRCH, "PID \(pid) is still there")
    }
}
