@preconcurrency import Glibc
import HighwaterHarness
import HighwaterProbes
import Testing
import HighwaterSystem

/// Shared set-up for tests that run real things: the built `highwater` binary, python3, tmpfs.
enum TestSupport {
    /// The folder holding the test bundle and the `highwater` executable SwiftPM built beside it.
    static var buildDirectory: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let exe = n > 0 ? String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
        return String(exe[..<(exe.lastIndex(of: "/") ?? exe.endIndex)])
    }

    static var highwater: String { buildDirectory + "/highwater" }

    static func which(_ tool: String) -> String? { Executable.find(tool) }

    static var isRoot: Bool { geteuid() == 0 }

    /// A fresh directory under /tmp, removed by the caller with `removeTree`.
    static func makeTemporaryDirectory(_ prefix: String = "hw-test") -> String {
        do { return try FileTree.makeTemporaryDirectory(in: "/tmp", prefix: prefix + "-") } catch { preconditionFailure("\(error)") }
    }

    static func removeTree(_ path: String) {
        FileTree.removeTree(path)
    }

    /// Runs a command to completion; returns its termination and what it wrote to stdout and stderr.
    /// Async, so the wait holds no thread of the shared pool: tests run in parallel on that pool, and on a
    /// 2-core machine two tests blocked in a wait would starve every other test (and the runs they time).
    @discardableResult
    static func run(_ command: [String], environment: [String: String]? = nil, timeoutNs: UInt64 = 120_000_000_000) async
        -> (termination: Termination, stdout: String, stderr: String)
    {
        let dir = makeTemporaryDirectory("hw-run")
        defer { _ = unlink(dir + "/out"); _ = unlink(dir + "/err"); _ = rmdir(dir) }
        guard let child = try? ChildProcess(command, environment: environment, stdout: .file(dir + "/out"), stderr: .file(dir + "/err")) else {
            return (.exited(127), "", "could not start \(command)")
        }
        var t = await child.exit(timeoutNs: timeoutNs)
        if t == nil { t = await child.terminate() }
        let out = (try? FileTree.readText(dir + "/out")) ?? ""
        let err = (try? FileTree.readText(dir + "/err")) ?? ""
        return (t!, out, err)
    }

    /// Kills and reaps a child at once: for `defer`, which cannot await.
    static func end(_ child: ChildProcess) {
        if child.poll() == nil { child.signal(SIGKILL); _ = child.wait() }
    }

    /// Whether a quick command (under a second) exits 0; blocking, for static properties that cannot await.
    static func succeeds(_ command: [String]) -> Bool {
        guard let child = try? ChildProcess(command, stdout: .null, stderr: .null) else { return false }
        return (child.wait(timeoutNs: 10_000_000_000) ?? child.terminate()) == .exited(0)
    }

    /// Mounts a tmpfs of `size` bytes at a fresh directory, runs body, and unmounts on every path.
    static func withTmpfs<T>(size: UInt64, _ body: (String) throws -> T) throws -> T {
        let dir = makeTemporaryDirectory("hw-tmpfs")
        defer { _ = umount2(dir, Int32(MNT_DETACH)); _ = rmdir(dir) }
        let rc = mount("tmpfs", dir, "tmpfs", 0, "size=\(size)")
        if rc != 0 { throw ProbeError.system("mount", path: dir) }
        return try body(dir)
    }

    /// Waits up to a minute for a file a child writes to say it reached a step; true when it appeared.
    /// Tests step children by files, not sleeps, so a loaded machine cannot reorder them.
    static func appears(_ path: String) async -> Bool {
        for _ in 0..<12_000 where access(path, F_OK) != 0 { await sleep(milliseconds: 5) }
        return access(path, F_OK) == 0
    }

    /// The start of a python3 script stepped by files in `dir`: `wait_for(name)` waits for the test's file,
    /// `step(name)` writes the script's own (what `appears` waits for).
    static func pythonSteps(_ dir: String) -> String {
        """
        import os, time
        def wait_for(name):
            while not os.path.exists('\(dir)/' + name): time.sleep(0.005)
        def step(name, text=''):
            open('\(dir)/' + name, 'w').write(text)

        """
    }

    /// Asks `found` every `milliseconds` until it gives a value, `stop` says waiting is pointless, or `seconds` have
    /// passed; then asks once more. A test whose wakeup came late (its pool thread busy) judges what is there now,
    /// not what was there before the deadline.
    static func poll<T>(seconds: Double, every milliseconds: Int = 10, stopIf stop: () -> Bool = { false },
                        _ found: () -> T?) async -> T? {
        let deadline = MonotonicClock.nanoseconds() + UInt64(seconds * 1e9)
        while MonotonicClock.nanoseconds() < deadline && !stop() {
            if let value = found() { return value }
            await sleep(milliseconds: milliseconds)
        }
        return found()
    }

    /// Suspends without holding a pool thread (see `run`).
    static func sleep(milliseconds: Int) async { try? await Task.sleep(nanoseconds: UInt64(milliseconds) * 1_000_000) }
}
