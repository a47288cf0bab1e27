@preconcurrency import Glibc
import HighwaterProbes
import Testing
import HighwaterSystem

/// The arena census read from outside, on the real smaps of a real Python process whose threads malloc.
@Suite("Arena census from /proc/PID/smaps", .enabled(if: TestSupport.which("python3") != nil, "python3 is not installed"))
struct ArenaCensusTests {
    /// Starts python3 with `threads` threads that each allocate (bytearrays over 512 bytes go to malloc, in the
    /// thread's own arena) and wait; returns it once every thread has allocated.
    /// `then` is more of the script, run once the threads have allocated (with its lines unindented).
    static func child(threads: Int, environment: [String: String] = [:], dir: String, then: String = "") async throws -> ChildProcess {
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
        \(then)
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

/// The census's reading of smaps lines that a real process rarely shows at once: the rules for what is an arena
/// heap, each against the mapping that would fool a looser one. (The suite above reads real processes.)
@Suite("Arena census: what counts as a heap")
struct ArenaCensusParseTests {
    static func census(_ lines: [String]) -> ArenaCensus {
        var text = lines.joined(separator: "\n") + "\n"
        return text.withUTF8 { ArenaCensus.parse($0) }
    }

    static func mapping(_ start: UInt64, _ end: UInt64, _ perms: String, inode: String = "0", path: String = "", rssKB: Int? = nil) -> [String] {
        let head = String(start, radix: 16) + "-" + String(end, radix: 16) + " " + perms + " 00000000 00:00 " + inode
            + (path.isEmpty ? "" : "    " + path)
        return [head] + (rssKB.map { ["Size: 1 kB", "Rss:        \($0) kB", "Pss: 1 kB"] } ?? [])
    }

    static let mib: UInt64 = 1 << 20
    static let heap = ArenaCensus.heapMaxSize

    @Test("a heap in use with its reserved remainder, a full heap, and an arena's chained second heap all count")
    func heaps() {
        let base = 0x7f00_0000_0000 as UInt64
        let c = Self.census(
            Self.mapping(base, base + 2 * Self.mib, "rw-p", rssKB: 1500) + Self.mapping(base + 2 * Self.mib, base + Self.heap, "---p")
            + Self.mapping(base + Self.heap, base + 2 * Self.heap, "rw-p", rssKB: 65536)
            + Self.mapping(base + 2 * Self.heap, base + 2 * Self.heap + 132 * 1024, "rw-p", rssKB: 100)
            + Self.mapping(base + 2 * Self.heap + 132 * 1024, base + 3 * Self.heap, "---p")
            + Self.mapping(0x5555_0000_0000, 0x5555_0010_0000, "rw-p", path: "[heap]", rssKB: 900))
        #expect(c.heaps == 3 && c.arenas == 4, "\(c)")
        #expect(c.heapResident == (1500 + 65536 + 100) * 1024, "\(c)")
        #expect(c.mainHeapResident == 900 * 1024)
    }

    @Test("glibc's decorated name (glibc.mem.decorate_maps) is still an arena heap")
    func decorated() {
        let base = 0x7e00_0000_0000 as UInt64
        let c = Self.census(Self.mapping(base, base + Self.mib, "rw-p", path: "[anon: glibc: malloc arena]", rssKB: 4)
                            + Self.mapping(base + Self.mib, base + Self.heap, "---p", path: "[anon: glibc: malloc arena]"))
        #expect(c.heaps == 1, "\(c)")
    }

    @Test("look-alikes do not count: off the 64 MiB boundary, a reservation too short, file-backed, a guard before, not after")
    func lookAlikes() {
        let base = 0x7d00_0000_0000 as UInt64
        // Aligned to 1 MiB only: an ordinary anonymous mapping with a guard after it.
        let misaligned = Self.mapping(base + Self.mib, base + 3 * Self.mib, "rw-p", rssKB: 8) + Self.mapping(base + 3 * Self.mib, base + Self.heap + Self.mib, "---p")
        // Aligned, but the no-access part ends before the 64 MiB a heap reserves.
        let short = Self.mapping(base + Self.heap, base + Self.heap + Self.mib, "rw-p", rssKB: 8)
            + Self.mapping(base + Self.heap + Self.mib, base + Self.heap + 8 * Self.mib, "---p")
        // Aligned and reserved, but a file: a library's data, not the allocator's.
        let file = Self.mapping(base + 2 * Self.heap, base + 2 * Self.heap + Self.mib, "rw-p", inode: "4242", path: "/usr/lib/libx.so", rssKB: 8)
            + Self.mapping(base + 2 * Self.heap + Self.mib, base + 3 * Self.heap, "---p", inode: "4242", path: "/usr/lib/libx.so")
        // A thread stack: its guard page comes before it, and nothing is reserved after.
        let stack = Self.mapping(base + 4 * Self.heap - 4096, base + 4 * Self.heap, "---p")
            + Self.mapping(base + 4 * Self.heap, base + 4 * Self.heap + 8 * Self.mib, "rw-p", rssKB: 40)
        let c = Self.census(misaligned + short + file + stack)
        #expect(c.heaps == 0 && c.heapResident == 0, "\(c)")
    }

    @Test("torn or odd text: a header cut short, a bad address, no Rss line, no newline at the end")
    func tornText() {
        let base = 0x7c00_0000_0000 as UInt64
        var lines = ["7c00", "zz00-7c01 rw-p 00000000 00:00 0", "Rss: 12 kB"]
        lines += Self.mapping(base, base + Self.mib, "rw-p") + Self.mapping(base + Self.mib, base + Self.heap, "---p")
        var text = lines.joined(separator: "\n")
        let c = text.withUTF8 { ArenaCensus.parse($0) }
        // The heap is found; with no Rss line it holds nothing resident, and the torn lines add nothing.
        #expect(c.heaps == 1 && c.heapResident == 0 && c.mainHeapResident == 0, "\(c)")
        var empty = ""
        #expect(empty.withUTF8 { ArenaCensus.parse($0) } == ArenaCensus())
    }
}

