@preconcurrency import Glibc
import HighwaterHarness
import HighwaterProbes
import HighwaterRecords
import HighwaterScenarios
import HighwaterSystem
import Testing

/// The hostile inputs of issue 27 against the surfaces added since issue 11 (the ELF reader, results read back,
/// sweeps, readiness, containment): each refused or bounded, none trapping, hanging or leaving anything behind.
/// `scripts/hostile-inputs` runs the whole table against the built binary; these keep the core of it in the suite.
@Suite(.serialized, .enabled(if: MeasuredRun.available, "python3 is not installed, and it measures the peak RSS of each run"))
struct HostileSurfaceTests {
    /// A 128-byte ELF header whose program headers lie at `phoff`, `phnum` of them.
    static func craftedELF(phoff: UInt64, phnum: UInt16) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: 128)
        h[0] = 0x7F; h[1] = 0x45; h[2] = 0x4C; h[3] = 0x46; h[4] = 2; h[5] = 1; h[6] = 1
        func put<T: FixedWidthInteger>(_ v: T, at offset: Int) {
            withUnsafeBytes(of: v.littleEndian) { for (i, b) in $0.enumerated() { h[offset + i] = b } }
        }
        put(UInt16(2), at: 0x10); put(UInt16(62), at: 0x12); put(phoff, at: 0x20); put(UInt16(56), at: 0x36); put(phnum, at: 0x38)
        return h
    }

    @Test(arguments: [(UInt64(0xFFFF_FFFF_FFFF_FFF0), UInt16(1)), (UInt64(0x7FFF_FFFF_FFFF_FFF0), UInt16(65535))])
    func aCraftedELFIsNoProgramNotATrap(_ header: (UInt64, UInt16)) throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-hostile-elf")
        defer { TestSupport.removeTree(dir) }
        try FileTree.writeAtomically(Self.craftedELF(phoff: header.0, phnum: header.1), to: dir + "/bad-elf")
        #expect(!ELFSymbols.hasInterpreter(path: dir + "/bad-elf"))
        #expect(!AgentPreload.isPreloadable(dir + "/bad-elf"))
        #expect(ELFSymbols(path: dir + "/bad-elf")?.function(atFileOffset: 0) == nil)
    }

    @Test func fifosAndDevicesAreRefusedWithoutWaiting() throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-hostile-fifo")
        defer { TestSupport.removeTree(dir) }
        #expect(mkfifo(dir + "/fifo", 0o755) == 0)
        let started = MonotonicClock.nanoseconds()
        for path in [dir + "/fifo", "/dev/zero", dir] {
            #expect(throws: SystemError.self) { _ = try FileTree.readBytes(path, limit: 1 << 20) }
            #expect(!AgentPreload.isPreloadable(path))
            #expect(ELFSymbols(path: path) == nil)
        }
        #expect(MonotonicClock.nanoseconds() - started < 5_000_000_000, "a FIFO or device held a read")
        do { _ = try FileTree.readBytes(dir + "/fifo", limit: 1 << 20) } catch {
            #expect(error.description.contains("is a FIFO, not a regular file"), "\(error)")
        }
    }

    @Test func aFileOverItsLimitIsRefusedNamingTheLimit() throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-hostile-limit")
        defer { TestSupport.removeTree(dir) }
        try FileTree.writeAtomically([UInt8](repeating: 65, count: 300 << 10), to: dir + "/big")
        do {
            _ = try FileTree.readBytes(dir + "/big", limit: 64 << 10)
            Issue.record("a 300 KiB file was read under a 64 KiB limit")
        } catch {
            #expect(error.errno == EFBIG)
            #expect(error.description.contains("larger than 64 KiB"), "\(error)")
        }
    }

    @Test func aSweepPastTheCapIsRefusedAtOnce() throws {
        let values = (1...1000).map(String.init).joined(separator: ", ")
        let text = "name: sweep\nexecutor: {kind: eager, size: 2}\nworkload: {name: sleep}\nload: {requests: 5}\nsweep:\n"
            + "  environment.A: [\(values)]\n  environment.B: [\(values)]\n  environment.C: [\(values)]\n"
        let started = MonotonicClock.nanoseconds()
        do {
            _ = try ScenarioLoader(cores: 2).load(text: text, file: "sweep.yaml")
            Issue.record("a sweep of a billion configurations was accepted")
        } catch {
            #expect("\(error)".contains("1000000000 configurations: the largest accepted is \(Scenario.maxConfigurations)"), "\(error)")
        }
        #expect(MonotonicClock.nanoseconds() - started < 5_000_000_000, "planning a billion configurations was not refused at once")
    }

    @Test func aForgedSummaryCannotReachOutsideItsDirectory() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-hostile-trav")
        defer { TestSupport.removeTree(dir) }
        try FileTree.createDirectory(dir + "/results")
        try FileTree.createDirectory(dir + "/outside-run")
        try FileTree.writeAtomically(Array("{\"i\":0}\n".utf8), to: dir + "/outside-run/requests.jsonl")
        let summary = #"{"highwater_version":"x","runs":[{"scenario":"..","run_id":"../outside-run","config":"c"}]}"#
        try FileTree.writeAtomically(Array(summary.utf8), to: dir + "/results/summary.json")
        let r = try await MeasuredRun.run([TestSupport.highwater, "report", dir + "/results"], timeout: 30)
        #expect(r.exitCode == 2, "\(r.stderr)")
        #expect(access(dir + "/outside-run/requests.csv", F_OK) != 0, "report wrote outside its directory")
    }

    @Test(arguments: ["-5", "1e400", "18446744073709551616"])
    func anOutOfRangeNumberIsNamedAtItsPlace(_ number: String) {
        let text = #"{"highwater_version":"x","runs":[{"scenario":"s","run_id":"r","rss_end":"# + number + "}]}"
        #expect(JSONNumberRange.firstOutOfRange(Array(text.utf8)) == "runs[0].rss_end: \(number)")
        #expect(JSONNumberRange.firstOutOfRange(Array(#"{"a": [1, 2.5, -0.5, "x", true, null]}"#.utf8)) == nil)
        #expect(JSONNumberRange.firstOutOfRange(Array(#"{"a": -5"#.utf8)) == nil, "not valid JSON: no number is blamed")
    }

    /// A target that double-forks a daemon into a session of its own: the daemon has left the process group and the
    /// process tree, and still ends with the target, because the cgroup holds it.
    @Test(.enabled(if: ProcessContainerProbe.canMake && TestSupport.which("python3") != nil, "no cgroup v2 can be made here, or no python3"))
    func aDaemonThatLeftTheGroupEndsWithTheTarget() throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-hostile-daemon")
        defer { TestSupport.removeTree(dir) }
        let script = "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        open('\(dir)/daemon.pid', 'w').write(str(os.getpid()))\n        time.sleep(100)\n    os._exit(0)\ntime.sleep(100)\n"
        let target = try ExternalTarget(command: ["python3", "-c", script], environment: ProcessEnvironment.current, directory: dir,
                                        graceNs: 1_000_000_000)
        var daemon: Int32?
        let deadline = MonotonicClock.nanoseconds() + 10_000_000_000
        while daemon == nil && MonotonicClock.nanoseconds() < deadline {
            daemon = (try? FileTree.readText(dir + "/daemon.pid")).flatMap { Int32($0) }
            MonotonicClock.sleep(nanoseconds: 20_000_000)
        }
        let pid = try #require(daemon, "the daemon never started")
        #expect(target.container?.cgroup != nil, "the target was not put in a cgroup: \(target.container?.description ?? "none")")
        let stopped = target.stop(graceNs: 1_000_000_000)
        #expect(stopped.escaped.contains(pid))
        #expect(!ExternalTarget.isAlive(pid), "the daemon \(pid) outlived the target")
        if ExternalTarget.isAlive(pid) { kill(pid, SIGKILL) }
    }
}

/// Whether a cgroup v2 can be made here and a process put in it, asked once with a `sleep` of its own.
enum ProcessContainerProbe {
    static let canMake: Bool = {
        let container = ProcessContainer()
        defer { container.end() }
        guard let sleeper = try? ChildProcess(["sleep", "10"]) else { return false }
        let moved = container.add(sleeper.pid)
        sleeper.signal(SIGKILL)
        _ = sleeper.wait()
        return moved
    }()
}
