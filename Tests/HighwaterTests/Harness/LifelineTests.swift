@preconcurrency import Glibc
import HighwaterRecords
import HighwaterSystem
import Testing

/// A hosted child lives exactly as long as the `highwater` process that started it: not shorter (the
/// thread that spawned it may retire while a slow request runs), not longer (Highwater killed outright).
@Suite("The lifeline between a run and its hosted child")
struct LifelineTests {
    static func scenario(named name: String, duration: String) -> String {
        """
        name: \(name)
        executor: {kind: fixed, size: 1}
        workload: {name: sleep, options: {duration: \(duration)}}
        load: {requests: 1, concurrency: 1}
        """
    }

    @Test("a request that takes 10 s is answered: the child outlives the thread that spawned it")
    func slowRequestSurvives() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-lifeline-slow")
        defer { TestSupport.removeTree(dir) }
        try FileTree.writeAtomically(Self.scenario(named: "slow", duration: "10s"), to: dir + "/slow.yaml")
        // Its own process, as a user runs it: nothing else keeps the spawning thread of Swift's pool busy,
        // so that thread retires after about 5 s while the request is still running.
        let run = await TestSupport.run([TestSupport.highwater, "run", "--out", dir + "/results", dir + "/slow.yaml"])
        #expect(run.termination == .exited(0), "\(run.stderr)")
        let summary = try RecordCoding.decode(ResultsSummary.self, from: FileTree.readBytes(dir + "/results/summary.json"))
        let only = try #require(summary.runs.first)
        #expect(only.child_exit == "exit 0")
        #expect(only.errors == 0)
        #expect(only.latency_ms.p50 >= 10_000, "the one request took \(only.latency_ms.p50) ms")
    }

    @Test("SIGKILL of `highwater run`: its hosted child ends within a second")
    func killedParentTakesTheChild() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-lifeline-killed")
        defer { TestSupport.removeTree(dir) }
        try FileTree.writeAtomically(Self.scenario(named: "orphan", duration: "60s"), to: dir + "/orphan.yaml")
        let run = try ChildProcess([TestSupport.highwater, "run", "--out", dir + "/results", dir + "/orphan.yaml"],
                                   stdout: .null, stderr: .null)
        defer { TestSupport.end(run) }
        // Serving: the child has published its port.
        let child = await TestSupport.poll(seconds: 60, stopIf: { run.poll() != nil }) {
            access(dir + "/results/orphan/01-default/port", R_OK) == 0 ? Leftovers.hostChild(under: dir) : nil
        }
        let pid = try #require(child, "the hosted child never started")
        run.signal(SIGKILL)
        #expect(await run.exit(timeoutNs: 5_000_000_000) == .signaled(SIGKILL))
        let killedAt = MonotonicClock.nanoseconds()
        var gone = false
        while !gone && MonotonicClock.nanoseconds() - killedAt < 5_000_000_000 {
            gone = Self.hasEnded(pid)
            if !gone { await TestSupport.sleep(milliseconds: 5) }
        }
        let waitedMs = (MonotonicClock.nanoseconds() - killedAt) / 1_000_000
        #expect(gone && waitedMs < 1_000, "the child \(pid) was still alive \(waitedMs) ms after its parent was killed")
    }

    /// Gone, or a zombie: orphans are reparented to a PID 1 that, in a container, may never reap them.
    static func hasEnded(_ pid: pid_t) -> Bool {
        guard let stat = try? FileTree.readText("/proc/\(pid)/stat"), let paren = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(paren, offsetBy: 2)...].first == "Z"
    }
}
