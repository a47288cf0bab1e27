import HighwaterProbes

/// CPU time of a set of processes (all their threads), from /proc/PID/stat.
package struct ProcessCPU: Sendable, Equatable {
    package var userNs: UInt64 = 0
    package var systemNs: UInt64 = 0
    package var totalNs: UInt64 { userNs + systemNs }

    package init(userNs: UInt64 = 0, systemNs: UInt64 = 0) { self.userNs = userNs; self.systemNs = systemNs }

    /// The sum over `pids`; a process that has gone counts nothing.
    package static func read(_ pids: [Int32]) -> ProcessCPU {
        var cpu = ProcessCPU()
        for pid in pids {
            guard let stat = try? ProcessProbe(pid: pid).stat() else { continue }
            cpu.userNs += stat.utimeNs
            cpu.systemNs += stat.stimeNs
        }
        return cpu
    }

    /// What was spent between two readings.
    package static func - (later: ProcessCPU, earlier: ProcessCPU) -> ProcessCPU {
        ProcessCPU(userNs: later.userNs &- min(earlier.userNs, later.userNs),
                   systemNs: later.systemNs &- min(earlier.systemNs, later.systemNs))
    }
}
