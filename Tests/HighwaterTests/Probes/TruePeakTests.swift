@preconcurrency import Glibc
import HighwaterRecords
import HighwaterProbes
import Testing
import HighwaterSystem

/// The peak a run reports includes a spike that came and went between two samples: the kernel's VmHWM.
@Suite("True peaks", .serialized)
struct TruePeakTests {
    @Test("a child whose RSS spikes by 64 MiB for 2 ms between samples: the reported peak includes it",
          .enabled(if: TestSupport.which("python3") != nil, "python3 is not installed"))
    func spikeBetweenSamples() async throws {
        let python = try #require(TestSupport.which("python3"), "python3 is not installed, and this test starts a python3 child")
        let dir = TestSupport.makeTemporaryDirectory()
        defer { TestSupport.removeTree(dir) }
        // Populated at once (MAP_POPULATE), held 2 ms, unmapped: a spike far shorter than the 500 ms interval.
        let script = TestSupport.pythonSteps(dir) + """
            import mmap
            step('ready')
            wait_for('go')
            m = mmap.mmap(-1, 64 << 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | getattr(mmap, 'MAP_POPULATE', 0x8000))
            time.sleep(0.002)
            m.close()
            step('spiked')
            time.sleep(600)
            """
        let child = try ChildProcess([python, "-c", script])
        defer { TestSupport.end(child) }
        try #require(await TestSupport.appears(dir + "/ready"), "python never started")
        let sampler = try Sampler(options: .init(intervalNs: 500_000_000, pid: child.pid), appendingTo: dir + "/samples.jsonl")
        sampler.start()
        defer { sampler.stop() }
        // The first sample is taken at start; wait for it, so the baseline is from before the spike.
        for _ in 0..<2000 where sampler.totals.samples == 0 { await TestSupport.sleep(milliseconds: 1) }
        let baseline = try #require(sampler.totals.latest?.rss)
        try FileTree.writeAtomically(Array("go".utf8), to: dir + "/go")
        try #require(await TestSupport.appears(dir + "/spiked"), "python never spiked")
        let totals = sampler.stop()
        // The kernel's RSS counters are per-CPU and approximate by a few hundred KiB, hence 60 of the 64 MiB.
        #expect(totals.peak >= baseline + 60 << 20, "peak \(totals.peak), baseline \(baseline)")
        if totals.peakRSS < baseline + 60 << 20 {
            #expect(totals.peakSource == "VmHWM")
        }
        // The file says so too: the last line, taken at stop, carries the kernel's mark.
        let samples = RecordCoding.lines(SampleRecord.self, from: try FileTree.readBytes(dir + "/samples.jsonl"))
        #expect((samples.last?.vm_hwm ?? 0) >= baseline + 60 << 20)
    }

    @Test("a phase's peak is its own: resetting VmHWM after a 64 MiB spike gives the spike to the phase that had it, not the next",
          .enabled(if: TestSupport.which("python3") != nil, "python3 is not installed"))
    func phasePeaks() async throws {
        let python = try #require(TestSupport.which("python3"), "python3 is not installed, and this test starts a python3 child")
        let dir = TestSupport.makeTemporaryDirectory()
        defer { TestSupport.removeTree(dir) }
        let script = TestSupport.pythonSteps(dir) + """
            import mmap
            m = mmap.mmap(-1, 64 << 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | getattr(mmap, 'MAP_POPULATE', 0x8000))
            m.close()
            step('spiked')
            time.sleep(600)
            """
        let child = try ChildProcess([python, "-c", script])
        defer { TestSupport.end(child) }
        try #require(await TestSupport.appears(dir + "/spiked"), "python never spiked")
        let probe = try ProcessProbe(pid: child.pid)
        let rss = try probe.statm().resident
        let first = try probe.resetPeak()
        #expect(first >= rss + 60 << 20, "the first phase's peak \(first) should hold the spike over RSS \(rss)")
        // The second phase starts from the RSS at the reset: its peak is far below the spike.
        let second = try probe.peakResident()
        #expect(second < rss + 16 << 20, "the second phase's peak \(second) should be near RSS \(rss), not the first phase's")
        #expect(try probe.sample(refreshAll: true).vm_hwm < rss + 16 << 20)
    }

    @Test("a process that exits is reported as exited with its status, not as a parse error")
    func exitIsReported() async throws {
        let dir = TestSupport.makeTemporaryDirectory()
        defer { TestSupport.removeTree(dir) }
        // Twenty children sampled every millisecond, so some exit between one /proc file and the next of a
        // sample (statm read live, status read as a zombie's): each must still say how it ended.
        var children: [(ChildProcess, Sampler)] = []
        defer { for (child, sampler) in children { sampler.stop(); TestSupport.end(child) } }
        for i in 0..<20 {
            let child = try ChildProcess(["sh", "-c", "sleep 0.\(3 + i % 5); exit 7"])
            let sampler = try Sampler(options: .init(intervalNs: 1_000_000, pid: child.pid), appendingTo: dir + "/samples-\(i).jsonl")
            children.append((child, sampler))
            sampler.start()
        }
        for (child, sampler) in children {
            // The child stays a zombie (nobody reaps it here) until the sampler has seen it end.
            for _ in 0..<2000 where sampler.isRunning { await TestSupport.sleep(milliseconds: 5) }
            let ended = try #require(sampler.totals.ended, "pid \(child.pid)")
            #expect(ended.contains("exited (status 7)"), "\(ended)")
            #expect(!ended.contains("zombie"))
        }
    }
}
