@preconcurrency import Glibc
import HighwaterRecords
import HighwaterScenarios
import HighwaterSystem
import Testing
import HighwaterHost

/// Scenario files whose target is a server Highwater did not build (`target:`): loaded, swept, and run by
/// `highwater check` through `record`, against a real python3 server on loopback.
@Suite("Scenarios with an external target")
struct ExternalScenarioTests {
    static let cores = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))

    /// A python3 HTTP server on the port of its first argument, whose `/work` runs on a pool of THREADS threads
    /// allocating blocks of 1 KiB from glibc (its own arena per thread), and which writes its pid to `pids`.
    static let server = """
        import os, sys
        from concurrent.futures import ThreadPoolExecutor
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        open(os.path.join(os.path.dirname(sys.argv[0]), 'pids'), 'a').write('%d\\n' % os.getpid())
        pool = ThreadPoolExecutor(max_workers=int(os.environ.get('THREADS', '4')))
        def work():
            return len([bytearray(1024) for _ in range(512)])
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = b'ok %d' % pool.submit(work).result()
                self.send_response(200)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *args):
                pass
        server = ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), Handler)
        print('listening', flush=True)
        server.serve_forever()
        """

    /// A scenario beside `server.py`: the server on `{port}` with a pool of `{threads}`, swept over
    /// MALLOC_ARENA_MAX and, when given, over the pool's size.
    static func scenario(expect: [String], threads: String = "[2, cores * 2]") -> String {
        """
        name: python-pool
        target:
          command: [python3, "{scenario_dir}/server.py", "{port}"]
          parameters: {threads: 2}
          ready_log: ^listening
          load:
            - GET http://127.0.0.1:{port}/work n=40 c={threads}
            - {url: "http://127.0.0.1:{port}/work", requests: 60, concurrency: "{threads}"}
        environment:
          THREADS: "{threads}"
        sweep:
          environment.MALLOC_ARENA_MAX: [1, 2]
          target.parameters.threads: \(threads)
        expect:
        \(expect.map { "  - " + $0 }.joined(separator: "\n"))
        """
    }

    static func write(_ text: String, to path: String) throws {
        try FileTree.writeAtomically(text, to: path)
    }

    @Test("a target's sweep over its environment and a placeholder makes one configuration per point, each phase checked")
    func loadsAndSweeps() throws {
        let text = Self.scenario(expect: ["errors == 0", "{that: arenas_max <= 1, where: {environment.MALLOC_ARENA_MAX: 1}}"])
        let scenario = try ScenarioLoader(cores: Self.cores).load(text: text, file: "/srv/pool.yaml")
        #expect(scenario.plans.isEmpty)
        let configs = scenario.external
        #expect(configs.map(\.config) == ["arena1-threads-2", "arena1-threads-coresx2", "arena2-threads-2", "arena2-threads-coresx2"])
        let last = try #require(configs.last)
        #expect(last.command == ["python3", "/srv/server.py", "{port}"])
        #expect(last.environment == ["MALLOC_ARENA_MAX": "2", "THREADS": "\(2 * Self.cores)"])
        #expect(last.phases == ["GET http://127.0.0.1:{port}/work n=40 c=\(2 * Self.cores)",
                                "http://127.0.0.1:{port}/work n=60 c=\(2 * Self.cores)"])
        #expect(last.ready == .log("^listening") && last.usesPort && last.phasePrefix == "arena2-threads-coresx2-")
        let onPort = last.onPort(4242)
        #expect(onPort.command.last == "4242" && onPort.phases.allSatisfy { $0.contains("127.0.0.1:4242/") })
        #expect(scenario.expectations.count == 2)
    }

    @Test("bad fields of a target are named with their line, before anything starts", arguments: [
        ("a load phase the record parser refuses", "    - GET http://127.0.0.1:{port}/work n=0\n", 6, "n=0"),
        ("load sent off this machine", "    - GET http://10.0.0.1:{port}/work\n", 6, "not this machine"),
        ("a placeholder nobody defines", "    - GET http://127.0.0.1:{port}/work c={workers}\n", 6, "{workers}"),
        ("a phase mapping with a misspelt key", "    - {url: \"http://127.0.0.1:{port}/\", requets: 10}\n", 6, "did you mean `requests`"),
    ])
    func badFields(_ what: String, phase: String, line: Int, says: String) throws {
        let text = "name: bad\ntarget:\n  command: [python3, server.py, \"{port}\"]\n  ready: http://127.0.0.1:{port}/\n  load:\n" + phase
        let error = #expect(throws: ScenarioLoadError.self, "\(what)") { try ScenarioLoader(cores: 2).load(text: text, file: "bad.yaml") }
        let first = try #require(error?.diagnostics.first, "\(what)")
        #expect(first.location.line == line && first.description.contains(says), "\(what): \(first)")
    }

    @Test("a hosted setting beside a target is refused at its line")
    func hostedSettingBesideTarget() throws {
        let text = "name: bad\ntarget:\n  command: [python3, server.py]\n  load: [GET http://127.0.0.1:8000/ n=5]\nexecutor: {kind: eager}\n"
        let error = #expect(throws: ScenarioLoadError.self) { try ScenarioLoader(cores: 2).load(text: text, file: "bad.yaml") }
        #expect(error?.diagnostics.map(\.location.line) == [5])
        #expect(error?.description.contains("`executor.kind` is a setting of a server Highwater hosts") == true)
    }

    @Test("check runs each configuration through record: phases laid out as record lays them, expectations held, nothing left; report and check --results read it",
          .enabled(if: TestSupport.which("python3") != nil, "python3 is not installed"))
    func checkPasses() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-external")
        defer { TestSupport.removeTree(dir) }
        try Self.write(Self.server, to: dir + "/server.py")
        let file = dir + "/pool.yaml"
        try Self.write(Self.scenario(expect: [
            "errors == 0", "requests >= 40",
            // Each worker thread's arena, up to the cap; the pool's threads, a thread per connection and the main one.
            "{that: arenas_max <= 1, where: {environment.MALLOC_ARENA_MAX: 1}}",
            "{that: arenas_max <= 2, where: {environment.MALLOC_ARENA_MAX: 2}}",
            "{that: arenas_max == 1, where: {config: arena1}}",
            "{that: threads_max <= cores * 4 + 4, where: {target.parameters.threads: cores * 2}}",
            "{that: growth.classification != linear, where: {phase: 02-*}}",
        ], threads: "[cores * 2]"), to: file)
        let out = dir + "/results"
        // A configuration an earlier session ran, and this one does not: its directory goes, as a hosted run's would.
        try FileTree.createDirectory(out + "/python-pool/arena9-01-get-work")
        try Self.write("{}", to: out + "/python-pool/arena9-01-get-work/plan.json")
        let r = await TestSupport.run([TestSupport.highwater, "check", "--out", out, file])
        #expect(r.termination == .exited(0), "\(r.stdout)\n\(r.stderr)")
        #expect(access(out + "/python-pool/arena9-01-get-work", F_OK) != 0)
        let runs = try RecordCoding.decode(ResultsSummary.self, from: FileTree.readBytes(out + "/summary.json")).runs
        #expect(runs.map(\.run_id) == ["arena1-01-get-work", "arena1-02-get-work", "arena2-01-get-work", "arena2-02-get-work"])
        #expect(runs.map { $0.configuration?.config } == ["arena1", "arena1", "arena2", "arena2"])
        for run in runs {
            #expect(run.errors == 0 && run.arenas_max != nil && run.expectations.allSatisfy(\.passed), "\(run.run_id): \(run.expectations)")
            #expect(access("\(out)/python-pool/\(run.run_id)/samples.jsonl", R_OK) == 0 && access("\(out)/python-pool/\(run.run_id)/requests.jsonl", R_OK) == 0)
        }
        #expect(r.stdout.contains("20 of 20 checks hold"), "\(r.stdout)")
        let pids = ((try? FileTree.readText(dir + "/pids")) ?? "").split(separator: "\n").compactMap { Int32($0) }
        #expect(pids.count == 2)
        for pid in pids { #expect(kill(pid, 0) != 0, "PID \(pid) outlived the check") }

        let report = await TestSupport.run([TestSupport.highwater, "report", out])
        #expect(report.termination == .exited(0), "\(report.stderr)")
        let again = await TestSupport.run([TestSupport.highwater, "check", "--results", out, file])
        #expect(again.termination == .exited(0) && again.stdout.contains("20 of 20 checks hold"), "\(again.stdout)\n\(again.stderr)")
    }

    @Test("with the agent, each configuration keeps its own output and profiles, and the report draws each one's",
          .enabled(if: TestSupport.which("python3") != nil, "python3 is not installed"),
          .enabled(if: AllocationAgentTests.agentBuilt, "libHighwaterAgent.so is not built beside the tests"))
    func agentPerConfiguration() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-external-agent")
        defer { TestSupport.removeTree(dir) }
        // SIGTERM ends the server as an exit does, so the agent writes its samples.
        try Self.write("import signal, sys\nsignal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\n" + Self.server, to: dir + "/server.py")
        let file = dir + "/pool.yaml"
        try Self.write("""
            name: python-pool
            target:
              command: [python3, "{scenario_dir}/server.py", "{port}"]
              ready_log: ^listening
              agent: true
              load:
                - GET http://127.0.0.1:{port}/work n=40 c=2
            environment:
              HIGHWATER_AGENT_SAMPLE_BYTES: "0"
            sweep:
              environment.MALLOC_ARENA_MAX: [1, 2]
            expect:
              - errors == 0
            """, to: file)
        let out = dir + "/results"
        let r = await TestSupport.run([TestSupport.highwater, "check", "--out", out, file])
        #expect(r.termination == .exited(0), "\(r.stdout)\n\(r.stderr)")
        for configuration in ["arena1", "arena2"] {
            let folder = "\(out)/python-pool/\(configuration)"
            #expect(access(folder + "/alloc-sites.jsonl", R_OK) == 0, "\(configuration) has its own profiles")
            #expect(access(folder + "/target.err.log", R_OK) == 0, "\(configuration) has its own output")
        }
        let page = try FileTree.readText(out + "/index.html")
        #expect(page.components(separatedBy: ", by stack — ").count - 1 >= 2, "a flame graph for each configuration's run")
    }

    @Test("an expectation the target breaks makes check (and run) exit 1 and name it",
          .enabled(if: TestSupport.which("python3") != nil, "python3 is not installed"))
    func checkFails() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-external-fail")
        defer { TestSupport.removeTree(dir) }
        try Self.write(Self.server, to: dir + "/server.py")
        let file = dir + "/pool.yaml"
        // Python runs a few threads of its own beside the pool: one thread in all cannot hold.
        let text = Self.scenario(expect: ["threads_max <= 1"], threads: "[2]")
            .replacing("environment.MALLOC_ARENA_MAX: [1, 2]", with: "environment.MALLOC_ARENA_MAX: [1]")
        try Self.write(text, to: file)
        let r = await TestSupport.run([TestSupport.highwater, "check", "--out", dir + "/results", file])
        #expect(r.termination == .exited(1), "\(r.stdout)\n\(r.stderr)")
        #expect(r.stderr.contains("FAILED python-pool/01-get-work: threads_max <= 1 failed"), "\(r.stderr)")
        #expect(r.stdout.contains("0 of 2 checks hold; 2 failed"), "\(r.stdout)")
        // `run` takes the same path, and exits alike.
        let run = await TestSupport.run([TestSupport.highwater, "run", "--out", dir + "/results", file])
        #expect(run.termination == .exited(1), "\(run.stdout)\n\(run.stderr)")
        #expect(run.stderr.contains("FAILED python-pool/02-get-work: threads_max <= 1 failed"), "\(run.stderr)")
    }

    @Test("a target that never becomes ready makes check exit 3 and say so; it is stopped")
    func checkNotReady() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-external-late")
        defer { TestSupport.removeTree(dir) }
        let file = dir + "/late.yaml"
        // A shell starts in milliseconds even on a busy machine: its pid is written well within the 2 s.
        try Self.write("""
            name: late
            target:
              command: [sh, -c, "echo $$ > \(dir)/pids; exec sleep 60"]
              ready_log: never printed
              ready_timeout: 2s
              load: ["GET http://127.0.0.1:{port}/ n=5"]
            expect: [errors == 0]
            """, to: file)
        let r = await TestSupport.run([TestSupport.highwater, "check", "--out", dir + "/results", file])
        #expect(r.termination == .exited(3), "\(r.stdout)\n\(r.stderr)")
        #expect(r.stderr.contains("late/01-get-root: the target was not ready when its output matches /never printed/ within 2 s"), "\(r.stderr)")
        let pid = try #require(Int32(((try? FileTree.readText(dir + "/pids")) ?? "").filter(\.isNumber)))
        #expect(kill(pid, 0) != 0, "PID \(pid) outlived the check")
    }

    @Test("a bad field makes check exit 2 with file:line, and nothing starts")
    func checkRefusesBadField() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-external-bad")
        defer { TestSupport.removeTree(dir) }
        let file = dir + "/bad.yaml"
        try Self.write("name: bad\ntarget:\n  command: [python3, server.py]\n  ready_timeout: soon\n  load: [GET http://127.0.0.1:8000/ n=5]\n", to: file)
        let r = await TestSupport.run([TestSupport.highwater, "check", "--out", dir + "/results", file])
        #expect(r.termination == .exited(2), "\(r.stdout)\n\(r.stderr)")
        #expect(r.stderr.hasPrefix("\(file):4:18: error: `soon` is not a duration"), "\(r.stderr)")
        #expect(access(dir + "/results", F_OK) != 0)
    }
}
