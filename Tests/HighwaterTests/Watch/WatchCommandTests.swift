@preconcurrency import Glibc
import HighwaterSystem
import Testing

/// `highwater watch` on its own: targets found again by --match when they restart, bad input refused before it
/// serves, a limits file's headroom, Ctrl-C.
@Suite("watch", .enabled(if: TestSupport.which("python3") != nil, "python3 is not installed"))
struct WatchCommandTests {
    /// python3 holding 8 MiB it wrote, steady once `DIR/STEP` appears; `token` is on its command line for --match.
    static func sleeper(_ token: String, dir: String, step: String) async throws -> ChildProcess {
        let script = TestSupport.pythonSteps(dir) + "x = b'x' * (8 << 20)\nstep('\(step)')\ntime.sleep(600)\n"
        let child = try ChildProcess([TestSupport.which("python3")!, "-c", script, token])
        #expect(await TestSupport.appears(dir + "/" + step))
        return child
    }

    @Test("--match finds a target, drops its series when it ends, and finds its successor under a new PID; Ctrl-C ends watch with 0")
    func matchFollowsRestarts() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-watch-match")
        defer { TestSupport.removeTree(dir) }
        let token = "hw-watch-\(getpid())-\(MonotonicClock.nanoseconds())"
        let first = try await Self.sleeper(token, dir: dir, step: "first")
        defer { TestSupport.end(first) }
        let watch = try #require(await RunningWatch.start(["--match", token, "--interval", "200ms"], dir: dir))
        defer { TestSupport.end(watch.child) }

        let seen = await TestSupport.poll(seconds: 30, every: 100) { () -> Double? in
            watch.metrics.flatMap { RunningWatch.value($0, "process_resident_memory_bytes", pid: first.pid) }
        }
        #expect(seen != nil, "no series for PID \(first.pid): \(watch.stderr)")
        #expect(seen ?? 0 >= Double(8 << 20))

        first.signal(SIGKILL)
        _ = await first.exit(timeoutNs: 10_000_000_000)
        let gone = await TestSupport.poll(seconds: 30, every: 100) { () -> Bool? in
            guard let text = watch.metrics else { return nil }
            return text.contains("pid=\"\(first.pid)\"") ? nil : true
        }
        #expect(gone == true, "the ended target's series are still served")

        let second = try await Self.sleeper(token, dir: dir, step: "second")
        defer { TestSupport.end(second) }
        let back = await TestSupport.poll(seconds: 30, every: 100) { () -> Double? in
            watch.metrics.flatMap { RunningWatch.value($0, "highwater_threads", pid: second.pid) }
        }
        #expect(back == 1, "the restarted target (PID \(second.pid)) was not found again: \(watch.stderr)")

        watch.child.signal(SIGINT)
        let ended = await watch.child.exit(timeoutNs: 10_000_000_000)
        #expect(ended == .exited(0))
        #expect(((try? FileTree.readText(dir + "/watch.out")) ?? "").contains("ended (interrupted)"))
    }

    @Test("--listen off loopback is refused without --allow-remote, with the reason; exit 2")
    func remoteRefused() async {
        let result = await TestSupport.run([TestSupport.highwater, "watch", "--pid", String(getpid()), "--listen", "0.0.0.0:0"])
        #expect(result.termination == .exited(2))
        #expect(result.stderr.contains("not a loopback address"))
        #expect(!result.stdout.contains("serving"))
    }

    @Test("a limits file that does not parse: exit 2 before serving, with the file's line")
    func badLimitsRefused() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-watch-limits")
        defer { TestSupport.removeTree(dir) }
        try FileTree.writeAtomically(Array("service: api\nmemory:\n  limitt: 1 GiB\n".utf8), to: dir + "/limits.yaml")
        let result = await TestSupport.run([TestSupport.highwater, "watch", "--pid", String(getpid()), "--listen", "127.0.0.1:0",
                                            "--limits", dir + "/limits.yaml"])
        #expect(result.termination == .exited(2))
        #expect(result.stderr.contains("limits.yaml:3"))
        #expect(!result.stdout.contains("serving"))
    }

    @Test("with a limits file, each limit's headroom is its capacity less the watched process's figure now")
    func limitsHeadroom() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-watch-headroom")
        defer { TestSupport.removeTree(dir) }
        try FileTree.writeAtomically(Array("""
            service: api
            memory:
              limit: 1 GiB
            executor:
              size: 4
              memory_per_worker: 10 MiB
            """.utf8), to: dir + "/limits.yaml")
        let target = try await Self.sleeper("hw-watch-headroom", dir: dir, step: "ready")
        defer { TestSupport.end(target) }
        let watch = try #require(await RunningWatch.start(["--pid", String(target.pid), "--interval", "200ms", "--limits", dir + "/limits.yaml"], dir: dir))
        defer { TestSupport.end(watch.child) }
        let label = ("limit", "api: executor memory")
        let read = await TestSupport.poll(seconds: 30, every: 100) { () -> (used: Double, headroom: Double, holds: Double)? in
            guard let text = watch.metrics,
                  let used = RunningWatch.value(text, "highwater_limit_used_bytes", label: label), used > 0,
                  let headroom = RunningWatch.value(text, "highwater_limit_headroom_bytes", label: label),
                  let holds = RunningWatch.value(text, "highwater_limit_holds", label: label) else { return nil }
            return (used, headroom, holds)
        }
        let figures = try #require(read, "no limit series: \(watch.metrics ?? "") \(watch.stderr)")
        #expect(figures.used + figures.headroom == Double(1 << 30))
        let rss = Double(try #require(WatchPrometheusTests.status(target.pid, "VmRSS")))
        #expect(abs(figures.used - rss) <= Double(1 << 20), "the limit counts \(figures.used) against the process's \(rss)")
        #expect(figures.holds == 1)
    }
}
