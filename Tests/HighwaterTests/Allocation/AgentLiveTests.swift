@preconcurrency import Glibc
import HighwaterProbes
import HighwaterRecords
import HighwaterSystem
import Testing

/// The agent's live files read while real programs run: known allocations seen through the mapping, mallinfo2 and
/// the arena list answered from inside the target, a target that cannot answer, and processes that fork and exec.
@Suite("The agent's live heap, read from a running target")
struct AgentLiveTests {
    static let agent = AllocationAgentTests.agent
    static let agentBuilt = AllocationAgentTests.agentBuilt

    /// Stepped by files in argv[1]: writes `started`, keeps 320 blocks of 100 000 bytes and 2 of 4 MiB (mmapped)
    /// once `allocate` appears and writes `allocated`; with `churn` present it then allocates and frees a block
    /// every millisecond (something to answer a request on), else it only waits (usleep and access: no malloc).
    static let keeper = #"""
    #include <fcntl.h>
    #include <stdlib.h>
    #include <string.h>
    #include <unistd.h>
    static char dir[3000];
    static int has(const char *name) { char p[3100]; strcpy(p, dir); strcat(p, "/"); strcat(p, name); return access(p, F_OK) == 0; }
    static void step(const char *name) { char p[3100]; strcpy(p, dir); strcat(p, "/"); strcat(p, name); close(open(p, O_WRONLY | O_CREAT, 0644)); }
    static void *keep[400];
    int main(int argc, char **argv) {
        if (argc < 2 || strlen(argv[1]) >= sizeof(dir)) return 2;
        strcpy(dir, argv[1]);
        step("started");
        while (!has("allocate")) usleep(1000);
        for (int i = 0; i < 320; i++) { keep[i] = malloc(100000); memset(keep[i], 1, 100000); }
        for (int i = 320; i < 322; i++) { keep[i] = malloc(4 << 20); memset(keep[i], 1, 4 << 20); }
        step("allocated");
        int churn = has("churn");
        while (!has("end")) {
            if (churn) { void *p = malloc(64); *(volatile char *)p = 1; free(p); }
            usleep(1000);
        }
        return 0;
    }
    """#

    /// The bytes `keeper` keeps: its arena blocks' usable sizes (request + 8, rounded to 16, less 8) and its two
    /// mmapped blocks' (request + 16, rounded to the page, less 16).
    static let kept = 320 * ((100_000 + 8 + 15) / 16 * 16 - 8) + 2 * (((4 << 20) + 16 + 4095) / 4096 * 4096 - 16)

    /// The agent preloaded, counting only, its live file in `live`.
    static func preloadingLive(_ live: String) -> [String: String] {
        var environment = AllocationAgentTests.preloading(agent)
        environment["HIGHWATER_AGENT_SAMPLE_BYTES"] = "off"
        environment[AgentLiveHeap.variable] = live
        return environment
    }

    struct Keeper {
        let child: ChildProcess
        let steps: String
        let live: String
        func step(_ name: String) throws { try FileTree.writeAtomically([UInt8](), to: steps + "/" + name) }

        /// Steps it to keep its memory, waits until it has, and gives its live file.
        func allocated() async throws -> AgentLiveFile {
            try step("allocate")
            try #require(await TestSupport.appears(steps + "/allocated"))
            return try #require(AgentLiveHeap(directory: live).file(of: child.pid))
        }
    }

    /// Starts `keeper` with the agent preloaded and its live files in a fresh directory; `body` gets it once started.
    static func withKeeper(churn: Bool, _ body: (Keeper) async throws -> Void) async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-live")
        defer { TestSupport.removeTree(dir) }
        let program = try await AllocationAgentTests.compile(keeper, named: "keeper", in: dir)
        try FileTree.createDirectory(dir + "/steps")
        try FileTree.createDirectory(dir + "/live")
        if churn { try FileTree.writeAtomically([UInt8](), to: dir + "/steps/churn") }
        let environment = preloadingLive(dir + "/live")
        let child = try ChildProcess([program, dir + "/steps"], environment: environment, stdout: .null, stderr: .null)
        defer { TestSupport.end(child) }
        try #require(await TestSupport.appears(dir + "/steps/started"), "the keeper never started")
        try await body(Keeper(child: child, steps: dir + "/steps", live: dir + "/live"))
    }

    @Test("a C program's live heap is read through its mapping while it runs: what it keeps, to the byte",
          .enabled(if: agentBuilt, "libHighwaterAgent.so is not built beside the tests (swift build builds it)"),
          .enabled(if: AllocationAgentTests.compiler != nil, "no C compiler (cc) to build the test program"))
    func liveHeapOfARunningProgram() async throws {
        try await Self.withKeeper(churn: false) { keeper in
            let heap = AgentLiveHeap(directory: keeper.live)
            let file = try #require(heap.file(of: keeper.child.pid), "no live file \(keeper.live)/\(keeper.child.pid).shm")
            #expect(file.pid == keeper.child.pid)
            let before = file.liveBytes
            try keeper.step("allocate")
            try #require(await TestSupport.appears(keeper.steps + "/allocated"))
            let after = file.liveBytes
            let grown = Int(after) - Int(before)
            // Nothing else allocates between the two readings: the counters move by exactly what was kept.
            #expect(abs(grown - Self.kept) <= Self.kept / 50, "the live heap grew \(grown) bytes; the program keeps \(Self.kept)")
            let reading = try #require(heap.read(pids: [keeper.child.pid]))
            #expect(reading.processes == 1 && reading.liveBytes == after)
            try keeper.step("end")
            #expect(await keeper.child.exit(timeoutNs: 10_000_000_000) == .exited(0))
        }
    }

    @Test("mallinfo2 and the arena list, asked for, are answered by the target's next allocation and agree with the counters",
          .enabled(if: agentBuilt, "libHighwaterAgent.so is not built beside the tests (swift build builds it)"),
          .enabled(if: AllocationAgentTests.compiler != nil, "no C compiler (cc) to build the test program"))
    func mallinfoOnRequest() async throws {
        try await Self.withKeeper(churn: true) { keeper in
            let file = try await keeper.allocated()
            let report = try file.request(timeoutNs: 10_000_000_000)
            let arenas = try #require(report.arenas, "\(report.arenaListError ?? "")")
            #expect(arenas.count >= 1 && arenas.first?.index == 0, "\(arenas)")
            // glibc counts each chunk's size field and the blocks in its per-thread cache as in use; the counters
            // count usable bytes of live blocks: a few KiB apart over 40 MiB.
            let live = Double(report.counters.liveBytes)
            #expect(live >= Double(Self.kept), "counters at the answer: \(report.counters)")
            #expect(abs(Double(report.inUse) - live) <= live * 0.02 + 65536, "mallinfo2 in use \(report.inUse) (uordblks \(report.uordblks) + hblkhd \(report.hblkhd)) against the counters' \(live)")
            #expect(report.hblks == 2 && report.system >= report.inUse, "\(report)")
            // A second request is answered too (the sequence moves on).
            #expect((try? file.request(timeoutNs: 10_000_000_000)) != nil)
        }
    }

    @Test("a target that makes no allocation after the request: a clear timeout, and the counters still read",
          .enabled(if: agentBuilt, "libHighwaterAgent.so is not built beside the tests (swift build builds it)"),
          .enabled(if: AllocationAgentTests.compiler != nil, "no C compiler (cc) to build the test program"))
    func idleTargetTimesOut() async throws {
        try await Self.withKeeper(churn: false) { keeper in
            let file = try await keeper.allocated()
            do throws(AgentLiveFile.Failure) {
                let report = try file.request(timeoutNs: 300_000_000)
                Issue.record("an idle target answered: \(report)")
            } catch {
                #expect(error.description.contains("PID \(keeper.child.pid) made no allocation to answer on within 0.3"), "\(error)")
            }
            #expect(file.liveBytes >= UInt64(Self.kept))
        }
    }

    @Test("a forked child and an exec'd child each map a live file of their own; the parent's counts stay its own",
          .enabled(if: agentBuilt, "libHighwaterAgent.so is not built beside the tests (swift build builds it)"),
          .enabled(if: TestSupport.which("python3") != nil, "python3 is absent"))
    func forkAndExecMapTheirOwn() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-live-fork")
        defer { TestSupport.removeTree(dir) }
        try FileTree.createDirectory(dir + "/live")
        let script = TestSupport.pythonSteps(dir) + """
            import subprocess, sys
            keep = bytearray(8 << 20)
            execd = subprocess.Popen([sys.executable, '-c', 'import os, time; k = bytearray(24 << 20); open("\(dir)/execd", "w").write("x"); time.sleep(120)'])
            forked = os.fork()
            if forked == 0:
                k = bytearray(40 << 20)
                step('forked')
                wait_for('end')
                os._exit(0)
            step('pids', '%d %d' % (execd.pid, forked))
            wait_for('end')
            execd.kill(); execd.wait(); os.waitpid(forked, 0)
            """
        let environment = Self.preloadingLive(dir + "/live")
        let parent = try ChildProcess(["python3", "-c", script], environment: environment, stdout: .null, stderr: .file(dir + "/stderr"))
        defer { TestSupport.end(parent) }
        for name in ["pids", "forked", "execd"] {
            try #require(await TestSupport.appears(dir + "/" + name), "no \(name): \((try? FileTree.readText(dir + "/stderr")) ?? "")")
        }
        let pids = try FileTree.readText(dir + "/pids").split(separator: " ").compactMap { Int32($0) }
        try #require(pids.count == 2)
        let (execd, forked) = (pids[0], pids[1])
        let heap = AgentLiveHeap(directory: dir + "/live")
        let parentLive = try #require(heap.file(of: parent.pid)).liveBytes
        let execdLive = try #require(heap.file(of: execd), "the exec'd child has no live file").liveBytes
        let forkedLive = try #require(heap.file(of: forked), "the forked child has no live file").liveBytes
        #expect(execdLive >= 24 << 20 && execdLive < 40 << 20, "exec'd child: \(execdLive)")
        // The forked child starts with its parent's counts (its heap is a copy) and adds its own 40 MiB.
        #expect(forkedLive >= (40 << 20) + (8 << 20), "forked child: \(forkedLive)")
        #expect(parentLive >= 8 << 20 && parentLive < 24 << 20, "the parent's counts took none of its children's: \(parentLive)")
        // Each header names its own process: the forked child wrote nothing into its parent's pages.
        #expect(heap.file(of: parent.pid)?.pid == parent.pid && heap.file(of: forked)?.pid == forked && heap.file(of: execd)?.pid == execd)
        let all = try #require(heap.read(pids: [parent.pid, execd, forked]))
        #expect(all.processes == 3 && all.liveBytes >= UInt64((8 + 24 + 40 + 8) << 20), "\(all)")
        try FileTree.writeAtomically([UInt8](), to: dir + "/end")
        #expect(await parent.exit(timeoutNs: 30_000_000_000) == .exited(0), "\((try? FileTree.readText(dir + "/stderr")) ?? "")")
    }

    @Test("a program exec'd in place (same PID) replaces the live file, and the reader follows it to the new program",
          .enabled(if: agentBuilt, "libHighwaterAgent.so is not built beside the tests (swift build builds it)"),
          .enabled(if: TestSupport.which("python3") != nil, "python3 is absent"))
    func execInPlaceReplacesTheFile() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-live-exec")
        defer { TestSupport.removeTree(dir) }
        try FileTree.createDirectory(dir + "/live")
        let python = try #require(TestSupport.which("python3"))
        let script = "import time; k = bytearray(24 << 20); open('\(dir)/python', 'w').write('x'); time.sleep(120)"
        let environment = Self.preloadingLive(dir + "/live")
        // The shell maps its file, waits for the test, then becomes python under the same PID.
        let shell = try ChildProcess(["/bin/sh", "-c", "while [ ! -e \(dir)/go ]; do sleep 0.01; done; exec \(python) -c \"\(script)\""],
                                     environment: environment, stdout: .null, stderr: .file(dir + "/stderr"))
        defer { TestSupport.end(shell) }
        let heap = AgentLiveHeap(directory: dir + "/live", refreshNs: 10_000_000)
        var first: AgentLiveFile?
        for _ in 0..<2000 where first == nil {
            first = heap.file(of: shell.pid)
            if first == nil { await TestSupport.sleep(milliseconds: 5) }
        }
        let before = try #require(first, "the shell never mapped \(dir)/live/\(shell.pid).shm")
        #expect(before.liveBytes < 8 << 20, "a shell's heap: \(before.liveBytes)")
        try FileTree.writeAtomically([UInt8](), to: dir + "/go")
        try #require(await TestSupport.appears(dir + "/python"), "\((try? FileTree.readText(dir + "/stderr")) ?? "")")
        await TestSupport.sleep(milliseconds: 20)
        let reading = try #require(heap.read(pids: [shell.pid]))
        let after = try #require(heap.file(of: shell.pid))
        #expect(after.inode != before.inode, "the same file after the exec")
        #expect(reading.processes == 1 && reading.liveBytes >= 24 << 20, "after the exec: \(reading)")
    }

    /// Keeps 32 MiB for half a second, then frees half of it and lingers, so the sampler sees both; a small block
    /// allocated and freed every millisecond meanwhile gives the agent allocations to answer mallinfo2 requests on.
    static let halving = """
        #include <stdlib.h>
        #include <string.h>
        #include <unistd.h>
        static void *keep[320];
        static void churn(int ms) { for (int i = 0; i < ms; i++) { void *p = malloc(64); *(volatile char *)p = 1; free(p); usleep(1000); } }
        int main(void) {
            for (int i = 0; i < 320; i++) { keep[i] = malloc(100000); memset(keep[i], 1, 100000); }
            churn(500);
            for (int i = 0; i < 160; i++) free(keep[i]);
            churn(500);
            return 0;
        }
        """

    @Test("highwater sample --agent writes the target's live heap into every sample while it runs",
          .enabled(if: agentBuilt, "libHighwaterAgent.so is not built beside the tests (swift build builds it)"),
          .enabled(if: AllocationAgentTests.compiler != nil, "no C compiler (cc) to build the test program"))
    func sampleCommandReadsTheLiveHeap() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-live-sample")
        defer { TestSupport.removeTree(dir) }
        let program = try await AllocationAgentTests.compile(Self.halving, named: "halving", in: dir)
        let r = await TestSupport.run([TestSupport.highwater, "sample", "--agent", "--interval", "20ms", "--out", dir + "/out", "--", program])
        #expect(r.termination == .exited(0), "\(r.stderr)")
        let samples = RecordCoding.lines(SampleRecord.self, from: try FileTree.readBytes(dir + "/out/samples.jsonl"))
        let heaps = samples.compactMap(\.heap_in_use)
        // The samples before the agent's constructor ran (the program still loading) have none; every one after does.
        let firstRead = try #require(samples.firstIndex { $0.heap_in_use != nil }, "no sample carries heap_in_use")
        #expect(samples[firstRead...].allSatisfy { $0.heap_in_use != nil } && heaps.count >= 10,
                "\(heaps.count) of \(samples.count) samples carry heap_in_use, from sample \(firstRead) on")
        #expect(samples.compactMap(\.heap_processes).allSatisfy { $0 == 1 })
        let block = (100_000 + 8 + 15) / 16 * 16 - 8
        let peak = heaps.max() ?? 0
        #expect(peak >= UInt64(320 * block) && peak < UInt64(320 * block + (1 << 20)), "peak live heap \(peak)")
        let last = heaps.last ?? 0
        #expect(last >= UInt64(160 * block) && last < UInt64(160 * block + (1 << 20)), "live heap at the end \(last)")
        // mallinfo2 came back at least once (every 200 ms by default) as heap_system and heap_free.
        #expect(samples.contains { ($0.heap_system ?? 0) >= UInt64(160 * block) }, "no mallinfo2 answer in \(samples.count) samples")
        #expect(r.stdout.contains("live heap (read from inside it while it ran"), "\(r.stdout)")
    }
}
