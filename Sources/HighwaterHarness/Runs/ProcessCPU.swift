import HighwaterProbes

/// CPU time of a set of processes (all their threads), from /proc/PID/stat.
public struct ProcessCPU: Sendable, Equatable {
    public var userNs: UInt64 = 0
    public var systemNs: UInt64 = 0
    public var totalNs: UInt64 { userNs + systemNs }

    public init(userNs: UInt64 = 0, systemNs: UInt64 = 0) { self.userNs = userNs; self.systemNs = systemNs }

    /// The sum over `pids`; a process that has gone counts nothing.
    public static func read(_ pids: [Int32]) -> ProcessCPU {
        var cpu = ProcessCPU()
        for pid in pids {
            guard let stat = try? ProcessProbe(pid: pid).stat() else { continue }
            cpu.userNs += stat.utimeNs
            cpu.systemNs += stat.stimeNs
        }
        return cpu
    }

    /// What was spent between two readings.
    public static func - (later: ProcessCPU, earlier: ProcessCPU) -> ProcessCPU {
        ProcessCPU(userNs: later.userNs &- min(earlier.userNs, later.userNs),
                   systemNs: later.systemNs &- min(earlier.systemNs, later.systemNs))
    }
}
