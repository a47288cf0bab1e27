@preconcurrency import Glibc
import HighwaterProbes
import Testing
import HighwaterSystem

/// The arena census read from outside, on the real smaps of a real Python process whose threads malloc.
@Suite("Arena census from /proc/PID/smaps", .enabled(if: TestSupport.which("python3") != nil, "python3 is not installed"))
struct ArenaCensusTests {
    /// Starts python3 with `threads` threads that each allocate (bytearrays over 512 bytes go to malloc, in the
    /// thread's own arena) and wait; returns it once every thread has allocated.
    static func child(threads: Int, environment: [String: String] = [:], dir: String) async throws -> ChildProcess {
        let script = TestSupport.pythonSteps(dir) + """
        import threading
        ready = threading.Barrier(\(threads + 1))
        def work():
            kept = [bytearray(2000) for _ in range(500)]
            ready.wait()
            wait_for('done')
        for _ in range(\(threads)):
            threading.Thread(target=work, daemon=True).start()
        ready.wait()
        step('allocated')
        wait_for('done')
        """
        var env = ProcessEnvironment.current
        for (k, v) in environment { env[k] = v }
        let child = try ChildProcess([TestSupport.which("python3")!, "-c", script], environment: env)
        #expect(await TestSupport.appears(dir + "/allocated"))
        return child
    }

    @Test("threads that malloc each get an arena heap, up to glibc's limit; MALLOC_ARENA_MAX=2 leaves one")
    func countsArenas() async throws {
        let cores = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        // Fewer threads than the default limit (8 x cores, main included), so each gets an arena of its own.
        let threads = min(8, 8 * cores - 1)
        let dir = TestSupport.makeTemporaryDirectory("hw-census")
        defer { TestSupport.removeTree(dir) }
        let child = try await Self.child(threads: threads, dir: dir)
        defer { TestSupport.end(child) }
        let census = try ArenaCensus.read(pid: child.pid)
        #expect(census.heaps >= threads && census.arenas <= 8 * cores, "\(census)")
        // Each thread keeps 500 x 2000 bytes in its heap.
        #expect(census.heapResident >= UInt64(threads) * 500 * 2000, "\(census)")
        #expect(census.mainHeapResident > 0)
        #expect(ProcessEnviron.arenaLimit(pid: child.pid).limit == 8 * cores)

        let limited = TestSupport.makeTemporaryDirectory("hw-census")
        defer { TestSupport.removeTree(limited) }
        let capped = try await Self.child(threads: threads, environment: ["MALLOC_ARENA_MAX": "2"], dir: limited)
        defer { TestSupport.end(capped) }
        let few = try ArenaCensus.read(pid: capped.pid)
        #expect(few.heaps == 1 && few.arenas == 2, "\(few)")
        let limit = ProcessEnviron.arenaLimit(pid: capped.pid)
        #expect(limit.limit == 2 && limit.source == "MALLOC_ARENA_MAX", "\(limit)")
    }

    @Test("a process without threads has only the main arena")
    func mainOnly() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-census")
        defer { TestSupport.removeTree(dir) }
        let script = TestSupport.pythonSteps(dir) + "kept = [bytearray(2000) for _ in range(500)]\nstep('allocated')\nwait_for('done')\n"
        let child = try ChildProcess([TestSupport.which("python3")!, "-c", script])
        defer { TestSupport.end(child) }
        #expect(await TestSupport.appears(dir + "/allocated"))
        let census = try ArenaCensus.read(pid: child.pid)
        #expect(census.heaps == 0 && census.arenas == 1 && census.mainHeapResident >= 500 * 2000, "\(census)")
    }
}
