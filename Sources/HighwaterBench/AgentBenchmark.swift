@preconcurrency import Glibc
import HighwaterAnalysis
import HighwaterHarness
import HighwaterProbes
import HighwaterSystem

/// What the allocation agent costs a program that does little but allocate: a C loop of malloc and free
/// (sizes 16 to 1 039 bytes, 64 blocks in flight, the tcache's fast path: about 6 ns a pair bare), timed
/// bare, with malloc and free only forwarded (the floor of interposing), with the agent counting only (in private
/// memory, and in a live file as `--agent` maps it), sampling at 512 KiB, and recording every allocation, and under heaptrack
/// (when installed) for the ratio against it; rounds alternate so a busy machine weighs on every mode alike, and
/// the loop reads its own thread's CPU time, so time spent descheduled on a shared machine is not counted. Ratios
/// are of the median time per pair.
enum AgentBenchmark {
    struct Mode: Sendable {
        var name: String
        var environment: [String: String]
        var preload: Bool
        /// A tool the loop runs under instead (heaptrack), for the ratio against it in the same run.
        var wrapper: [String] = []
        /// Whether it records every allocation, so it runs the shorter loop.
        var everyAllocation = false
    }

    struct Result: Sendable {
        var name: String
        var nsPerPair: [Double]
        var median: Double { Percentiles.of(nsPerPair).p50 }
    }

    static let program = """
        #include <stdio.h>
        #include <stdlib.h>
        #include <time.h>
        static double now(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec * 1e9 + t.tv_nsec; }
        int main(int argc, char **argv) {
            long n = atol(argv[1]);
            void *ring[64] = {0};
            double start = now();
            for (long i = 0; i < n; i++) { int k = i & 63; free(ring[k]); ring[k] = malloc(16 + (i * 37) % 1024); }
            for (int k = 0; k < 64; k++) free(ring[k]);
            printf("%.3f\\n", (now() - start) / n);
            return 0;
        }
        """

    /// The floor under any interposer: malloc and free preloaded and handed straight to glibc, nothing counted. What
    /// the agent costs above it is its own; the floor itself (one more call a malloc) is the price of interposing.
    static let forwarder = """
        #include <stddef.h>
        extern void *__libc_malloc(size_t size);
        extern void __libc_free(void *ptr);
        __attribute__((visibility("default"))) void *malloc(size_t n) { return __libc_malloc(n); }
        __attribute__((visibility("default"))) void free(void *p) { __libc_free(p); }
        """

    static func run(pairs: Int, everyPairs: Int, rounds: Int, scratch: String) throws -> [Result] {
        guard let cc = Executable.find("cc") else { throw BenchFailure(message: "the agent benchmark compiles a C loop, and cc is not on PATH") }
        guard let agent = AgentPreload.library(besideExecutable: Executable.current) else {
            throw BenchFailure(message: "\(AllocationAgent.libraryName) is not beside \(Executable.current); swift build -c release --product HighwaterAgent")
        }
        try FileTree.createDirectory(scratch)
        defer { FileTree.removeTree(scratch) }
        try FileTree.writeAtomically(Array(program.utf8), to: scratch + "/loop.c")
        try FileTree.writeAtomically(Array(forwarder.utf8), to: scratch + "/forward.c")
        // Where record --agent puts the live files: /dev/shm when it is there.
        let live = try AgentLiveHeap.makeDirectory()
        defer { FileTree.removeTree(live) }
        guard try wait(ChildProcess([cc, "-O2", "-fno-builtin", "-o", scratch + "/loop", scratch + "/loop.c"], stdout: .null, stderr: .null)) == .exited(0),
              try wait(ChildProcess([cc, "-O2", "-fPIC", "-shared", "-o", scratch + "/forward.so", scratch + "/forward.c"], stdout: .null, stderr: .null)) == .exited(0)
        else {
            throw BenchFailure(message: "cc could not build the loop")
        }
        let modes = [
            Mode(name: "bare", environment: [:], preload: false),
            Mode(name: "forwarding only", environment: ["LD_PRELOAD": scratch + "/forward.so"], preload: false),
            Mode(name: "counters", environment: ["HIGHWATER_AGENT_SAMPLE_BYTES": "off"], preload: true),
            // The same counters in the live file a parent reads (sample --agent, record --agent): shared pages, on tmpfs.
            Mode(name: "counters, live", environment: ["HIGHWATER_AGENT_SAMPLE_BYTES": "off", AgentLiveHeap.variable: live],
                 preload: true),
            Mode(name: "sampled 512 KiB", environment: ["HIGHWATER_AGENT_OUT": scratch + "/events", "HIGHWATER_AGENT_SAMPLE_BYTES": "524288"], preload: true),
            Mode(name: "every allocation", environment: ["HIGHWATER_AGENT_OUT": scratch + "/events", "HIGHWATER_AGENT_SAMPLE_BYTES": "0"], preload: true,
                 everyAllocation: true),
        ] + (Executable.find("heaptrack").map {
            [Mode(name: "heaptrack", environment: [:], preload: false, wrapper: [$0, "-o", scratch + "/heaptrack"], everyAllocation: true)]
        } ?? [])
        var results = modes.map { Result(name: $0.name, nsPerPair: []) }
        for _ in 0..<rounds {
            for (i, mode) in modes.enumerated() {
                var environment = ProcessEnvironment.current
                for (k, v) in mode.environment { environment[k] = v }
                if mode.preload { environment["LD_PRELOAD"] = agent }
                // Every allocation unwinds each stack: fewer pairs, the same per-pair figure.
                let n = mode.everyAllocation ? everyPairs : pairs
                let out = scratch + "/out"
                let child = try ChildProcess(mode.wrapper + [scratch + "/loop", String(n)], environment: environment, stdout: .file(out), stderr: .null)
                let ended = try wait(child)
                // The loop's figure is its last number (heaptrack writes its own lines around it).
                let lines = ((try? FileTree.readText(out)) ?? "").split(separator: "\n")
                guard ended == .exited(0), let ns = lines.reversed().lazy.compactMap({ Double($0.filter { !$0.isWhitespace }) }).first else {
                    throw BenchFailure(message: "the loop failed under \(mode.name)")
                }
                results[i].nsPerPair.append(ns)
                Syscall.unlinkIfPresent(scratch + "/events")
                for trace in (try? FileTree.list(scratch, suffixes: [".zst", ".gz"])) ?? [] { Syscall.unlinkIfPresent(trace) }
            }
        }
        return results
    }

    private static func wait(_ child: ChildProcess) throws -> Termination {
        child.wait(timeoutNs: 600_000_000_000) ?? child.terminate()
    }
}
