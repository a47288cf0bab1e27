@preconcurrency import Glibc
import HighwaterRecords
import Testing
import HighwaterSystem

/// `highwater record` as a user runs it: the built binary against a real Python HTTP server on loopback.
@Suite("The record command", .enabled(if: RecordTestServer.python != nil, "python3 is not installed"))
struct RecordCommandTests {
    @Test("records a server phase by phase as run lays runs out; report and check --results read it; nothing is left")
    func recordsPhases() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-record")
        defer { TestSupport.removeTree(dir) }
        let r = try await RecordTestServer.record(in: dir) { port in
            ["--expect", "threads_max >= 1", "--expect", "growth.classification != linear",
             "--load", "GET http://127.0.0.1:\(port)/work n=30", "--load", "http://127.0.0.1:\(port)/work n=40 c=4 body=8KiB"]
        }
        let out = r.out
        #expect(r.termination == .exited(0), "\(r.stdout)\n\(r.stderr)")
        let results = try RecordTestServer.results(out)
        #expect(results.runs.map(\.run_id) == ["01-get-work", "02-post-work"])
        // The server answers POST with 501: the driver's side records the status of each.
        #expect(results.runs[0].requests == 30 && results.runs[0].errors == 0)
        #expect(results.runs[1].requests == 40 && results.runs[1].errors == 40)
        let requests = RecordCoding.lines(RequestRecord.self, from: try FileTree.readBytes(out + "/record/01-get-work/requests.jsonl"))
        #expect(requests.count == 30)
        #expect(requests.allSatisfy { $0.status == 200 && $0.rss_before > 0 && $0.rss_after > 0 && $0.response_bytes ?? 0 > 0 })
        let posts = RecordCoding.lines(RequestRecord.self, from: try FileTree.readBytes(out + "/record/02-post-work/requests.jsonl"))
        #expect(posts.allSatisfy { $0.status == 501 && $0.request_bytes == 8192 })
        let samples = RecordCoding.lines(SampleRecord.self, from: try FileTree.readBytes(out + "/record/01-get-work/samples.jsonl"))
        #expect(!samples.isEmpty && samples.allSatisfy { $0.processes == 1 && $0.rss > 0 })
        #expect(results.runs[0].growth.classification != .notRun)
        // The census read smaps at its own rate (and once more at the end): the readings carry the heaps, every line the count.
        let census = try #require(results.runs[0].arena_census)
        #expect(census.arenas_max >= 1 && census.readings >= 1 && census.readings <= samples.count, "\(census)")
        #expect(samples.allSatisfy { $0.arenas != nil })
        #expect(results.runs.last?.child_exit != nil)
        for pid in RecordTestServer.pids(dir: dir) { #expect(!RecordTestServer.isAlive(pid), "PID \(pid) outlived the record") }

        let report = await TestSupport.run([TestSupport.highwater, "report", out])
        #expect(report.termination == .exited(0), "\(report.stderr)")
        #expect(access(out + "/report.md", F_OK) == 0)
        let check = await TestSupport.run([TestSupport.highwater, "check", "--results", out])
        #expect(check.termination == .exited(0), "\(check.stdout)\n\(check.stderr)")
        #expect(check.stdout.contains("4 of 4 checks hold"), "\(check.stdout)")
        #expect(results.runs.allSatisfy { $0.expectations.count == 2 && $0.expectations.allSatisfy(\.passed) })
        // Stored once, final: each phase's own file is its entry in DIR/summary.json, expectations and the exit included.
        #expect(try RecordTestServer.phaseSummaries(out) == results.runs)
    }

