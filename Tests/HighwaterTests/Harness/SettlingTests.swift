@preconcurrency import Glibc
import HighwaterHarness
import HighwaterProbes
import HighwaterRecords
import HighwaterSystem
import Testing

/// Settling between runs on the real page cache: 64 MiB written to a disk-backed file are dirty until `settle`
/// hands them to the disk.
@Suite("Settling between runs")
struct SettlingTests {
    static var tmpOnDisk: Bool { (try? FilesystemProbe.usage(of: "/tmp").type) != "tmpfs" }

    @Test("64 MiB just written are no longer pending after settling, and the starting point says what was left",
          .enabled(if: tmpOnDisk, "/tmp is a tmpfs here: its pages are never written back"))
    func writesReachTheDisk() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-settle")
        defer { TestSupport.removeTree(dir) }
        let chunk = [UInt8](repeating: 0xA5, count: 1 << 20)
        do {
            let file = try AppendOnlyFile(dir + "/dirty.bin", truncate: true)
            for _ in 0..<64 { try file.append(chunk) }
        }
        let before = try MachineActivity.read()
        let start = try #require(await Settling.settle())
        // Settled means at most 16 MiB pending machine-wide, so our 64 MiB cannot all be. (Comparing with the
        // pending bytes before settling fails whenever the kernel already began the writeback and another
        // process writes meanwhile: 4.1 MiB before, 7.4 MiB after, beside two builds.)
        #expect(start.settled && start.dirty_bytes + start.writeback_bytes <= Settling.settledBytes,
                "pending \(Quantity.formatBytes(before.pendingBytes)) before settling, \(Quantity.formatBytes(start.dirty_bytes + start.writeback_bytes)) after")
        #expect(start.settle_ms > 0 && start.load_1m >= 0)
    }

    @Test("Dirty and Writeback are read from /proc/meminfo in bytes, the load from /proc/loadavg")
    func meminfoFigures() throws {
        // One snapshot of each real file, parsed, against the numbers read off its lines here.
        let meminfo = try ProcFile.read("/proc/meminfo")
        let loadavg = try ProcFile.read("/proc/loadavg")
        let activity = MachineActivity.parse(meminfo: meminfo, loadavg: loadavg)
        func kB(_ name: String) throws -> UInt64 {
            let line = try #require(meminfo.split(separator: "\n").first { $0.hasPrefix(name + ":") })
            #expect(line.hasSuffix(" kB"))
            return try #require(UInt64(line.split(separator: " ")[1])) * 1024
        }
        #expect(activity.dirtyBytes == (try kB("Dirty")))
        #expect(activity.writebackBytes == (try kB("Writeback")))
        #expect(activity.load1m == Double(loadavg.split(separator: " ")[0]))
        // A file without the lines reads as nothing pending, not as a failure.
        #expect(MachineActivity.parse(meminfo: "MemTotal: 1 kB\n", loadavg: "").pendingBytes == 0)
    }
}
