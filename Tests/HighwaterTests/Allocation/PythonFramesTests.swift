@preconcurrency import Glibc
import HighwaterProbes
import HighwaterRecords
import HighwaterSystem
import Testing

/// The agent's Python frames in real CPython 3.11 processes: named sites and lines, mixed stacks in every output, and
/// the hostile cases (no GIL, a C thread, fork, shutdown, a signal handler, an interpreter it cannot read).
@Suite("Python frames in the agent's samples")
struct PythonFramesTests {
    /// The venv's interpreter (the real executable, not pyenv's shim, which starts shells of its own) when it is 3.11.
    static let python: String? = {
        let candidate = UvicornApp.packageRoot + "/.venv/bin/python"
        guard access(candidate, X_OK) == 0,
              TestSupport.succeeds([candidate, "-c", "import sys; assert sys.version_info[:2] == (3, 11)"]) else { return nil }
        return candidate
    }()
    static var agentBuilt: Bool { AllocationAgentTests.agentBuilt }

    /// `hold` keeps what it allocates at line 5, `churn` drops it at line 8; both under a method and the module.
    static let script = """
        import sys
        keep = []
        def hold(n):
            for i in range(n):
                keep.append(bytes(20000 + i % 7))
        def churn(n):
            for i in range(n):
                b = bytearray(50000)
                del b
        class Server:
            def serve(self):
                hold(1500)
                churn(1500)
        Server().serve()
        import time; time.sleep(0.5)
        """

    /// `highwater sample --agent` on the script: its output and the profiles' files. The scripts end with a wait, as
    /// `sample` reads the process once before it ends (a command over before that first reading fails to start).
    static func sample(_ dir: String, script: String = script, environment extra: [String: String] = [:]) async throws
        -> (stdout: String, sites: [AllocationSite], alloc: String, retained: String)
    {
        try FileTree.writeAtomically(script, to: dir + "/app.py")
        var environment = ProcessEnvironment.current
        environment["HIGHWATER_AGENT_SAMPLE_BYTES"] = "65536"
        for (k, v) in extra { environment[k] = v }
        let r = await TestSupport.run([TestSupport.highwater, "sample", "--agent", "--out", dir + "/out", "--", python!, dir + "/app.py"],
                                      environment: environment)
        #expect(r.termination == .exited(0), "\(r.stdout)\n\(r.stderr)")
        let sites = RecordCoding.lines(AllocationSite.self, from: try FileTree.readBytes(dir + "/out/alloc-sites.jsonl"))
        return (r.stdout, sites, try FileTree.readText(dir + "/out/alloc.folded"), try FileTree.readText(dir + "/out/retained.folded"))
    }

    @Test("the line of every instruction, decoded from the location table, is the line CPython itself gives (co_positions)",
          .enabled(if: python != nil, "the venv's CPython 3.11 is absent"))
    func lineTableAgreesWithCPython() async throws {
        // Every code object of a few standard modules: long jumps between lines, comprehensions, multi-line calls.
        let script = """
            import importlib, inspect
            def walk(c):
                lines = ','.join('-1' if p[0] is None else str(p[0]) for p in c.co_positions())
                print(c.co_firstlineno, c.co_linetable.hex(), lines, sep='\\t')
                for k in c.co_consts:
                    if hasattr(k, 'co_code'): walk(k)
            for name in ['json.decoder', 'argparse', 'asyncio.base_events']:
                module = importlib.import_module(name)
                walk(compile(inspect.getsource(module), module.__file__, 'exec'))
            """
        let r = await TestSupport.run([Self.python!, "-c", script])
        #expect(r.termination == .exited(0), "\(r.stderr)")
        var checked = 0
        for row in r.stdout.split(separator: "\n") {
            let fields = row.split(separator: "\t", omittingEmptySubsequences: false)
            try #require(fields.count == 3)
            let hex = Array(fields[1].utf8)
            let table = stride(from: 0, to: hex.count, by: 2).map { UInt8(String(decoding: hex[$0..<($0 + 2)], as: UTF8.self), radix: 16)! }
            let code = PythonFrames.Code(qualname: "", filename: "", firstLine: Int(fields[0])!, lineTable: table)
            for (instruction, line) in fields[2].split(separator: ",").enumerated() where line != "-1" {
                #expect(code.line(at: instruction) == Int(line)!, "instruction \(instruction) of the code at line \(fields[0])")
                checked += 1
            }
        }
        #expect(checked > 10_000, "\(checked) instructions")
    }

