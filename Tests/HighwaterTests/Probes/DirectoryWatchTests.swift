@preconcurrency import Glibc
import HighwaterRecords
import HighwaterProbes
import Testing
import HighwaterSystem

/// Watched directories on a real tmpfs, filled by a real child.
@Suite("Watched directories", .serialized)
struct DirectoryWatchTests {
    @Test("a child that fills a tmpfs for 5 ms and then frees it: the run records the filesystem full, with its time",
          .enabled(if: TestSupport.isRoot, "mounting a tmpfs needs root"),
          .enabled(if: TestSupport.which("python3") != nil, "python3 is not installed"))
    func shortFill() async throws {
        let python = try #require(TestSupport.which("python3"), "python3 is not installed, and this test starts a python3 child")
        let steps = TestSupport.makeTemporaryDirectory()
        defer { TestSupport.removeTree(steps) }
        let mount = TestSupport.makeTemporaryDirectory("hw-tmpfs")
        defer { _ = umount2(mount, Int32(MNT_DETACH)); _ = rmdir(mount) }
        try #require(Glibc.mount("tmpfs", mount, "tmpfs", 0, "size=4m") == 0, "mount -t tmpfs failed (errno \(errno))")
        // Writes until ENOSPC, holds the full tmpfs 5 ms, frees it: well inside the 10 ms sample interval.
        let script = TestSupport.pythonSteps(steps) + """
            import errno
            step('ready')
            wait_for('go')
            fd = os.open('\(mount)/fill', os.O_WRONLY | os.O_CREAT)
            chunk = b'x' * (256 << 10)
            try:
                while True: os.write(fd, chunk)
            except OSError as e:
                assert e.errno == errno.ENOSPC
            filled = time.time_ns()
            time.sleep(0.005)
            os.close(fd); os.unlink('\(mount)/fill')
            step('filled', str(filled))
            time.sleep(600)
            """
        let child = try ChildProcess([python, "-c", script])
        defer { TestSupport.end(child) }
        try #require(await TestSupport.appears(steps + "/ready"), "python never started")
        let sampler = try Sampler(options: .init(intervalNs: 10_000_000, pid: child.pid, tmpDir: mount),
                                  appendingTo: steps + "/samples.jsonl")
        sampler.start()
        defer { sampler.stop() }
        // The sampling thread is running (its first sample is taken) before the child may fill the tmpfs.
        for _ in 0..<2000 where sampler.totals.samples == 0 { await TestSupport.sleep(milliseconds: 1) }
        try #require(sampler.totals.samples > 0, "the sampler never took a sample")
        try FileTree.writeAtomically(Array("go".utf8), to: steps + "/go")
        try #require(await TestSupport.appears(steps + "/filled"), "python never filled the tmpfs")
        let filledAt = try #require(UInt64(try FileTree.readText(steps + "/filled")))
        let totals = sampler.stop()
        let watched = try #require(totals.watched.first)
        #expect(watched.path == mount)
        #expect(watched.capacity == 4 << 20)
        #expect(watched.wasFull, "readings \(watched.readings), peak \(watched.peak_used)")
        #expect(watched.peak_used == watched.capacity)
        #expect(watched.full_ns > 0 && watched.full_ns < 1_000_000_000, "full for \(watched.full_ns) ns")
        // Seen full within a few watch intervals of when python found it full (a loaded machine delays the thread).
        let seen = try #require(watched.first_full_unix_ns)
        #expect(seen + 50_000_000 >= filledAt && seen <= filledAt + 500_000_000, "seen full at \(seen), filled at \(filledAt)")
        // Freed again: the last reading is far from full.
        #expect((totals.latest?.tmp_used ?? .max) < watched.capacity / 2)
    }
}
