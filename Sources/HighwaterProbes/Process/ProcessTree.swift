@preconcurrency import Glibc
import HighwaterRecords
import HighwaterSystem

/// A process and all its descendants, found through `/proc/PID/task/TID/children` (each thread lists the children
/// it forked), so a server's workers are counted with its master without scanning every process on the machine.
package enum ProcessTree {
    /// `root` first, then its descendants, breadth first. A process that exits while we look is skipped.
    package static func members(of root: Int32) -> [Int32] {
        var all = [root]
        var next = 0
        while next < all.count, all.count < 4096 {
            for child in children(of: all[next]) where !all.contains(child) { all.append(child) }
            next += 1
        }
        return all
    }

    /// The direct children of `pid`, from every thread's `children` file.
    package static func children(of pid: Int32) -> [Int32] {
        let base = "/proc/\(pid)/task"
        guard let tids = try? ProcDirectory.numericEntries(base) else { return [] }
        var found: [Int32] = []
        for tid in tids {
            guard let text = try? ProcFile.read("\(base)/\(tid)/children") else { continue }
            for word in text.split(separator: " ") {
                if let child = Int32(word.filter(\.isNumber)), !found.contains(child) { found.append(child) }
            }
        }
        return found
    }

    /// The resident bytes of `root` and its descendants now (statm of each): what a request left behind.
    package static func resident(of root: Int32) -> UInt64 {
        members(of: root).reduce(0) { sum, pid in
            guard var text = try? ProcFile.read("/proc/\(pid)/statm"), let statm = text.withUTF8({ try? ProcessStatm.parse($0) }) else { return sum }
            return sum + statm.resident
        }
    }

    /// Every process whose process group is `pgid` (the fifth field of /proc/PID/stat), zombies included: for
    /// stopping a group whose leader has already ended. Scans /proc, so only for the end of a record.
    package static func groupMembers(_ pgid: Int32) -> [Int32] {
        guard let pids = try? ProcDirectory.numericEntries("/proc") else { return [] }
        return pids.compactMap { pid in ProcessStat.read(pid: pid)?.processGroup == pgid ? pid : nil }
    }

    /// The command name of `pid` (`/proc/PID/comm`), "?" once it is gone.
    package static func name(of pid: Int32) -> String {
        guard let comm = try? ProcFile.read("/proc/\(pid)/comm") else { return "?" }
        return comm.hasSuffix("\n") ? String(comm.dropLast()) : comm
    }
}

/// The descendants of a sampled process, each read with a `ProcessProbe` of its own, their figures added to the
/// root's sample. The list is refreshed every `refreshNs`, so a worker forked later is counted from then on.
final class DescendantProbes {
    private let root: Int32
    private var probes: [Int32: ProcessProbe] = [:]
    private var refreshedAt: UInt64 = 0
    private var refreshed = false
    let refreshNs: UInt64

    init(root: Int32, refreshNs: UInt64 = 100_000_000) {
        self.root = root
        self.refreshNs = refreshNs
    }

    /// The descendants as last listed.
    var pids: [Int32] { Array(probes.keys).sorted() }

    /// Adds every live descendant's figures to `record` and sets `processes`.
    func add(to record: inout SampleRecord) {
        let now = record.t_ns
        if !refreshed || now &- refreshedAt >= refreshNs {
            let members = Set(ProcessTree.members(of: root).dropFirst())
            for pid in probes.keys where !members.contains(pid) { probes[pid] = nil }
            for pid in members where probes[pid] == nil { probes[pid] = try? ProcessProbe(pid: pid) }
            refreshedAt = now
            refreshed = true
        }
        var count: UInt64 = 1
        var residentSum = record.rss
        for (pid, probe) in probes {
            guard let s = try? probe.sample() else { probes[pid] = nil; continue }
            count += 1
            record.rss += s.rss; record.rss_anon += s.rss_anon; record.rss_file += s.rss_file
            record.rss_shmem += s.rss_shmem; record.vm_size += s.vm_size; record.threads += s.threads
            record.fds += s.fds; record.utime_ns += s.utime_ns; record.stime_ns += s.stime_ns
            residentSum = record.rss
        }
        // The processes peaked at different moments: the sum of their VmHWM overstates the tree's peak, so the
        // tree's high water is the root's or the sum now, whichever is larger (never above the truth).
        record.vm_hwm = max(record.vm_hwm, residentSum)
        record.processes = count
    }
}
