@preconcurrency import Glibc
import FoundationEssentials
import HighwaterHarness
import HighwaterProbes
import HighwaterRecords
import Testing
import HighwaterSystem

/// `highwater run` with what a run starts beside the host: nginx for download-accel, the downstream service.
@Suite("Runs with nginx in front and a downstream behind")
struct CompanionRunTests {
    static let nginx = NginxOffload.locate() != nil

    static func runs(_ out: String) throws -> [String: RunSummary] {
        let data = Data(try ProcFile.read(out + "/summary.json").utf8)
        let summary = try JSONDecoder().decode(ResultsSummary.self, from: data)
        return Dictionary(summary.runs.map { ($0.config, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// Processes whose command line mentions `text`.
    static func processes(mentioning text: String) -> [Int32] {
        ((try? ProcDirectory.names("/proc")) ?? []).compactMap { name in
            guard let pid = Int32(name), let line = try? ProcFile.read("/proc/\(name)/cmdline") else { return nil }
            return line.contains(text) ? pid : nil
        }
    }

    @Test("nginx missing: the accel configuration says how to install it and exits 3; the others run")
    func nginxMissing() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-no-nginx")
        defer { TestSupport.removeTree(dir) }
        try FileTree.writeAtomically("""
            name: no-nginx
            executor: {kind: fixed, size: 2}
            workload: {options: {file_size: 256 KiB}}
            load: {requests: 5}
            variants:
              - {config: sendfile, workload.name: download-sendfile}
              - {config: accel, workload.name: download-accel}
            """, to: dir + "/s.yaml")
        var environment = ProcessEnvironment.current
        environment["HIGHWATER_NGINX"] = dir + "/no-such-nginx"
        let r = await TestSupport.run([TestSupport.highwater, "run", "--out", dir + "/out", dir + "/s.yaml"], environment: environment)
        #expect(r.termination == .exited(3), "stderr: \(r.stderr)")
        #expect(r.stderr.contains("apt-get install nginx"), "stderr: \(r.stderr)")
        let runs = try Self.runs(dir + "/out")
        #expect(runs["sendfile"]?.run_error == nil)
        #expect(runs["sendfile"]?.errors == 0)
        #expect(runs["sendfile"]?.workload?[.bytesServed] == Double(5 * 256 << 10))
        #expect(runs["accel"]?.run_error?.contains("nginx") == true)
    }

    @Test("Ctrl-C during a download-accel run stops nginx and leaves no process, config or file behind; SIGKILL leaves no nginx or config",
          .enabled(if: nginx, "nginx is not installed (scripts/install-deps installs it)"), arguments: [SIGINT, SIGKILL])
    func interruptedAccelRun(signal: Int32) async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-accel-int")
        defer { TestSupport.removeTree(dir) }
        let tmp = dir + "/tmp"
        try FileTree.createDirectory(tmp)
        try FileTree.writeAtomically("""
            name: accel-interrupted
            executor: {kind: fixed, size: 2}
            workload: {name: download-accel, options: {file_size: 1 MiB}}
            load: {requests: 1000000, concurrency: 4}
            """, to: dir + "/s.yaml")
        var environment = ProcessEnvironment.current
        environment["TMPDIR"] = tmp
        let run = try ChildProcess([TestSupport.highwater, "run", "--out", dir + "/out", dir + "/s.yaml"],
                                   environment: environment, stdout: .file(dir + "/out.log"), stderr: .file(dir + "/err.log"))
        defer { TestSupport.end(run) }
        let nginx = await TestSupport.poll(seconds: 60, every: 20, stopIf: { run.poll() != nil }) {
            Self.processes(mentioning: tmp + "/highwater-nginx-").first
        }
        try #require(nginx != nil, "nginx never started: \((try? ProcFile.read(dir + "/err.log")) ?? "")")
        // Let the load run a moment, then signal highwater alone: it (or, after SIGKILL, its keeper) must end nginx.
        await TestSupport.sleep(milliseconds: 500)
        run.signal(signal)
        var end = await run.exit(timeoutNs: 60_000_000_000)
        if end == nil { end = await run.terminate() }
        if signal == SIGINT {
            #expect(end == .exited(3), "an interrupted run exits 3")
            #expect(Self.processes(mentioning: tmp).isEmpty, "no nginx (or host) left running")
            #expect(((try? ProcDirectory.names(tmp)) ?? ["?"]).isEmpty, "nginx's config dir and the served file are removed")
        } else {
            #expect(end == .signaled(SIGKILL))
            // Nothing of highwater's is left to clean up: the keeper sees the lifeline close and ends nginx.
            var left = Self.processes(mentioning: tmp)
            for _ in 0..<1500 where !left.isEmpty {
                await TestSupport.sleep(milliseconds: 10)
                left = Self.processes(mentioning: tmp)
            }
            #expect(left.isEmpty, "left running after SIGKILL of highwater: \(left)")
            let nginxDirs = ((try? ProcDirectory.names(tmp)) ?? []).filter { $0.hasPrefix("highwater-nginx-") }
            #expect(nginxDirs.isEmpty, "nginx's config dir is removed: \(nginxDirs)")
        }
    }

    @Test("a client per request opens one connection per call, the shared client at most its pool; stalls and resets are errors by kind, bounded by the timeout",
          .enabled(if: MeasuredRun.available, "python3 is not installed, and it times the run"))
    func downstreamConnections() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-downstream")
        defer { TestSupport.removeTree(dir) }
        try FileTree.writeAtomically("""
            name: downstream
            executor: {kind: fixed, size: 2}
            workload: {options: {response_size: 16 KiB, delay: 1 ms, pool_size: 4, timeout: 10 s}}
            load: {requests: 40, concurrency: 10}
            variants:
              - {config: per-request, workload.name: downstream-per-request}
              - {config: shared, workload.name: downstream-shared}
              - {config: stall, workload.name: downstream-shared, workload.options: {downstream_fault: stall, fault_every: 5, timeout: 300 ms}}
              - {config: reset, workload.name: downstream-shared, workload.options: {downstream_fault: reset, fault_every: 5, timeout: 300 ms}}
            """, to: dir + "/s.yaml")
        // The healthy configurations get a deadline no loaded machine reaches (a debug build making a client per call
        // on two busy cores took over 300 ms); the faulty ones a short one, which the stalls must hit.
        // Timed by MeasuredRun's parent as the run ends, not by this test's next wakeup.
        let r = try await MeasuredRun.run([TestSupport.highwater, "run", "--out", dir + "/out", dir + "/s.yaml"], timeout: 120)
        #expect(r.exitCode == 0, "stderr: \(r.stderr)")
        let runs = try Self.runs(dir + "/out")
        let perRequest = try #require(runs["per-request"]?.workload)
        #expect(perRequest[.downstreamCalls] == 40)
        #expect(perRequest[.downstreamConnections] == 40)
        #expect(perRequest[.bytesServed] == Double(40 * 16 << 10))
        let shared = try #require(runs["shared"]?.workload)
        #expect(shared[.downstreamCalls] == 40)
        #expect((shared[.downstreamConnections] ?? 99) <= 4)
        #expect(runs["shared"]?.errors == 0 && runs["per-request"]?.errors == 0)
        // Every 5th of 40 calls: 8 stalls answered 504 after the 300 ms deadline, 8 resets answered 502.
        #expect(runs["stall"]?.errors == 8)
        #expect(runs["stall"]?.workload?[.errors(kind: "http_504")] == 8)
        #expect(runs["stall"]?.workload?[.downstreamErrors(kind: "timeout")] == 8)
        #expect((runs["stall"]?.latency_ms.max ?? 99_999) < 2_000, "a stall ends at the deadline, not later")
        #expect(runs["reset"]?.errors == 8)
        #expect(runs["reset"]?.workload?[.errors(kind: "http_502")] == 8)
        #expect(runs["reset"]?.workload?[.downstreamErrors(kind: "reset")] == 8)
        #expect(r.seconds < 60, "the run took \(r.seconds) s")
    }
}
