@preconcurrency import Glibc
import HighwaterSystem

/// The machine-wide figures that say whether the previous work has settled: pending writes and the load average.
package struct MachineActivity: Sendable, Equatable {
    /// `Dirty:` in /proc/meminfo: written by programs, not yet handed to the disk.
    package var dirtyBytes: UInt64
    /// `Writeback:` in /proc/meminfo: on its way to the disk now.
    package var writebackBytes: UInt64
    package var load1m: Double

    package var pendingBytes: UInt64 { dirtyBytes + writebackBytes }

    /// Reads /proc/meminfo and /proc/loadavg; a figure a file lacks reads as 0.
    package static func read() throws -> MachineActivity {
        try parse(meminfo: ProcFile.read("/proc/meminfo"), loadavg: (try? ProcFile.read("/proc/loadavg")) ?? "")
    }

    package static func parse(meminfo: String, loadavg: String) -> MachineActivity {
        MachineActivity(dirtyBytes: kibibytes("Dirty:", in: meminfo), writebackBytes: kibibytes("Writeback:", in: meminfo),
                        load1m: Double(loadavg.split(separator: " ").first ?? "") ?? 0)
    }

    /// The `NAME   123 kB` line's value in bytes.
    static func kibibytes(_ name: String, in text: String) -> UInt64 {
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            let digits = line.dropFirst(name.count).split(separator: " ").first ?? ""
            return (UInt64(digits) ?? 0) * 1024
        }
        return 0
    }
}
