@preconcurrency import Glibc
import HighwaterRecords
import HighwaterSystem
import Testing

/// A command run as a real child in its own process group, with its wall time from start to exit, its CPU time and
/// its peak RSS.
///
/// The parent also times the command: the moment it ends is taken there, as it ends, not when this test next looks
/// (a test's wakeups wait for a thread of Swift's pool, which other work may hold).
///
/// The peak comes from `wait4` in a small python3 parent that starts the command and waits for it. Waiting for it
/// here would not do: posix_spawn shares this test process's memory until the exec, and the kernel carries that
/// high-water mark (hundreds of MiB in a test runner) into the child's `ru_maxrss`. Through python3 the carried
/// mark is python's own, about 10 MiB, so a reading is the command's peak or python's, whichever is larger.
struct MeasuredRun {
    var status: Int32
    var stdout: String
    var stderr: String
    var seconds: Double
    var peakRSSBytes: UInt64
    /// User and system CPU of the command and what it waited for: unlike wall time, a busy machine barely moves it.
    var cpuSeconds: Double
    /// Seconds from `signal` being sent to the group to the exit, when one was sent.
    var secondsAfterSignal: Double?

    var exitCode: Int32? { (status & 0x7f) == 0 ? (status >> 8) & 0xff : nil }
    var killedBy: Int32? { (status & 0x7f) != 0 ? status & 0x7f : nil }

    static var available: Bool { TestSupport.which("python3") != nil }

    /// The parent: starts the command, ignores the signals meant for it, and writes how it ended.
    private static let parent = """
        import json, os, signal, sys, time
        start = time.monotonic_ns()
        pid = os.posix_spawnp(sys.argv[2], sys.argv[2:], os.environ)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        _, status, usage = os.wait4(pid, 0)
        end = time.monotonic_ns()
        with open(sys.argv[1], 'w') as f: json.dump({'status': status, 'maxrss_kib': usage.ru_maxrss, 'cpu_s': usage.ru_utime + usage.ru_stime, 'start_ns': start, 'end_ns': end}, f)
        """

    private struct Ending: Decodable {
        var status: Int32
        var maxrss_kib: UInt64
        var cpu_s: Double
        /// CLOCK_MONOTONIC (python's monotonic clock on Linux), as `MonotonicClock` reads it.
        var start_ns: UInt64
        var end_ns: UInt64
    }

    /// Starts `command`; `signalWhen` is polled every 10 ms and, once it says true, `signal` goes to the process
    /// group (as a terminal's Ctrl-C does). Killed after `timeout` seconds.
    static func run(_ command: [String], environment: [String: String] = ProcessEnvironment.current, timeout: Double = 60,
                    signal: Int32 = SIGINT, signalWhen: (() -> Bool)? = nil) async throws -> MeasuredRun {
        let python = try #require(TestSupport.which("python3"), "python3 measures the peak RSS of a command")
        let dir = TestSupport.makeTemporaryDirectory("hw-measured")
        defer { TestSupport.removeTree(dir) }
        let start = MonotonicClock.nanoseconds()
        let child = try ChildProcess([python, "-c", parent, dir + "/ending.json"] + command, environment: environment,
                                     stdout: .file(dir + "/out"), stderr: .file(dir + "/err"), processGroup: true)
        var signalledAt: UInt64?
        var timedOut = false
        while child.poll() == nil {
            let now = MonotonicClock.nanoseconds()
            if signalledAt == nil, let signalWhen, signalWhen() {
                signalledAt = MonotonicClock.nanoseconds()
                kill(-child.pid, signal)
            }
            if !timedOut && Double(now - start) / 1e9 > timeout { timedOut = true; kill(-child.pid, SIGKILL) }
            await TestSupport.sleep(milliseconds: 2)
        }
        // The process group may hold a hosted child the parent left: none may outlive the test.
        kill(-child.pid, SIGKILL)
        let ending = try? RecordCoding.decode(Ending.self, from: FileTree.readBytes(dir + "/ending.json"))
        let end = ending?.end_ns ?? MonotonicClock.nanoseconds()
        return MeasuredRun(status: ending?.status ?? SIGKILL, stdout: (try? FileTree.readText(dir + "/out")) ?? "",
                           stderr: (try? FileTree.readText(dir + "/err")) ?? "", seconds: Double(end - (ending?.start_ns ?? start)) / 1e9,
                           peakRSSBytes: (ending?.maxrss_kib ?? 0) * 1024, cpuSeconds: ending?.cpu_s ?? 0,
                           secondsAfterSignal: signalledAt.map { Double(end.subtractingReportingOverflow($0).overflow ? 0 : end - $0) / 1e9 })
    }
}
