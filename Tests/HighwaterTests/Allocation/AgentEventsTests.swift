@preconcurrency import Glibc
import HighwaterProbes
import HighwaterSystem
import Testing

/// The events path of every-allocation mode (per-thread rings merged in order) in programs that push on it: thousands
/// of threads that start and end, handing blocks to each other; forks while other threads allocate; an exit from a
/// signal handler. Each marks its blocks with a size nothing else allocates and prints what it did, so the events
/// read back must hold exactly that: every allocation, every free after the allocation it ends.
@Suite("The agent's events path under threads, forks and signals")
struct AgentEventsTests {
    static let agent = AllocationAgentTests.agent
    static let ready = AllocationAgentTests.agentBuilt && AllocationAgentTests.compiler != nil

    /// Threads started eight at a time, 3 000 in all, beside two threads that churn throughout. Each allocates five
    /// marked blocks, frees two, frees the block the thread before it handed on (so a free is recorded on another
    /// thread than its allocation), hands one on and keeps two.
    static let threadsProgram = #"""
    #include <malloc.h>
    #include <pthread.h>
    #include <stdio.h>
    #include <stdlib.h>
    #define MARK 7000
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static void *handed;
    static void **kept;
    static volatile int stop;
    static void *churn(void *arg) {
        (void)arg;
        while (!stop) { void *p = malloc(64 + (rand() & 511)); free(p); }
        return NULL;
    }
    static void *brief(void *arg) {
        long i = (long)arg;
        void *mine[5];
        for (int k = 0; k < 5; k++) mine[k] = malloc(MARK);
        free(mine[0]);
        free(mine[1]);
        pthread_mutex_lock(&lock);
        free(handed);
        handed = mine[2];
        pthread_mutex_unlock(&lock);
        kept[2 * i] = mine[3];
        kept[2 * i + 1] = mine[4];
        return NULL;
    }
    int main(int argc, char **argv) {
        long threads = atol(argv[1]);
        kept = calloc((size_t)threads * 2, sizeof(void *));
        pthread_t churners[2], batch[8];
        for (int i = 0; i < 2; i++) pthread_create(&churners[i], NULL, churn, NULL);
        for (long i = 0; i < threads; i += 8) {
            for (long k = 0; k < 8 && i + k < threads; k++) pthread_create(&batch[k], NULL, brief, (void *)(i + k));
            for (long k = 0; k < 8 && i + k < threads; k++) pthread_join(batch[k], NULL);
        }
        stop = 1;
        for (int i = 0; i < 2; i++) pthread_join(churners[i], NULL);
        free(handed);
        void *probe = malloc(MARK);
        printf("usable=%zu allocated=%ld live=%ld\n", malloc_usable_size(probe), threads * 5, threads * 2);
        free(probe);
        return 0;
    }
    """#

    /// The marked allocations in an events file: how many, and how many never freed.
    static func marked(_ path: String, usable: UInt64) throws -> (allocated: Int, live: Int) {
        let events = try AllocationEvents(path: path)
        let mine = events.samples.filter { $0.size == usable }
        return (mine.count, mine.filter { !$0.freed }.count)
    }

    /// "key=value key=value" from the program's last line.
    static func figures(_ output: String) -> [String: Int] {
        let line = output.split(separator: "\n").last ?? ""
        var figures: [String: Int] = [:]
        for pair in line.split(separator: " ") {
            let parts = pair.split(separator: "=")
            if parts.count == 2, let value = Int(parts[1]) { figures[String(parts[0])] = value }
        }
        return figures
    }

    /// Runs `program` recording every allocation into `out`; the figures it printed, each of `names` required.
    static func recordEveryAllocation(_ command: [String], into out: String, names: [String], timeoutNs: UInt64 = 300_000_000_000) async throws
        -> [String: Int]
    {
        var environment = AllocationAgentTests.preloading(agent)
        environment["HIGHWATER_AGENT_SAMPLE_BYTES"] = "0"
        environment["HIGHWATER_AGENT_OUT"] = out
        let r = await TestSupport.run(command, environment: environment, timeoutNs: timeoutNs)
        try #require(r.termination == .exited(0), "\(command): \(r.termination) \(r.stderr)")
        let figures = Self.figures(r.stdout)
        for name in names { _ = try #require(figures[name], "\(name) among the program's figures: \(r.stdout)") }
        return figures
    }

    @Test("3 000 threads that start, allocate, hand blocks on and end: every allocation and free recorded, in order",
          .enabled(if: ready, "needs libHighwaterAgent.so beside the tests and a C compiler (cc)"))
    func thousandsOfThreads() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-events-threads")
        defer { TestSupport.removeTree(dir) }
        let program = try await AllocationAgentTests.compile(Self.threadsProgram, named: "threads", in: dir)
        let expected = try await Self.recordEveryAllocation([program, "3000"], into: dir + "/events", names: ["usable", "allocated", "live"])
        // The probe block (allocated and freed once more) is of the same size.
        let read = try Self.marked(dir + "/events", usable: UInt64(expected["usable"]!))
        #expect(read.allocated == expected["allocated"]! + 1)
        #expect(read.live == expected["live"]!, "a free before its allocation in the file would leave the block live")
    }

    /// Four threads allocate marked blocks without pause while the main thread forks 20 children; each child
    /// allocates 300 blocks of its own mark, keeps 100 and exits. The threads count what they allocated.
    static let forkProgram = #"""
    #include <malloc.h>
    #include <pthread.h>
    #include <stdio.h>
    #include <stdlib.h>
    #include <sys/wait.h>
    #include <unistd.h>
    static volatile int stop;
    static long counts[4];
    static void *churn(void *arg) {
        long i = (long)arg;
        while (!stop) { void *p = malloc(9000); counts[i]++; free(p); }
        return NULL;
    }
    int main(void) {
        pthread_t t[4];
        for (long i = 0; i < 4; i++) pthread_create(&t[i], NULL, churn, (void *)i);
        for (int f = 0; f < 20; f++) {
            usleep(5000);
            pid_t child = fork();
            if (child == 0) {
                static void *keep[100];
                for (int k = 0; k < 300; k++) { void *p = malloc(11000); if (k % 3 == 0) keep[k / 3] = p; else free(p); }
                exit(0);
            }
            int status = 0;
            if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return 3;
        }
        stop = 1;
        long total = 0;
        for (int i = 0; i < 4; i++) { pthread_join(t[i], NULL); total += counts[i]; }
        void *a = malloc(9000), *b = malloc(11000);
        printf("parent_usable=%zu child_usable=%zu parent_allocated=%ld\n", malloc_usable_size(a), malloc_usable_size(b), total);
        free(a);
        free(b);
        return 0;
    }
    """#

    @Test("forks while four threads allocate: no deadlock, the parent keeps every allocation, each child writes all of its own",
          .enabled(if: ready, "needs libHighwaterAgent.so beside the tests and a C compiler (cc)"))
    func forksWhileThreadsAllocate() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-events-fork")
        defer { TestSupport.removeTree(dir) }
        let program = try await AllocationAgentTests.compile(Self.forkProgram, named: "forks", in: dir)
        let expected = try await Self.recordEveryAllocation([program], into: dir + "/events",
                                                            names: ["parent_usable", "child_usable", "parent_allocated"])
        let parent = try Self.marked(dir + "/events", usable: UInt64(expected["parent_usable"]!))
        #expect(parent.allocated == expected["parent_allocated"]! + 1)
        #expect(parent.live == 0)
        let children = try FileTree.list(dir, suffixes: [""]).filter { $0.hasPrefix(dir + "/events.") && !$0.hasSuffix(".maps") }
        #expect(children.count == 20, "a file per child: \(children)")
        for child in children {
            let own = try Self.marked(child, usable: UInt64(expected["child_usable"]!))
            #expect(own.allocated == 300 && own.live == 100, "\(child): \(own)")
        }
    }

    /// Threads allocate without pause; the main thread allocates 500 marked blocks and keeps them. With "raise" it
    /// then raises SIGUSR1, whose handler calls exit(); with "tick" the 40th tick of a SIGPROF timer calls exit() from
    /// whichever thread it lands on, often inside the agent's own paths (a record half appended, the writer's lock held).
    static let signalExitProgram = #"""
    #include <malloc.h>
    #include <signal.h>
    #include <stdio.h>
    #include <stdlib.h>
    #include <string.h>
    #include <sys/time.h>
    #include <pthread.h>
    #include <unistd.h>
    static volatile sig_atomic_t ticks;
    static void on_prof(int sig) { (void)sig; if (++ticks == 40) exit(0); }
    static void on_usr1(int sig) { (void)sig; exit(0); }
    static void *churn(void *arg) { (void)arg; for (;;) { void *p = malloc(64 + (rand() & 1023)); free(p); } return NULL; }
    int main(int argc, char **argv) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_flags = SA_RESTART;
        sa.sa_handler = on_usr1;
        sigaction(SIGUSR1, &sa, NULL);
        static void *keep[500];
        for (int i = 0; i < 500; i++) keep[i] = malloc(13000);
        printf("usable=%zu kept=500\n", malloc_usable_size(keep[0]));
        fflush(stdout);
        pthread_t t[3];
        for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, churn, NULL);
        if (argc > 1 && strcmp(argv[1], "tick") == 0) {
            sa.sa_handler = on_prof;
            sigaction(SIGPROF, &sa, NULL);
            struct itimerval every = {{0, 500}, {0, 500}};
            setitimer(ITIMER_PROF, &every, NULL);
            churn(NULL);
        }
        usleep(50000);
        raise(SIGUSR1);
        return 1;
    }
    """#

    @Test("exit from a signal handler while threads allocate, also from one that lands inside the agent: ends, keeps what it allocated",
          .enabled(if: ready, "needs libHighwaterAgent.so beside the tests and a C compiler (cc)"))
    func exitFromSignalHandler() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-events-signal")
        defer { TestSupport.removeTree(dir) }
        let program = try await AllocationAgentTests.compile(Self.signalExitProgram, named: "signal-exit", in: dir)
        for round in 0..<6 {
            let how = round % 2 == 0 ? "raise" : "tick"
            let out = dir + "/events-\(round)"
            let expected = try await Self.recordEveryAllocation([program, how], into: out, names: ["usable"], timeoutNs: 60_000_000_000)
            let read = try Self.marked(out, usable: UInt64(expected["usable"]!))
            if how == "raise" {
                #expect(read.allocated == 500 && read.live == 500, "round \(round): \(read)")
            } else {
                // A handler that interrupted the agent's own writing may end the process before its last records
                // are merged (waiting there would never end); what was written reads back.
                #expect(read.live <= 500, "round \(round): \(read)")
            }
        }
    }
}