    @Test("each phase's peak is its own: a 64 MiB spike in the first phase is not the second phase's peak")
    func phasePeaks() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-record-peaks")
        defer { TestSupport.removeTree(dir) }
        let r = try await RecordTestServer.record(in: dir) { port in
            ["--load", "GET http://127.0.0.1:\(port)/spike n=3", "--load", "GET http://127.0.0.1:\(port)/work n=20"]
        }
        let out = r.out
        #expect(r.termination == .exited(0), "\(r.stdout)\n\(r.stderr)")
        let runs = try RecordTestServer.results(out).runs
        try #require(runs.count == 2)
        // The spike came and went within a request: the first phase's peak has it (VmHWM), the second's does not.
        #expect(runs[0].rss_peak >= runs[0].rss_start + 60 << 20, "first phase: peak \(runs[0].rss_peak), start \(runs[0].rss_start)")
        #expect(runs[1].rss_peak + 32 << 20 < runs[0].rss_peak, "second phase's peak \(runs[1].rss_peak) against the first's \(runs[0].rss_peak)")
        #expect(runs.allSatisfy { ($0.notes ?? []).allSatisfy { !$0.contains("could not be reset") } })
    }

    @Test("--agent: each phase's live heap read from inside the running target (samples, requests, verdict, heap_live_*), and the profiles at exit: a leak's phase grows it, the next does not",
          .enabled(if: AllocationAgentTests.agentBuilt, "libHighwaterAgent.so is not built beside highwater"))
    func agent() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-record-agent")
        defer { TestSupport.removeTree(dir) }
        var environment = ProcessEnvironment.current
        environment["HIGHWATER_AGENT_SAMPLE_BYTES"] = "0"
        // At 100 a second the leaking phase lasts 0.4 s however fast the machine: about 40 samples at 10 ms, past the
        // 10 a verdict needs (unpaced, a quiet machine served the 40 in 80 ms: 8 samples, "not enough to judge").
        let r = try await RecordTestServer.record(in: dir, exitOnTerm: true, environment: environment) { port in
            ["--agent", "--load", "GET http://127.0.0.1:\(port)/leak n=40 rate=100", "--load", "GET http://127.0.0.1:\(port)/work n=20"]
        }
        let out = r.out
        #expect(r.termination == .exited(0), "\(r.stdout)\n\(r.stderr)")
        for file in ["alloc-sites.jsonl", "retained.folded", "profile.pb.gz"] {
            #expect(access(out + "/record/" + file, R_OK) == 0, "\(file) missing")
        }
        let runs = try RecordTestServer.results(out).runs
        try #require(runs.count == 2)
        // Read during the run: every sample carries the server's live heap, from one process (it forks no workers).
        let samples = RecordCoding.lines(SampleRecord.self, from: try FileTree.readBytes(out + "/record/" + runs[0].run_id + "/samples.jsonl"))
        #expect(samples.count >= 2 && samples.allSatisfy { $0.heap_in_use ?? 0 > 0 && $0.heap_processes == 1 }, "\(samples.prefix(3))")
        let requests = RecordCoding.lines(RequestRecord.self, from: try FileTree.readBytes(out + "/record/" + runs[0].run_id + "/requests.jsonl"))
        #expect(requests.count == 40 && requests.allSatisfy { $0.heap_in_use_after > 0 })
        // 40 requests each keep a 64 KiB bytes object: the live heap grows by about 2.5 MiB in the first phase, as the
        // phase's figures, its requests (one at a time: read around each) and its verdict's evidence say.
        let leaked = Int64(runs[0].heap_live_end ?? 0) - Int64(runs[0].heap_live_start ?? 0)
        #expect(leaked >= 40 * (64 << 10) * 9 / 10, "live heap grew \(leaked) in the leaking phase: \(runs[0].notes ?? [])")
        let perRequest = requests.dropFirst().map { Int64($0.heap_in_use_after) - Int64($0.heap_in_use_before) }
        #expect(perRequest.filter { $0 >= 64 << 10 }.count >= 30, "per-request live heap deltas: \(perRequest)")
        #expect((runs[0].growth.evidence?.heap_growth_bytes ?? 0) >= 30 * (64 << 10), "\(String(describing: runs[0].growth.evidence))")
        let after = Int64(runs[1].heap_live_end ?? 0) - Int64(runs[1].heap_live_start ?? 0)
        #expect(after < 1 << 20, "live heap grew \(after) in the phase that keeps nothing")
        #expect(runs[0].notes(.liveHeap).contains { $0.hasPrefix("The live heap (the agent, read live from 1 process) went from") }, "\(runs[0].notes ?? [])")
        #expect(runs[1].allocation_sites?.isEmpty == false)
        // The profile spans the target's whole life, both phases: the report draws it with the first and names it in the second
        // (retained and allocated, side by side).
        let html = try FileTree.readText(out + "/index.html")
        #expect(html.components(separatedBy: "font-weight=\"bold\">Retained heap at the end, by stack").count == 2, "drawn once")
        #expect(html.components(separatedBy: "Retained heap at the end, by stack: the profile of the target's whole life, drawn above with").count == 2, "named once")
        // The retention figure sets the live heap at the last census against glibc's resident heaps: the leak's live
        // objects fill most of them, so far from all of it is idle.
        let note = try #require(runs[0].notes?.first { $0.contains("of it not live") }, "\(runs[0].notes ?? [])")
        let share = note.split(separator: "(").last.flatMap { Double($0.prefix { $0 != "%" }) }
        #expect((share ?? 100) < 90, "\(note)")
    }

    @Test("--agent with a server that dies on SIGTERM without exit handlers (Python's default): its samples up to then are profiled",
          .enabled(if: AllocationAgentTests.agentBuilt, "libHighwaterAgent.so is not built beside highwater"))
    func agentWithoutExitHandlers() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-record-agent-term")
        defer { TestSupport.removeTree(dir) }
        // No exitOnTerm: SIGTERM ends python3 at once, and the agent's exit flush never runs.
        let r = try await RecordTestServer.record(in: dir) { port in ["--agent", "--load", "GET http://127.0.0.1:\(port)/leak n=600"] }
        let out = r.out
        #expect(r.termination == .exited(0), "\(r.stdout)\n\(r.stderr)")
        // The census ticks ask the agent to write what it buffered: the leak's samples are on disk before the SIGTERM.
        // 600 requests keep 64 KiB each, 37.5 MiB; the last tick comes up to 200 ms before the end, so most of it.
        let sites = RecordCoding.lines(AllocationSite.self, from: (try? FileTree.readBytes(out + "/record/alloc-sites.jsonl")) ?? [])
        let retained = sites.reduce(0) { $0 + $1.retained_bytes }
        #expect(retained >= 12 << 20, "retained \(retained) of the 37.5 MiB kept: \(r.stdout)\n\(r.stderr)")
    }

    @Test("--agent with a server that starts a child: each process's live file is read, summed, and counted in heap_processes",
          .enabled(if: AllocationAgentTests.agentBuilt, "libHighwaterAgent.so is not built beside highwater"))
    func agentSumsDescendants() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-record-agent-tree")
        defer { TestSupport.removeTree(dir) }
        // The server starts `sleep 300`, which loads the agent too (LD_PRELOAD is inherited) and maps a file of its own.
        let r = try await RecordTestServer.record(in: dir, withChild: true, exitOnTerm: true) { port in
            ["--agent", "--load", "GET http://127.0.0.1:\(port)/leak n=20"]
        }
        let out = r.out
        #expect(r.termination == .exited(0), "\(r.stdout)\n\(r.stderr)")
        let runs = try RecordTestServer.results(out).runs
        let run = try #require(runs.first)
        let samples = RecordCoding.lines(SampleRecord.self, from: try FileTree.readBytes(out + "/record/" + run.run_id + "/samples.jsonl"))
        // Two processes in the tree, both with the agent: both report once the child has started.
        #expect(samples.contains { $0.processes == 2 && $0.heap_processes == 2 }, "\(samples.map { ($0.processes ?? 0, $0.heap_processes ?? 0) })")
        #expect(samples.allSatisfy { ($0.heap_processes ?? 0) <= ($0.processes ?? 1) })
        #expect(run.notes(.liveHeap).contains { $0.hasPrefix("The live heap (the agent, read live from 2 processes) went from") }, "\(run.notes ?? [])")
        for pid in RecordTestServer.pids(dir: dir) { #expect(!RecordTestServer.isAlive(pid), "PID \(pid) outlived the record") }
    }

    @Test("--agent is refused with --pid: a running process cannot take a preload (exit 2)")
    func agentNotWithPID() async throws {
        let r = await TestSupport.run([TestSupport.highwater, "record", "--agent", "--pid", "\(getpid())"])
        #expect(r.termination == .exited(2), "\(r.stderr)")
        #expect(r.stderr.contains("a running PID cannot take a preload"), "\(r.stderr)")
    }

    @Test("a target that crashes mid-load: said so with its exit status and stderr tail, the data kept, exit 1")
    func crashMidLoad() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-record")
        defer { TestSupport.removeTree(dir) }
        let port = RecordTestServer.freePort()
        let server = try RecordTestServer.command(dir: dir, port: port, crashAt: 10, withChild: true)
        let out = dir + "/results"
        let r = await TestSupport.run([TestSupport.highwater, "record", "--ready-log", "listening on port", "--out", out,
                                       "--load", "GET http://127.0.0.1:\(port)/work n=50",
                                       "--load", "GET http://127.0.0.1:\(port)/work n=5", "--"] + server)
        #expect(r.termination == .exited(1), "\(r.stdout)\n\(r.stderr)")
        #expect(r.stderr.contains("exit 3") && r.stderr.contains("boom"), "\(r.stderr)")
        let results = try RecordTestServer.results(out)
        #expect(results.runs.count == 1, "the phase after the crash does not run")
        let run = try #require(results.runs.first)
        #expect(run.child_exit == "exit 3" && run.growth.classification == .crashed)
        #expect(run.stderr_tail?.contains("boom: giving up at request 11") == true, "\(run.stderr_tail ?? "")")
        #expect(run.notes?.contains { $0.contains("ended with exit 3 during the load") } == true, "\(run.notes ?? [])")
        let requests = RecordCoding.lines(RequestRecord.self, from: try FileTree.readBytes(out + "/record/01-get-work/requests.jsonl"))
        #expect(requests.filter { $0.status == 200 }.count == 10)
        // The server's child, left in its process group when it died, is ended too.
        let pids = RecordTestServer.pids(dir: dir)
        #expect(pids.count == 2)
        for pid in pids { #expect(!RecordTestServer.isAlive(pid), "PID \(pid) outlived the record") }
    }

    @Test("a target that never becomes ready: exit 3 with a clear error, and it is stopped")
    func neverReady() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-record")
        defer { TestSupport.removeTree(dir) }
        let port = RecordTestServer.freePort()
        // A shell, not python3: its first line must come out before the timeout even on a busy machine (python3
        // took over a second to start beside two builds).
        let script = "echo $$ > '\(dir)/pids'; echo 'starting, slowly'; exec sleep 300"
        let r = await TestSupport.run([TestSupport.highwater, "record", "--ready", "http://127.0.0.1:\(port)/", "--ready-timeout", "2s",
                                       "--out", dir + "/results", "--", "sh", "-c", script])
        #expect(r.termination == .exited(3), "\(r.stdout)\n\(r.stderr)")
        #expect(r.stderr.contains("not ready when GET http://127.0.0.1:\(port)/ answers within 2 s"), "\(r.stderr)")
        #expect(r.stderr.contains("starting, slowly"), "the target's output tail: \(r.stderr)")
        #expect(RecordTestServer.pids(dir: dir).count == 1)
        for pid in RecordTestServer.pids(dir: dir) { #expect(!RecordTestServer.isAlive(pid)) }
    }

    @Test("a target that ignores SIGTERM is killed after the grace period, with its child: no orphan")
    func ignoresSigterm() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-record")
        defer { TestSupport.removeTree(dir) }
        let r = try await RecordTestServer.record(in: dir, ignoreTerm: true) { port in
            ["--grace", "500ms", "--load", "GET http://127.0.0.1:\(port)/work n=5"]
        }
        let out = r.out
        #expect(r.termination == .exited(0), "\(r.stdout)\n\(r.stderr)")
        let pids = RecordTestServer.pids(dir: dir)
        #expect(pids.count == 2)
        for pid in pids { #expect(!RecordTestServer.isAlive(pid), "PID \(pid) outlived the record") }
        let run = try #require(try RecordTestServer.results(out).runs.last)
        #expect(run.child_exit == "signal 9 (SIGKILL)")
        // The process tree is sampled: the server and its sleep child.
        let samples = RecordCoding.lines(SampleRecord.self, from: try FileTree.readBytes(out + "/record/01-get-work/samples.jsonl"))
        #expect(samples.contains { $0.processes == 2 }, "\(samples.compactMap(\.processes))")
        #expect(run.notes?.contains { $0.contains("ignored SIGTERM") } == true, "\(run.notes ?? [])")
    }

    @Test("a --pid that exits while attached ends the record cleanly, with its data")
    func attachedExits() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-record")
        defer { TestSupport.removeTree(dir) }
        // It exits when the test says so, once the record has sampled it: a loaded machine cannot reorder the steps.
        let child = try ChildProcess(["sh", "-c", "while [ ! -e '\(dir)/go' ]; do sleep 0.01; done"])
        defer { TestSupport.end(child) }
        let out = dir + "/results"
        // A 10 min interval: ending the sampler must not wait for its next tick.
        let record = try ChildProcess([TestSupport.highwater, "record", "--pid", "\(child.pid)", "--time-limit", "10min", "--out", out,
                                       "--interval", "10min"], stdout: .file(dir + "/record.out"), stderr: .file(dir + "/record.err"))
        defer { TestSupport.end(record) }
        let samplesPath = out + "/record/01-observe/samples.jsonl"
        for _ in 0..<12_000 where ((try? FileTree.size(samplesPath)) ?? 0) == 0 { await TestSupport.sleep(milliseconds: 5) }
        try FileTree.writeAtomically("", to: dir + "/go")
        let ended = await record.exit(timeoutNs: 60_000_000_000)
        #expect(ended == .exited(0), "\((try? FileTree.readText(dir + "/record.err")) ?? "")")
        let run = try #require(try RecordTestServer.results(out).runs.first)
        #expect(run.notes?.contains { $0.contains("exited while it was recorded") } == true, "\(run.notes ?? [])")
        let samples = RecordCoding.lines(SampleRecord.self, from: try FileTree.readBytes(samplesPath))
        // The first sample, and the last when it is taken before the process is gone.
        #expect(samples.count >= 1 && samples.count <= 2, "\(samples.count)")
    }

    /// Starts `highwater record` on the test server under a load that outlasts the test, and waits for its first requests.
    static func recordInBackground(dir: String, extra: [String] = []) async throws -> (ChildProcess, String) {
        let port = RecordTestServer.freePort()
        let server = try RecordTestServer.command(dir: dir, port: port, withChild: true)
        let out = dir + "/results"
        let record = try ChildProcess([TestSupport.highwater, "record", "--ready", "http://127.0.0.1:\(port)/", "--out", out, "--grace", "1s",
                                       "--load", "GET http://127.0.0.1:\(port)/work n=10000000"] + extra + ["--"] + server,
                                      stdout: .file(dir + "/record.out"), stderr: .file(dir + "/record.err"))
        #expect(await TestSupport.appears(out + "/record/01-get-work/requests.jsonl"))
        for _ in 0..<2000 where ((try? FileTree.size(out + "/record/01-get-work/requests.jsonl")) ?? 0) == 0 {
            await TestSupport.sleep(milliseconds: 5)
        }
        return (record, out)
    }

    @Test("Ctrl-C mid-load: the server and its child are stopped, the data so far is kept, exit 3")
    func interrupted() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-record")
        defer { TestSupport.removeTree(dir) }
        let (record, out) = try await Self.recordInBackground(dir: dir)
        defer { TestSupport.end(record) }
        record.signal(SIGINT)
        let ended = await record.exit(timeoutNs: 60_000_000_000)
        #expect(ended == .exited(3), "\((try? FileTree.readText(dir + "/record.err")) ?? "")")
        let pids = RecordTestServer.pids(dir: dir)
        #expect(pids.count == 2)
        for pid in pids { #expect(!RecordTestServer.isAlive(pid), "PID \(pid) outlived the record") }
        let run = try #require(try RecordTestServer.results(out).runs.first)
        #expect(run.requests > 0)
        // Interrupted, the phase is still stored whole: its own summary.json is there and says what DIR/summary.json says.
        #expect(try RecordTestServer.phaseSummaries(out) == RecordTestServer.results(out).runs)
    }

    @Test("highwater killed outright: the keeper on the lifeline ends the server's group")
    func killedOutright() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-record")
        defer { TestSupport.removeTree(dir) }
        let (record, _) = try await Self.recordInBackground(dir: dir)
        record.signal(SIGKILL)
        _ = await record.exit()
        let pids = RecordTestServer.pids(dir: dir)
        #expect(pids.count == 2)
        var alive = pids
        for _ in 0..<2000 where !alive.isEmpty {
            await TestSupport.sleep(milliseconds: 10)
            alive = alive.filter(RecordTestServer.isAlive)
        }
        #expect(alive.isEmpty, "outlived a SIGKILLed highwater: \(alive)")
        for pid in alive { kill(pid, SIGKILL) }
    }

    @Test("who fills the watched dir: the deleted spool files the server holds, not its logs elsewhere on the filesystem")
    func deletedFilesHeld() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-record")
        defer { TestSupport.removeTree(dir) }
        let tmp = dir + "/tmp"
        try FileTree.createDirectory(tmp)
        var environment = ProcessEnvironment.current
        environment["TMPDIR"] = tmp
        let r = try await RecordTestServer.record(in: dir, environment: environment) { port in
            ["--watch-dir", tmp, "--load", "POST http://127.0.0.1:\(port)/hold n=3 body=1MiB"]
        }
        let out = r.out
        #expect(r.termination == .exited(0), "\(r.stdout)\n\(r.stderr)")
        let run = try #require(try RecordTestServer.results(out).runs.first)
        let holders = try #require(run.temp_dir_holders)
        let server0 = try #require(RecordTestServer.pids(dir: dir).first)
        // Three unlinked 1 MiB spools; the target's logs (in DIR, on the same filesystem, not deleted) are not counted.
        // A deleted file a concurrent test had open when the server was spawned (an inherited descriptor) is the
        // server's too and may be listed; the logs beside the results never are.
        #expect(!holders.contains { $0.path.hasPrefix(out) }, "\(holders)")
        let spools = holders.filter { $0.path.hasPrefix(tmp + "/") }
        #expect(spools.count == 3 && spools.allSatisfy { $0.deleted && $0.pid == server0 && $0.size_peak == 1 << 20 && $0.dir == tmp }, "\(holders)")
        #expect(run.temp_dir_finding?.contains("(pid \(server0)) held a deleted 1 MiB file") == true, "\(run.temp_dir_finding ?? "")")
        let lines = RecordCoding.lines(OpenFileRecord.self, from: try FileTree.readBytes(out + "/record/01-post-hold/open-files.jsonl"))
        let spoolLines = lines.filter { $0.path.hasPrefix(tmp + "/") }
        #expect(Set(spoolLines.map(\.fd)).count == 3 && spoolLines.allSatisfy { $0.deleted && $0.process.hasPrefix("python") })
    }

    @Test("--env sets the started server's environment: the census compares with its MALLOC_ARENA_MAX, read from /proc/PID/environ")
    func environmentReachesTheTarget() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-record")
        defer { TestSupport.removeTree(dir) }
        let r = try await RecordTestServer.record(in: dir) { port in
            ["--env", "MALLOC_ARENA_MAX=2", "--load", "GET http://127.0.0.1:\(port)/work n=40 c=4"]
        }
        let out = r.out
        #expect(r.termination == .exited(0), "\(r.stdout)\n\(r.stderr)")
        let run = try #require(try RecordTestServer.results(out).runs.first)
        let census = try #require(run.arena_census)
        #expect(census.limit == 2 && census.limit_source == "MALLOC_ARENA_MAX" && census.arenas_max <= 2, "\(census)")
        #expect(run.configuration?.environment["MALLOC_ARENA_MAX"] == "2")
        #expect(r.stderr.contains("glibc arenas (census of /proc/PID/smaps)"), "the finding is printed with the progress: \(r.stderr)")
    }

    @Test("--time-limit cuts the load: recorded as timed out, the server stopped, exit 1")
    func timeLimit() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-record")
        defer { TestSupport.removeTree(dir) }
        let r = try await RecordTestServer.record(in: dir, withChild: true) { port in
            ["--time-limit", "4s", "--load", "GET http://127.0.0.1:\(port)/work n=10000000", "--load", "GET http://127.0.0.1:\(port)/work n=5"]
        }
        let out = r.out
        #expect(r.termination == .exited(1), "\(r.stdout)\n\(r.stderr)")
        #expect(r.stderr.contains("time limit"), "\(r.stderr)")
        let results = try RecordTestServer.results(out)
        #expect(results.runs.count == 1, "the phase after the limit does not run")
        let run = try #require(results.runs.first)
        #expect(run.timed_out_after_s == 4 && run.requests > 0 && run.requests < 10_000_000)
        for pid in RecordTestServer.pids(dir: dir) { #expect(!RecordTestServer.isAlive(pid), "PID \(pid) outlived the record") }
    }

    @Test("--help teaches: the spec grammar, an example, exit codes, defaults as a user writes them")
    func help() async {
        let r = await TestSupport.run([TestSupport.highwater, "record", "--help"])
        #expect(r.termination == .exited(0))
        // As one line: the help wraps to the terminal's width.
        let flat = r.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for text in ["[METHOD] URL [n=N] [c=N | rate=R]", "highwater record --ready http://127.0.0.1:8000/", "Exit codes: 0",
                     "(default: 10ms)", "(default: 200ms)", "(default: 30s)", "(default: 5s)"] {
            #expect(flat.contains(text), "\(text) missing from --help")
        }
    }

    @Test("load only goes to this machine: another host is refused before anything starts (exit 2)")
    func refusesRemote() async {
        let r = await TestSupport.run([TestSupport.highwater, "record", "--load", "GET http://192.0.2.1/ n=1", "--", "true"])
        #expect(r.termination == .exited(2))
        #expect(r.stderr.contains("not this machine"), "\(r.stderr)")
    }
}
