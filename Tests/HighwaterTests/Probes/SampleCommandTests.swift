@preconcurrency import Glibc
import HighwaterRecords
import Testing
import HighwaterSystem

/// `highwater sample` as a user runs it: the built binary on a real child.
@Suite("The sample command")
struct SampleCommandTests {
    @Test("--help shows the default intervals as a user writes them")
    func helpDefaults() async {
        let r = await TestSupport.run([TestSupport.highwater, "sample", "--help"])
        #expect(r.stdout.contains("(default: 10ms)"), "\(r.stdout)")
        #expect(r.stdout.contains("(default: 1ms)"), "\(r.stdout)")
        #expect(!r.stdout.contains("DurationArgument"))
    }

    @Test("a duration out of bounds names the bound and how to write one, exit 2, before anything starts",
          arguments: [("--interval", "0s", "more than 0"), ("--duration", "200h", "at most 7 days"),
                      ("--warmup", "5", "write a number and a unit")])
    func durationBounds(option: String, value: String, says: String) async {
        let r = await TestSupport.run([TestSupport.highwater, "sample", option, value, "--", "true"])
        #expect(r.termination == .exited(2))
        #expect(r.stderr.contains("'\(value)' is invalid for '\(option)") && r.stderr.contains(says), "\(r.stderr)")
    }

    @Test("a command that exits is reported as exited with its status, and every sample carries wall-clock time")
    func exitAndWallClock() async throws {
        let out = TestSupport.makeTemporaryDirectory("hw-sample")
        defer { TestSupport.removeTree(out) }
        let before = WallClock.nanoseconds()
        let r = await TestSupport.run([TestSupport.highwater, "sample", "--interval", "5ms", "--out", out, "--", "sh", "-c", "sleep 0.3; exit 3"])
        let after = WallClock.nanoseconds()
        #expect(r.termination == .exited(0), "\(r.stderr)")
        #expect(r.stdout.contains("exited (status 3)"), "\(r.stdout)")
        #expect(!r.stdout.contains("zombie") && !r.stderr.contains("zombie"))
        let samples = RecordCoding.lines(SampleRecord.self, from: try FileTree.readBytes(out + "/samples.jsonl"))
        #expect(!samples.isEmpty)
        for s in samples {
            let wall = try #require(s.t_unix_ns)
            #expect(wall >= before && wall <= after)
        }
        // Wall-clock and monotonic times advance together between the first and the last sample (within 50 ms).
        if let first = samples.first, let last = samples.last, let w0 = first.t_unix_ns, let w1 = last.t_unix_ns {
            let mono = Double(last.t_ns - first.t_ns), wall = Double(w1) - Double(w0)
            #expect(abs(mono - wall) < 50e6, "monotonic \(mono) ns, wall \(wall) ns")
        }
    }

    @Test("--census-interval counts the arenas of any process: python3 whose 8 threads malloc", .enabled(if: TestSupport.which("python3") != nil, "python3 is not installed"))
    func census() async throws {
        let cores = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        let threads = min(8, 8 * cores - 1)
        let dir = TestSupport.makeTemporaryDirectory("hw-sample")
        defer { TestSupport.removeTree(dir) }
        let child = try await ArenaCensusTests.child(threads: threads, dir: dir)
        defer { TestSupport.end(child) }
        let r = await TestSupport.run([TestSupport.highwater, "sample", "--pid", "\(child.pid)", "--duration", "300ms",
                                       "--census-interval", "100ms", "--out", dir + "/out"])
        #expect(r.termination == .exited(0), "\(r.stderr)")
        let samples = RecordCoding.lines(SampleRecord.self, from: try FileTree.readBytes(dir + "/out/samples.jsonl"))
        let readings = samples.filter { $0.arena_heaps != nil }
        #expect(!readings.isEmpty && readings.allSatisfy { $0.arena_heaps! >= UInt64(threads) }, "\(readings)")
        #expect(r.stdout.contains("glibc arenas (census of /proc/PID/smaps): ") && r.stdout.contains("its limit \(8 * cores) ("), "\(r.stdout)")
    }
}
