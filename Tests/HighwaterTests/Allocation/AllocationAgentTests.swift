@preconcurrency import Glibc
import HighwaterProbes
import HighwaterRecords
import HighwaterSystem
import Testing

/// The preloaded agent in real programs: a C program compiled here that allocates known amounts and reads
/// the agent's counters through dlsym, and a Python program that forks, starts threads and exits at once.
@Suite("The allocation agent preloaded into real programs")
struct AllocationAgentTests {
    static func preloading(_ agent: String) -> [String: String] {
        var environment = ProcessEnvironment.current
        environment["LD_PRELOAD"] = agent
        return environment
    }

    static var agent: String { TestSupport.buildDirectory + "/" + AllocationAgent.libraryName }
    static let agentBuilt = access(agent, R_OK) == 0
    static let compiler = TestSupport.which("cc")

    /// Known allocations through every interposed entry point, on the main thread and on four threads
    /// that each leak 3 blocks of 100 000 bytes, then a fork whose child allocates and exits.
    static let program = #"""
    #define _GNU_SOURCE
    #include <dlfcn.h>
    #include <malloc.h>
    #include <pthread.h>
    #include <stdint.h>
    #include <stdio.h>
    #include <stdlib.h>
    #include <sys/wait.h>
    #include <unistd.h>
    typedef struct { uint64_t allocs, alloc_bytes, frees, freed_bytes; } counters;
    typedef void (*reader)(counters *);
    static reader thread_counters, total_counters;
    static volatile void *sink;
    static void *leaker(void *arg) {
        (void)arg;
        for (int i = 0; i < 3; i++) sink = malloc(100000);
        return NULL;
    }
    int main(void) {
        thread_counters = (reader)dlsym(RTLD_DEFAULT, "highwater_agent_thread_counters");
        total_counters = (reader)dlsym(RTLD_DEFAULT, "highwater_agent_total_counters");
        if (!thread_counters || !total_counters) { printf("agent absent\n"); return 0; }
        counters a, b;
        thread_counters(&a);
        uint64_t expected = 0;
        for (int i = 0; i < 1000; i++) { void *p = malloc(1000); expected += malloc_usable_size(p); free(p); }
        void *p = calloc(10, 100); p = realloc(p, 5000); free(p);
        void *q = NULL; if (posix_memalign(&q, 64, 300) == 0) free(q);
        free(aligned_alloc(64, 256)); free(memalign(4096, 100)); free(valloc(10)); free(pvalloc(10));
        thread_counters(&b);
        printf("main allocs=%lu frees=%lu live=%ld loop_bytes_ok=%d\n", (unsigned long)(b.allocs - a.allocs),
               (unsigned long)(b.frees - a.frees), (long)((b.alloc_bytes - a.alloc_bytes) - (b.freed_bytes - a.freed_bytes)),
               (b.alloc_bytes - a.alloc_bytes) >= expected);
        counters before, after;
        total_counters(&before);
        pthread_t threads[4];
        for (int i = 0; i < 4; i++) pthread_create(&threads[i], NULL, leaker, NULL);
        for (int i = 0; i < 4; i++) pthread_join(threads[i], NULL);
        total_counters(&after);
        long leaked = (long)((after.alloc_bytes - before.alloc_bytes) - (after.freed_bytes - before.freed_bytes));
        printf("threads leaked=%ld\n", leaked);
        fflush(stdout);
        pid_t child = fork();
        if (child == 0) { for (int i = 0; i < 1000; i++) free(malloc(64)); _exit(7); }
        int status = 0;
        waitpid(child, &status, 0);
        printf("fork child=%d\n", WEXITSTATUS(status));
        return 0;
    }
    """#

    @Test("counts every entry point exactly, on every thread, and survives a fork",
          .enabled(if: agentBuilt, "libHighwaterAgent.so is not built beside the tests (swift build builds it)"),
          .enabled(if: compiler != nil, "no C compiler (cc) to build the test program"))
    func countsKnownAllocations() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-agent")
        defer { TestSupport.removeTree(dir) }
        let program = try await Self.compile(Self.program, named: "program", in: dir)

        let plain = await TestSupport.run([program])
        #expect(plain.stdout == "agent absent\n", "without the preload the program sees no agent")

        let r = await TestSupport.run([program], environment: Self.preloading(Self.agent))
        #expect(r.termination == .exited(0), "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        // 1000 + calloc + realloc + posix_memalign + aligned_alloc + memalign + valloc + pvalloc; realloc
        // counts a free of the old block, and printf's buffer may come between the two readings.
        #expect(lines.first?.hasPrefix("main allocs=1007 frees=1007 live=0 loop_bytes_ok=1") == true, "\(lines)")
        // Three blocks of 100 000 bytes on each of four threads that have ended since: folded into the totals.
        // Below the mmap threshold, each is a chunk of the thread's arena: the request plus its 8-byte size
        // field, rounded up to 16, less that field.
        let leaked = lines.first { $0.hasPrefix("threads leaked=") }.flatMap { Int($0.dropFirst("threads leaked=".count)) }
        let perBlock = (100_000 + 8 + 15) / 16 * 16 - 8
        // glibc also keeps each ended thread's TLS vector (a calloc of a few hundred bytes) with its cached stack.
        let leakedBytes = try #require(leaked, "\(lines)")
        #expect(leakedBytes >= 12 * perBlock && leakedBytes < 12 * perBlock + 4 * 4096, "\(lines)")
        #expect(lines.last == "fork child=7", "the forked child allocates and exits without deadlock: \(lines)")
    }

    @Test("a Python program that starts threads, forks and exits without joining, every allocation sampled, ends normally",
          .enabled(if: agentBuilt, "libHighwaterAgent.so is not built beside the tests"),
          .enabled(if: TestSupport.which("python3") != nil, "python3 is absent"))
    func threadsForkAndAbruptExit() async throws {
        let script = """
            import os, threading
            def churn():
                for i in range(20000): bytearray(1000)
            threads = [threading.Thread(target=churn, daemon=True) for _ in range(8)]
            for t in threads: t.start()
            pid = os.fork()
            if pid == 0:
                churn(); os._exit(3)
            _, status = os.waitpid(pid, 0)
            print(os.waitstatus_to_exitcode(status), flush=True)
            os._exit(0)
            """
        let dir = TestSupport.makeTemporaryDirectory("hw-agent-fork")
        defer { TestSupport.removeTree(dir) }
        // Every allocation sampled: the agent's lock and table are busiest when the fork and the exit come.
        var environment = Self.preloading(Self.agent)
        environment["HIGHWATER_AGENT_SAMPLE_BYTES"] = "0"
        environment["HIGHWATER_AGENT_OUT"] = dir + "/events"
        let r = await TestSupport.run(["python3", "-c", script], environment: environment, timeoutNs: 60_000_000_000)
        #expect(r.termination == .exited(0), "\(r.stderr)")
        #expect(r.stdout == "3\n")
        // _exit runs no destructor: what was flushed before it stays readable, with the map to name it.
        let events = try AllocationEvents(path: dir + "/events")
        #expect(!events.samples.isEmpty)
        #expect(access(dir + "/events.maps", R_OK) == 0)
    }

    @Test("preloaded, the agent brings no runtime of its own: no libswiftCore or libstdc++ in the target, and little resident",
          .enabled(if: agentBuilt, "libHighwaterAgent.so is not built beside the tests"),
          .enabled(if: TestSupport.which("python3") != nil, "python3 is absent"))
    func nothingButItself() async throws {
        // What the target maps and holds resident at start, with the agent and without.
        let script = """
            import re
            status = open('/proc/self/status').read()
            maps = open('/proc/self/maps').read()
            print(re.search(r'VmRSS:\\s+(\\d+)', status).group(1), 'libswiftCore' in maps, 'libHighwaterAgent' in maps, 'libstdc++' in maps)
            """
        func reading(_ environment: [String: String]) async throws -> (rssKiB: Int, swift: Bool, agent: Bool, cxx: Bool) {
            let r = await TestSupport.run(["python3", "-c", script], environment: environment)
            let words = r.stdout.split(whereSeparator: \.isWhitespace)
            let rss = try #require(words.first.flatMap { Int($0) }, "python3 printed \(r.stdout) \(r.stderr)")
            return (rss, words.count > 1 && words[1] == "True", words.count > 2 && words[2] == "True", words.count > 3 && words[3] == "True")
        }
        var counting = Self.preloading(Self.agent)
        counting["HIGHWATER_AGENT_SAMPLE_BYTES"] = "off"
        let with = try await reading(counting), without = try await reading(ProcessEnvironment.current)
        #expect(with.agent && !without.agent)
        // Linked as SwiftPM links a library, the agent named libswiftCore: 3.1 MiB more resident in a python3 at start.
        #expect(!with.swift, "the agent brought the Swift runtime into the target")
        // swiftc links a library with -lstdc++, which the agent never calls: named, it was +1.0 MiB in a python3 (14.6
        // against 13.5 MiB); the link's own libstdc++.so (Sources/CHighwaterAgent/link) names it only as needed: +80 KiB.
        #expect(with.cxx == without.cxx, "the agent brought libstdc++ into the target")
        #expect(with.rssKiB - without.rssKiB < 512, "the agent added \(with.rssKiB - without.rssKiB) KiB resident to a python3 at start")
    }

    @Test("a program the sampled process starts, and one it forks, each sample into a file of their own beside the parent's",
          .enabled(if: agentBuilt, "libHighwaterAgent.so is not built beside the tests"),
          .enabled(if: TestSupport.which("python3") != nil, "python3 is absent"))
    func descendantsSampleApart() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-agent-exec")
        defer { TestSupport.removeTree(dir) }
        var environment = Self.preloading(Self.agent)
        environment["HIGHWATER_AGENT_SAMPLE_BYTES"] = "0"
        environment["HIGHWATER_AGENT_OUT"] = dir + "/events"
        // A started program that keeps 1 MiB; a forked child (a pre-forking server's worker) that keeps 2 MiB, each until exit.
        let script = """
            import os, subprocess
            started = subprocess.Popen(['python3', '-c', 'import sys; kept = bytearray(1 << 20); print(flush=True); sys.stdin.read()'],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            started.stdout.readline()
            child = os.fork()
            if child == 0:
                kept = bytearray(2 << 20)
                raise SystemExit(0)  # an ordinary exit, so the agent's exit handler writes what it buffered
            os.waitpid(child, 0)
            started.stdin.close(); started.wait()
            print(os.getpid(), started.pid, child)
            """
        let r = await TestSupport.run(["python3", "-c", script], environment: environment, timeoutNs: 60_000_000_000)
        #expect(r.termination == .exited(0), "\(r.stderr)")
        let pids = r.stdout.split(whereSeparator: \.isWhitespace).compactMap { Int32($0) }
        try #require(pids.count == 3, "\(r.stdout)")
        let parent = try AllocationEvents(path: dir + "/events")
        #expect(parent.pid == pids[0], "the file is the parent's, not truncated by its descendants")
        #expect(!parent.samples.isEmpty)
        for (pid, kept) in [(pids[1], 1 << 20), (pids[2], 2 << 20)] {
            let own = try AllocationEvents(path: dir + "/events.\(pid)")
            #expect(own.pid == pid)
            #expect(access(dir + "/events.\(pid).maps", R_OK) == 0, "its memory map, to name its frames")
            // Every allocation recorded: the kept bytearray is among what it allocated.
            #expect(own.samples.contains { $0.size >= UInt64(kept) }, "pid \(pid) recorded its \(kept)-byte block")
        }
    }

    /// Four threads allocating without end while the main thread calls exit(): the agent's exit flush runs
    /// while they still take its lock and unwind their stacks.
    static let exitingProgram = """
        #include <pthread.h>
        #include <stdlib.h>
        #include <unistd.h>
        static void *churn(void *arg) { (void)arg; for (;;) { void *p = malloc(64 + (rand() & 1023)); free(p); } return NULL; }
        int main(void) {
            pthread_t t[4];
            for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, churn, NULL);
            usleep(100000);
            exit(0);
        }
        """

    @Test("a program that exits while its threads allocate, every allocation sampled or one per 4 KiB, ends at once",
          .enabled(if: agentBuilt, "libHighwaterAgent.so is not built beside the tests"),
          .enabled(if: compiler != nil, "no C compiler (cc) to build the test program"))
    func exitWhileSampling() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-agent-exit")
        defer { TestSupport.removeTree(dir) }
        let program = try await Self.compile(Self.exitingProgram, named: "exiting", in: dir)
        for every in ["0", "4096", "0", "4096", "0"] {
            var environment = Self.preloading(Self.agent)
            environment["HIGHWATER_AGENT_SAMPLE_BYTES"] = every
            environment["HIGHWATER_AGENT_OUT"] = dir + "/events"
            let r = await TestSupport.run([program], environment: environment, timeoutNs: 60_000_000_000)
            #expect(r.termination == .exited(0), "sampling every \(every) bytes: \(r.termination) \(r.stderr)")
            // What was flushed is whole: the file reads back, torn last record or not.
            #expect(((try? AllocationEvents(path: dir + "/events"))?.samples.isEmpty) == false)
        }
    }

    /// 200 blocks of 100 000 bytes kept by `leaky`, and as many of 5 000 freed at once by `main`; then it
    /// lingers, so the sampler finds it alive (`sample` cannot sample a process that has already ended).
    static let leakyProgram = """
        #include <stdlib.h>
        #include <string.h>
        #include <unistd.h>
        static void *keep[200];
        __attribute__((noinline)) void leaky(int i) { keep[i] = malloc(100000); memset(keep[i], 1, 100000); }
        int main(void) { for (int i = 0; i < 200; i++) { leaky(i); free(malloc(5000)); } usleep(300000); return 0; }
        """

    /// Builds a test program unoptimized, so no allocation is elided; the path of the binary.
    static func compile(_ source: String, named name: String, in dir: String, flags: [String] = []) async throws -> String {
        try FileTree.writeAtomically(Array(source.utf8), to: "\(dir)/\(name).c")
        let build = await TestSupport.run([Self.compiler!, "-O0", "-fno-builtin"] + flags
                                          + ["-o", "\(dir)/\(name)", "\(dir)/\(name).c", "-lpthread"])
        try #require(build.termination == .exited(0), "cc: \(build.stderr)")
        return "\(dir)/\(name)"
    }

    /// Allocates and frees in a SIGPROF handler that fires every 100 µs of CPU time while the main loop allocates and
    /// frees: the handler lands inside the agent's own paths (its sampling lock held), which must neither deadlock nor
    /// crash. malloc in a handler is undefined in glibc itself (a handler that lands inside glibc's tcache can corrupt
    /// it); timed by CPU, not wall time, the signals come as often per allocation on a busy machine as on a quiet one,
    /// where it passed 170 runs of 170. With a wall-clock timer, beside the whole suite and three builds the handler came
    /// many times as often per allocation, and the program aborted (SIGABRT) once.
    static let signalProgram = #"""
    #include <signal.h>
    #include <stdlib.h>
    #include <string.h>
    #include <sys/time.h>
    static volatile sig_atomic_t handled;
    static void on_tick(int sig) {
        (void)sig;
        void *p = malloc(100 + (handled % 5000));
        if (p) { memset(p, 1, 16); free(p); }
        handled++;
    }
    int main(void) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_tick;
        sa.sa_flags = SA_RESTART;
        sigaction(SIGPROF, &sa, NULL);
        struct itimerval every = {{0, 100}, {0, 100}};
        setitimer(ITIMER_PROF, &every, NULL);
        for (long i = 0; i < 3000000 || handled < 200; i++) {
            void *p = malloc(64 + (size_t)(i % 70000));
            if (p) { ((char *)p)[0] = 1; free(p); }
        }
        struct itimerval off = {{0, 0}, {0, 0}};
        setitimer(ITIMER_PROF, &off, NULL);
        return handled >= 200 ? 0 : 2;
    }
    """#

    @Test("a program that allocates inside signal handlers, which land in the agent's own paths: no deadlock, no crash, in every mode",
          .enabled(if: agentBuilt, "libHighwaterAgent.so is not built beside the tests"),
          .enabled(if: compiler != nil, "no C compiler (cc) to build the test program"))
    func allocationsInSignalHandlers() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-agent-signal")
        defer { TestSupport.removeTree(dir) }
        let program = try await Self.compile(Self.signalProgram, named: "signals", in: dir)
        for sampling in ["0", "4096", "524288", "off"] {
            var environment = Self.preloading(Self.agent)
            environment["HIGHWATER_AGENT_SAMPLE_BYTES"] = sampling
            environment["HIGHWATER_AGENT_OUT"] = dir + "/events-" + sampling
            let r = await TestSupport.run([program], environment: environment, timeoutNs: 120_000_000_000)
            #expect(r.termination == .exited(0), "sampling \(sampling): \(r.termination) \(r.stderr)")
            if sampling != "off" {
                #expect((try? AllocationEvents(path: dir + "/events-" + sampling)) != nil, "sampling \(sampling): the events file is readable")
            }
        }
    }

    static func compileLeaky(_ dir: String, static linkStatically: Bool) async throws -> String {
        try await compile(leakyProgram, named: linkStatically ? "leaky-static" : "leaky", in: dir, flags: linkStatically ? ["-static"] : [])
    }

    @Test("highwater sample --agent profiles a C program: its leaking function retains what it leaked",
          .enabled(if: agentBuilt, "libHighwaterAgent.so is not built beside the tests"),
          .enabled(if: compiler != nil, "no C compiler (cc) to build the test program"))
    func sampleCommandProfilesAProgram() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-agent-sample")
        defer { TestSupport.removeTree(dir) }
        let program = try await Self.compileLeaky(dir, static: false)
        var environment = ProcessEnvironment.current
        environment["HIGHWATER_AGENT_SAMPLE_BYTES"] = "0"
        let r = await TestSupport.run([TestSupport.highwater, "sample", "--agent", "--out", dir + "/out", "--", program],
                                      environment: environment)
        #expect(r.termination == .exited(0), "\(r.stderr)")
        let sites = RecordCoding.lines(AllocationSite.self, from: try FileTree.readBytes(dir + "/out/alloc-sites.jsonl"))
        let top = try #require(sites.first, "\(r.stdout)")
        #expect(top.site == "leaky" && top.stack?.dropFirst().first == "main", "\(sites.prefix(2))")
        #expect(top.retained_count == 200 && top.retained_bytes == 200 * 100_008, "\(top)")
        let freed = sites.first { $0.site == "main" }
        #expect(freed?.retained_bytes == 0 && freed?.alloc_count == 200, "\(sites)")
    }

    @Test("a statically linked program is sampled without the agent, and told why",
          .enabled(if: agentBuilt, "libHighwaterAgent.so is not built beside the tests"),
          .enabled(if: compiler != nil, "no C compiler (cc) to build the test program"))
    func staticProgram() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-agent-static")
        defer { TestSupport.removeTree(dir) }
        let program = try await Self.compileLeaky(dir, static: true)
        let r = await TestSupport.run([TestSupport.highwater, "sample", "--agent", "--out", dir + "/out", "--", program])
        #expect(r.termination == .exited(0), "\(r.stderr)")
        #expect(r.stderr.contains("is statically linked: the agent cannot be preloaded"), "\(r.stderr)")
        #expect(access(dir + "/out/samples.jsonl", R_OK) == 0, "sampling went on")
        #expect(access(dir + "/out/alloc-sites.jsonl", F_OK) != 0)
    }
}
