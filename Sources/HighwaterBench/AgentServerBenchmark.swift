@preconcurrency import Glibc
import HighwaterAnalysis
import HighwaterHarness
import HighwaterSystem

/// What recording allocations costs a real multi-threaded server: a uvicorn + Starlette app from the repo's venv
/// whose sync route (run on anyio's thread pool, as Starlette runs `def` handlers) allocates 32 blocks of 16 KiB a
/// request, loaded by wrk (one thread, 8 connections) on loopback. Modes alternate within each round: the server
/// alone, `highwater record --agent` sampling every 512 KiB and recording every allocation, and heaptrack when
/// installed. Each mode starts a fresh server; a second of load warms it (imports, pools, unwinder caches) before
/// the measured run. The figure is wrk's requests a second, compared with the server alone in the same round.
enum AgentServerBenchmark {
    struct Mode: Sendable {
        var name: String
        /// The command before the server's own, and what it adds to the environment.
        var wrapper: [String]
        var environment: [String: String] = [:]
    }

    struct Result: Sendable {
        var name: String
        var requestsPerSecond: [Double]
        var median: Double { Percentiles.of(requestsPerSecond).p50 }
    }

    static let app = """
        from starlette.applications import Starlette
        from starlette.responses import PlainTextResponse
        from starlette.routing import Route


        def work(request):
            # Sync: Starlette runs it on anyio's worker threads. 16 KiB blocks go to glibc's malloc, not pymalloc.
            blocks = [bytearray(16384) for _ in range(32)]
            return PlainTextResponse("ok %d\\n" % len(blocks))


        app = Starlette(routes=[Route("/work", work)])
        """

    /// Why the comparison cannot run here, or nil.
    static func missing(python: String?) -> String? {
        if python == nil { return "no .venv with uvicorn above the executable: scripts/install-deps pip:uvicorn pip:starlette (make bench)" }
        if Executable.find("wrk") == nil { return "wrk is not installed: scripts/install-deps wrk (make bench)" }
        return nil
    }

    static func run(python: String, highwater: String, seconds: Int, rounds: Int, scratch: String) async throws -> [Result] {
        guard let wrk = Executable.find("wrk") else { throw BenchFailure(message: "wrk is not installed") }
        try FileTree.createDirectory(scratch)
        defer { FileTree.removeTree(scratch) }
        try FileTree.writeAtomically(Array(app.utf8), to: scratch + "/bench_app.py")
        // record --agent as a user runs it: the target under the agent, sampled by record, stopped by its time limit.
        func record(_ name: String, every bytes: String) -> Mode {
            Mode(name: name, wrapper: [highwater, "record", "--agent", "--out", scratch + "/record",
                                       "--time-limit", "\(seconds + 10)s", "--"],
                 environment: ["HIGHWATER_AGENT_SAMPLE_BYTES": bytes])
        }
        let modes = [
            Mode(name: "server alone", wrapper: []),
            record("record --agent, sampled 512 KiB", every: "524288"),
            record("record --agent, every allocation", every: "0"),
        ] + (Executable.find("heaptrack").map { [Mode(name: "heaptrack", wrapper: [$0, "-o", scratch + "/heaptrack"])] } ?? [])
        var results = modes.map { Result(name: $0.name, requestsPerSecond: []) }
        for _ in 0..<rounds {
            for (i, mode) in modes.enumerated() {
                if Interruption.requested { return results }
                results[i].requestsPerSecond.append(try await round(mode, python: python, wrk: wrk, seconds: seconds, scratch: scratch))
                FileTree.removeTree(scratch + "/record")
                for trace in (try? FileTree.list(scratch, suffixes: [".zst", ".gz"])) ?? [] { Syscall.unlinkIfPresent(trace) }
            }
        }
        return results
    }

    /// One server under one mode: started, warmed, measured, stopped.
    static func round(_ mode: Mode, python: String, wrk: String, seconds: Int, scratch: String) async throws -> Double {
        let port = try LoopbackPort.free()
        var environment = ProcessEnvironment.current
        for (k, v) in mode.environment { environment[k] = v }
        let server = [python, "-m", "uvicorn", "bench_app:app", "--app-dir", scratch, "--host", "127.0.0.1", "--port", String(port),
                      "--log-level", "warning", "--no-access-log"]
        let child = try ChildProcess(mode.wrapper + server, environment: environment, stdout: .null, stderr: .file(scratch + "/server.err"),
                                     processGroup: true)
        defer { if child.poll() == nil { Syscall.signal(-child.pid, SIGKILL); _ = child.wait() } }
        let deadline = MonotonicClock.nanoseconds() + 60_000_000_000
        while !LoopbackPort.accepts(port) {
            if child.poll() != nil || MonotonicClock.nanoseconds() > deadline {
                throw BenchFailure(message: "\(mode.name): the server did not answer on port \(port); see \(scratch)/server.err")
            }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        let url = "http://127.0.0.1:\(port)/work"
        _ = try await load(wrk: wrk, url: url, seconds: 1, scratch: scratch)
        let rate = try await load(wrk: wrk, url: url, seconds: seconds, scratch: scratch)
        // SIGINT to the group: uvicorn ends cleanly, so the agent's and heaptrack's exit paths run as in use; record
        // ends its target and writes its results, which this waits for (not timed).
        kill(-child.pid, SIGINT)
        if await child.exit(timeoutNs: 300_000_000_000) == nil { kill(-child.pid, SIGKILL) }
        return rate
    }

    /// wrk's requests a second over `seconds`.
    static func load(wrk: String, url: String, seconds: Int, scratch: String) async throws -> Double {
        let out = scratch + "/wrk.out"
        let child = try ChildProcess([wrk, "-t1", "-c8", "-d\(seconds)s", url], stdout: .file(out), stderr: .null)
        let ended: Termination
        if let t = await child.exit(timeoutNs: UInt64(seconds + 30) * 1_000_000_000) { ended = t } else { ended = await child.terminate() }
        let text = (try? FileTree.readText(out)) ?? ""
        guard ended == .exited(0),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Requests/sec:") }),
              let rate = line.split(separator: " ").last.flatMap({ Double($0) })
        else {
            throw BenchFailure(message: "wrk failed (\(ended)): \(text)")
        }
        return rate
    }
}
