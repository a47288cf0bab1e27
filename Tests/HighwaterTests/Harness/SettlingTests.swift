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
        #expect(start.dirty_bytes + start.writeback_bytes < before.pendingBytes,
                "pending \(Quantity.formatBytes(before.pendingBytes)) before settling, \(Quantity.formatBytes(start.dirty_bytes + start.writeback_bytes)) after")
        #expect(!start.settled || start.dirty_bytes + start.writeback_bytes <= Settling.settledBytes)
        #expect(start.settle_ms > 0 && start.load_1m >= 0)
    }

    @Test("Dirty and Writeback are read from /proc/meminfo in bytes")
    func meminfoFigures() throws {
        let text = try ProcFile.read("/proc/meminfo")
        let activity = try MachineActivity.read()
        let dirtyLine = try #require(text.split(separator: "\n").first { $0.hasPrefix("Dirty:") })
        #expect(dirtyLine.hasSuffix(" kB"))
        #expect(activity.pendingBytes == activity.dirtyBytes + activity.writebackBytes)
    }
}
