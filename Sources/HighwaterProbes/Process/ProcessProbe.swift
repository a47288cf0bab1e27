@preconcurrency import Glibc
import HighwaterRecords
import HighwaterSystem

/// Readings of one process, the own or any PID, with its /proc files kept open between reads.
public final class ProcessProbe {
    public let pid: Int32
    public let isSelf: Bool
    private let base: String
    private let statusFile: ProcFile
    private let statFile: ProcFile

    /// - Parameter pid: the process to read; nil for this one.
    public init(pid: Int32? = nil) throws {
        self.isSelf = pid == nil || pid == getpid()
        self.pid = pid ?? getpid()
        self.base = "/proc/\(self.pid)"
        statusFile = ProcFile(base + "/status")
        statFile = ProcFile(base + "/stat")
        // Fail now, with the path, rather than on the first sample.
        _ = try status()
    }

    public func status() throws -> ProcessStatus {
        try statusFile.withContents { try ProcessStatus.parse($0, path: statusFile.path) }
    }

    public func stat() throws -> ProcessStat {
        try statFile.withContents { try ProcessStat.parse($0, path: statFile.path) }
    }

    public func statm() throws -> ProcessStatm {
        let file = ProcFile(base + "/statm", keepOpen: false)
        return try file.withContents { try ProcessStatm.parse($0, path: file.path) }
    }

    public func io() throws -> ProcessIO {
        let file = ProcFile(base + "/io", keepOpen: false)
        return try file.withContents { try ProcessIO.parse($0, path: file.path) }
    }

    /// Proportional set size. Opt-in: it walks every mapping under the target's mmap lock.
    public func smapsRollup() throws -> SmapsRollup {
        let file = ProcFile(base + "/smaps_rollup", keepOpen: false)
        return try file.withContents { try SmapsRollup.parse($0, path: file.path) }
    }

    public func fileDescriptorCount() throws -> Int {
        try ProcDirectory.countEntries(base + "/fd")
    }

    public func threads() throws -> [ThreadInfo] {
        try ProcDirectory.threads(of: pid)
    }

    /// One record of the timeline. Allocator figures are read only for the own process.
    public func sample(allocator arenas: UInt64? = nil, tmpDir: String? = nil) throws -> SampleRecord {
        let t = MonotonicClock.nanoseconds()
        let s = try status()
        let st = try stat()
        let fds = (try? fileDescriptorCount()) ?? 0
        var record = SampleRecord(t_ns: t, pid: pid, rss: s.vmRSS, rss_anon: s.rssAnon, rss_file: s.rssFile,
                                  rss_shmem: s.rssShmem, vm_size: s.vmSize, vm_hwm: s.vmHWM, threads: s.threads,
                                  fds: UInt64(fds), utime_ns: st.utimeNs, stime_ns: st.stimeNs)
        if isSelf, ActiveAllocator.isGlibc {
            let heap = AllocatorProbe.totals()
            record.heap_in_use = heap.inUse
            record.heap_free = heap.free
            record.heap_system = heap.system
            record.arenas = arenas
        }
        if let tmpDir, let usage = try? FilesystemProbe.usage(of: tmpDir) {
            record.tmp_used = usage.used
        }
        return record
    }
}
