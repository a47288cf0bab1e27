@preconcurrency import Glibc
import HighwaterRecords
import HighwaterProbes
import Testing
import HighwaterSystem

@Suite("Process probes on real processes", .serialized)
struct ProcessProbeTests {
    @Test("a child that starts N threads is seen with at least N threads", .enabled(if: TestSupport.which("python3") != nil, "python3 is not installed"))
    func threadsOfAChild() async throws {
        let python = try #require(TestSupport.which("python3"), "python3 is not installed, and this test starts a python3 child with threads")
        let n = 12
        // The threads outlive any wait of the test (it kills the child): a loaded machine can take seconds to start python.
        let script = "import threading,time\nfor _ in range(\(n)): threading.Thread(target=time.sleep, args=(600,), daemon=True).start()\ntime.sleep(600)"
        let child = try ChildProcess([python, "-c", script])
        defer { TestSupport.end(child) }
        let probe = try ProcessProbe(pid: child.pid)
        var seen: UInt64 = 0
        for _ in 0..<3000 where seen < UInt64(n) {
            seen = max(seen, try probe.status().threads)
            await TestSupport.sleep(milliseconds: 10)
        }
        #expect(seen >= UInt64(n))
        let listed = try probe.threads()
        #expect(listed.count >= n)
        #expect(listed.allSatisfy { !$0.name.isEmpty })
        #expect(try probe.stat().numThreads >= UInt64(n))
    }

    @Test("a child that touches 64 MiB shows RSS up by at least 60 MiB", .enabled(if: TestSupport.which("python3") != nil, "python3 is not installed"))
    func rssOfAChild() async throws {
        let python = try #require(TestSupport.which("python3"), "python3 is not installed, and this test starts a python3 child that touches memory")
        // Steps by files, not by sleeps, so a loaded machine cannot reorder them: python says it is ready, the test
        // reads RSS and says go, python touches 64 MiB and says so.
        let dir = TestSupport.makeTemporaryDirectory()
        defer { TestSupport.removeTree(dir) }
        let script = """
            import time, os
            def wait_for(name):
                while not os.path.exists('\(dir)/' + name): time.sleep(0.01)
            open('\(dir)/ready', 'w').close()
            wait_for('go')
            b = bytearray(64 << 20)
            for i in range(0, len(b), 4096): b[i] = 1
            open('\(dir)/touched', 'w').close()
            time.sleep(600)
            """
        let child = try ChildProcess([python, "-c", script])
        defer { TestSupport.end(child) }
        let probe = try ProcessProbe(pid: child.pid)
        func appears(_ name: String) async -> Bool {
            for _ in 0..<6000 where access(dir + "/" + name, F_OK) != 0 { await TestSupport.sleep(milliseconds: 10) }
            return access(dir + "/" + name, F_OK) == 0
        }
        try #require(await appears("ready"), "python never started")
        let before = try probe.status().vmRSS
        try FileTree.writeAtomically(Array("go".utf8), to: dir + "/go")
        try #require(await appears("touched"), "python never touched its memory")
        let after = try probe.status()
        #expect(after.vmRSS >= before + 60 << 20, "RSS \(before) -> \(after.vmRSS)")
        #expect(after.rssAnon >= 60 << 20)
        #expect(after.vmHWM >= after.vmRSS)
        #expect(try probe.fileDescriptorCount() >= 3)
        let io = try probe.io()
        #expect(io.rchar > 0)
    }

    @Test("a process that has exited gives a clear error, not a crash")
    func exitedProcess() throws {
        let child = try ChildProcess(["true"])
        let probe = try? ProcessProbe(pid: child.pid)
        _ = child.wait()
        // Reaped: its /proc entry is gone.
        #expect(throws: ProbeError.self) { _ = try ProcessProbe(pid: child.pid) }
        if let probe {
            do {
                _ = try probe.status()
            } catch let e as ProbeError {
                #expect(e.description.contains("/proc/\(child.pid)"))
            }
        }
    }

    @Test("smaps_rollup gives a Pss close to RSS for the own process")
    func smapsRollup() throws {
        let probe = try ProcessProbe()
        let rollup = try probe.smapsRollup()
        #expect(rollup.pss > 0)
        #expect(rollup.rss > 0)
    }

    @Test("a missing file names its path and errno")
    func missingFile() {
        do {
            _ = try ProcFile.read("/proc/self/no-such-file")
            Issue.record("expected an error")
        } catch let e as ProbeError {
            #expect(e.description.contains("/proc/self/no-such-file"))
            #expect(e.description.contains("errno"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