    @Test("the retaining Python function is the top site, by its file and line, with the Python callers in its stack",
          .enabled(if: agentBuilt, "libHighwaterAgent.so is not built beside the tests"),
          .enabled(if: python != nil, "the venv's CPython 3.11 is absent (make test makes .venv)"))
    func namesPythonSites() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-python")
        defer { TestSupport.removeTree(dir) }
        let s = try await Self.sample(dir)
        let file = dir + "/app.py"
        let top = try #require(s.sites.first, "\(s.stdout)")
        #expect(top.site == "hold (\(file):5)", "\(s.sites.prefix(3).map(\.site))")
        // About 30 MB kept: the estimate from samples lands near it.
        #expect(top.retained_bytes > 20_000_000 && top.retained_bytes < 45_000_000, "\(top)")
        let stack = try #require(top.stack)
        #expect(stack.prefix(3) == ["hold (\(file):5)", "Server.serve (\(file):12)", "<module> (\(file):14)"], "\(stack)")
        let churn = try #require(s.sites.first { $0.site == "churn (\(file):8)" }, "\(s.sites.map(\.site))")
        #expect(churn.alloc_bytes > 40_000_000 && churn.retained_bytes < 1_000_000, "\(churn)")
        // Interleaved: the Python frames stand where the evaluation loop was, between native frames.
        let line = try #require(s.retained.split(separator: "\n").first { $0.contains("hold (\(file):5)") })
        #expect(line.contains("<module> (\(file):14);Server.serve (\(file):12);hold (\(file):5);"), "\(line)")
        #expect(!line.contains("_PyEval_EvalFrameDefault"), "\(line)")
        #expect(!line.hasPrefix("<module>"), "native frames (the interpreter's main) stay outside the Python ones: \(line)")
        #expect(s.stdout.contains("Python 3.11"), "\(s.stdout)")
    }

    @Test("go tool pprof reads the Python frames as functions with their file and line",
          .enabled(if: agentBuilt, "libHighwaterAgent.so is not built beside the tests"),
          .enabled(if: python != nil, "the venv's CPython 3.11 is absent"),
          .enabled(if: AllocationProfileTests.go != nil, "go is absent (Debian golang-go)"))
    func pprofHasPythonLines() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-python-pprof")
        defer { TestSupport.removeTree(dir) }
        _ = try await Self.sample(dir)
        var environment = ProcessEnvironment.current
        environment["HOME"] = dir
        let r = await TestSupport.run([AllocationProfileTests.go!, "tool", "pprof", "-top", "-lines", "-sample_index=inuse_space", dir + "/out/profile.pb.gz"],
                                      environment: environment)
        #expect(r.termination == .exited(0), "\(r.stderr)")
        let rows = r.stdout.split(separator: "\n").drop { !$0.contains("flat%") }.dropFirst()
        let top = try #require(rows.first, "\(r.stdout)")
        #expect(top.hasSuffix(" hold \(dir)/app.py:5"), "\(r.stdout)")
        // Module-level code keeps its name (pprof demangles a function whose system name equals its name).
        let traces = await TestSupport.run([AllocationProfileTests.go!, "tool", "pprof", "-traces", "-sample_index=inuse_space", dir + "/out/profile.pb.gz"],
                                           environment: environment)
        #expect(traces.stdout.contains("<module>") && !traces.stdout.contains("<unknown>"), "\(traces.stdout.prefix(3000))")
    }

    @Test("HIGHWATER_AGENT_PYTHON=only folds Python frames alone; =off records native frames only and says so",
          .enabled(if: agentBuilt, "libHighwaterAgent.so is not built beside the tests"),
          .enabled(if: python != nil, "the venv's CPython 3.11 is absent"))
    func onlyAndOff() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-python-only")
        defer { TestSupport.removeTree(dir) }
        let file = dir + "/app.py"
        let only = try await Self.sample(dir, environment: ["HIGHWATER_AGENT_PYTHON": "only"])
        let line = try #require(only.retained.split(separator: "\n").first { $0.contains("hold (") })
        #expect(line.hasPrefix("<module> (\(file):14);Server.serve (\(file):12);hold (\(file):5) "), "\(line)")
        TestSupport.removeTree(dir + "/out")
        let off = try await Self.sample(dir, environment: ["HIGHWATER_AGENT_PYTHON": "off"])
        #expect(!off.alloc.contains(".py:"), "no Python frame with HIGHWATER_AGENT_PYTHON=off")
        #expect(off.alloc.contains("_PyEval_EvalFrameDefault"))
        #expect(off.stdout.contains("its frames were not recorded (HIGHWATER_AGENT_PYTHON=off)"), "\(off.stdout)")
    }

    /// A C thread of the program's own, started and joined through ctypes, allocating while Python threads hold the GIL.
    static let cThread = #"""
    #include <pthread.h>
    #include <stdlib.h>
    static pthread_t thread;
    static void *volatile sink[4096];
    __attribute__((noinline)) void c_thread_allocates(int n) { for (int i = 0; i < n; i++) sink[i % 4096] = malloc(100000); }
    static void *run(void *n) { c_thread_allocates((int)(long)n); return NULL; }
    void start_c_thread(int n) { pthread_create(&thread, NULL, run, (void *)(long)n); }
    void join_c_thread(void) { pthread_join(thread, NULL); }
    """#

    @Test("allocations without the GIL (a C thread, a ctypes call that released it) carry no Python frames, beside threads that hold it",
          .enabled(if: agentBuilt, "libHighwaterAgent.so is not built beside the tests"),
          .enabled(if: python != nil, "the venv's CPython 3.11 is absent"),
          .enabled(if: AllocationAgentTests.compiler != nil, "no C compiler (cc)"))
    func withoutTheGIL() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-python-nogil")
        defer { TestSupport.removeTree(dir) }
        let library = try await AllocationAgentTests.compile(Self.cThread, named: "cthread.so", in: dir, flags: ["-shared", "-fPIC"])
        let script = """
            import ctypes, threading
            lib = ctypes.CDLL('\(library)')
            libc = ctypes.CDLL(None)
            libc.malloc.restype = ctypes.c_void_p
            kept = []
            def python_side():
                for i in range(400): kept.append(bytes(100000))
            def released_gil():
                for i in range(400): kept.append(libc.malloc(100000))
            lib.start_c_thread(400)
            threads = [threading.Thread(target=python_side), threading.Thread(target=released_gil)]
            for t in threads: t.start()
            for t in threads: t.join()
            lib.join_c_thread()
            import time; time.sleep(0.5)
            """
        let s = try await Self.sample(dir, script: script)
        let lines = s.alloc.split(separator: "\n")
        let cThread = lines.filter { $0.contains("c_thread_allocates") }
        #expect(!cThread.isEmpty, "\(s.sites.map(\.site))")
        #expect(cThread.allSatisfy { !$0.contains(".py:") }, "\(cThread)")
        #expect(s.sites.contains { $0.site == "c_thread_allocates" })
        #expect(s.sites.contains { $0.site == "python_side (\(dir)/app.py:7)" }, "\(s.sites.map(\.site))")
        // ctypes.CDLL releases the GIL around the call: the evaluation loop stays a native frame there.
        #expect(lines.contains { $0.contains("ffi_call") }, "libffi's frames are named")
        let released = lines.filter { $0.contains("released_gil") }
        #expect(released.allSatisfy { !$0.contains("ffi_call") }, "a call made without the GIL named Python frames: \(released)")
    }

    @Test("a forked child samples its own Python frames; forks while threads allocate neither deadlock nor crash",
          .enabled(if: agentBuilt, "libHighwaterAgent.so is not built beside the tests"),
          .enabled(if: python != nil, "the venv's CPython 3.11 is absent"))
    func fork() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-python-fork")
        defer { TestSupport.removeTree(dir) }
        let script = """
            import ctypes, os, threading
            done = False
            def spin():
                keep = []
                while not done:
                    keep.append(bytes(50000))
                    if len(keep) > 50: keep.pop(0)
            threads = [threading.Thread(target=spin, daemon=True) for _ in range(4)]
            for t in threads: t.start()
            for k in range(20):
                pid = os.fork()
                if pid == 0:
                    def child_holds():
                        return [bytes(100000) for _ in range(50)]
                    held = child_holds()
                    ctypes.CDLL(None).highwater_agent_flush()
                    os._exit(0)
                os.waitpid(pid, 0)
            done = True
            print('forked')
            """
        try FileTree.writeAtomically(script, to: dir + "/app.py")
        var environment = AllocationAgentTests.preloading(AllocationAgentTests.agent)
        environment["HIGHWATER_AGENT_SAMPLE_BYTES"] = "16384"
        environment["HIGHWATER_AGENT_OUT"] = dir + "/events"
        let r = await TestSupport.run([Self.python!, dir + "/app.py"], environment: environment, timeoutNs: 120_000_000_000)
        #expect(r.termination == .exited(0), "\(r.stderr)")
        #expect(r.stdout == "forked\n")
        let children = try Syscall.directoryNames(dir).filter { $0.hasPrefix("events.") && !$0.hasSuffix(".maps") }
        #expect(children.count == 20, "\(children)")
        var named = 0
        for name in children {
            let events = try AllocationEvents(path: dir + "/" + name)
            if events.python?.state == .recorded, events.pythonCodes.values.contains(where: { $0.qualname == "child_holds.<locals>.<listcomp>" || $0.qualname == "child_holds" }) {
                named += 1
            }
        }
        #expect(named == children.count, "children that wrote their own code records: \(named) of \(children.count)")
    }

    @Test("the interpreter shutting down while daemon threads allocate: no crash, no hang",
          .enabled(if: agentBuilt, "libHighwaterAgent.so is not built beside the tests"),
          .enabled(if: python != nil, "the venv's CPython 3.11 is absent"))
    func shutdown() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-python-exit")
        defer { TestSupport.removeTree(dir) }
        let script = """
            import threading, time
            def spin():
                while True:
                    x = [bytes(30000) for _ in range(10)]
            for _ in range(6): threading.Thread(target=spin, daemon=True).start()
            time.sleep(0.2)
            """
        try FileTree.writeAtomically(script, to: dir + "/app.py")
        var environment = AllocationAgentTests.preloading(AllocationAgentTests.agent)
        environment["HIGHWATER_AGENT_SAMPLE_BYTES"] = "4096"
        environment["HIGHWATER_AGENT_OUT"] = dir + "/events"
        for round in 0..<5 {
            let r = await TestSupport.run([Self.python!, dir + "/app.py"], environment: environment, timeoutNs: 60_000_000_000)
            #expect(r.termination == .exited(0), "round \(round): \(r.stderr)")
            let events = try AllocationEvents(path: dir + "/events")
            #expect(events.samples.contains { $0.stack.contains(where: { $0 >> 56 == 0xFE }) }, "round \(round)")
        }
    }

    /// A SIGPROF handler, installed through ctypes, that allocates every 100 µs of CPU. The Python loop under it pushes
    /// and pops frames without calling malloc, so the handler's allocations land while the evaluation loop rewires its
    /// frame chain (what the agent walks), not inside glibc's malloc, where allocating from a handler is undefined in
    /// glibc itself.
    static let ticker = #"""
    #include <signal.h>
    #include <stdlib.h>
    #include <string.h>
    #include <sys/time.h>
    static volatile sig_atomic_t handled;
    static void on_tick(int sig) { (void)sig; free(malloc(300)); handled++; }
    void start_ticks(void) {
        struct sigaction a; memset(&a, 0, sizeof(a)); a.sa_handler = on_tick; a.sa_flags = SA_RESTART;
        sigaction(SIGPROF, &a, NULL);
        struct itimerval t = {{0, 100}, {0, 100}};
        setitimer(ITIMER_PROF, &t, NULL);
    }
    int stop_ticks(void) { struct itimerval t; memset(&t, 0, sizeof(t)); setitimer(ITIMER_PROF, &t, NULL); return handled; }
    """#

    @Test("a signal handler allocating in a thread that holds the GIL, every allocation sampled: no deadlock, no crash",
          .enabled(if: agentBuilt, "libHighwaterAgent.so is not built beside the tests"),
          .enabled(if: python != nil, "the venv's CPython 3.11 is absent"),
          .enabled(if: AllocationAgentTests.compiler != nil, "no C compiler (cc)"))
    func signalHandler() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-python-signal")
        defer { TestSupport.removeTree(dir) }
        let library = try await AllocationAgentTests.compile(Self.ticker, named: "ticker.so", in: dir, flags: ["-shared", "-fPIC"])
        let script = """
            import ctypes
            lib = ctypes.CDLL('\(library)')
            def down(n):
                return down(n - 1) if n else 0
            lib.start_ticks()
            for i in range(200000):
                down(20)
            print(lib.stop_ticks())
            """
        try FileTree.writeAtomically(script, to: dir + "/app.py")
        var environment = AllocationAgentTests.preloading(AllocationAgentTests.agent)
        environment["HIGHWATER_AGENT_SAMPLE_BYTES"] = "0"
        environment["HIGHWATER_AGENT_OUT"] = dir + "/events"
        let r = await TestSupport.run([Self.python!, dir + "/app.py"], environment: environment, timeoutNs: 120_000_000_000)
        #expect(r.termination == .exited(0), "\(r.stderr)")
        #expect((Int(r.stdout.trimmingPrefix(while: { $0 == " " }).split(separator: "\n").first ?? "") ?? 0) > 0, "handled: \(r.stdout)")
        // The handler's own allocations, sampled with the frames it interrupted.
        let events = try AllocationEvents(path: dir + "/events")
        let file = dir + "/app.py"
        #expect(events.samples.contains { s in s.size >= 300 && s.size < 320 && s.stack.contains { w in
            w >> 56 == 0xFE && events.pythonCodes[(w >> 24) & 0x7FFF_FFFF].map { $0.qualname == "down" && $0.filename == file } == true } })
    }

    /// Stand-ins for interpreters the agent cannot read: one that says it is CPython 3.14 (Py_Version exported), one
    /// named as an interpreter that exports nothing (a static build without its symbols, or a stripped one).
    static let standIn = #"""
    #include <stdlib.h>
    #include <unistd.h>
    #ifdef VERSION
    __attribute__((visibility("default"))) const unsigned long Py_Version = VERSION;
    #endif
    static void *volatile sink[64];
    int main(void) { for (int i = 0; i < 64; i++) sink[i] = malloc(200000); usleep(300000); return 0; }
    """#

    @Test("an unsupported version or an interpreter without symbols: native frames only, and the notes say why",
          .enabled(if: agentBuilt, "libHighwaterAgent.so is not built beside the tests"),
          .enabled(if: AllocationAgentTests.compiler != nil, "no C compiler (cc)"))
    func unreadableInterpreters() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-python-unsupported")
        defer { TestSupport.removeTree(dir) }
        let future = try await AllocationAgentTests.compile(Self.standIn, named: "python3.14", in: dir, flags: ["-rdynamic", "-DVERSION=0x030E00F0"])
        let stripped = try await AllocationAgentTests.compile(Self.standIn, named: "python3.11", in: dir, flags: ["-s"])
        for (program, note) in [(future, "Python 3.14.0 ran, but the agent reads CPython 3.11's frames only: native frames only."),
                                (stripped, "\(stripped) ran, but the agent found none of the interpreter's symbols")] {
            let r = await TestSupport.run([TestSupport.highwater, "sample", "--agent", "--out", dir + "/out", "--", program])
            #expect(r.termination == .exited(0), "\(r.stderr)")
            #expect(r.stdout.contains(note), "\(r.stdout)")
            let folded = try FileTree.readText(dir + "/out/alloc.folded")
            #expect(folded.contains("main") && !folded.contains(".py:"), "\(folded)")
            TestSupport.removeTree(dir + "/out")
        }
    }
}
