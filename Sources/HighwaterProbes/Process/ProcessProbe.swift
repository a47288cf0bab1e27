@preconcurrency import Glibc
import HighwaterRecords
import HighwaterSystem

/// Readings of one process, the own or any PID, with its /proc files kept open between reads.
///
/// A sample reads the cheapest files that give each field: `statm` (RSS, anonymous = resident − shared, size),
/// one `fstat` of `/proc/PID/fd` for the descriptor count, and once per clock tick `stat` (CPU times, thread
/// count, whether the process has exited), whose cost grows with the threads and whose CPU times only change
/// by ticks. `status`, which the kernel renders as some fifty lines, is read only every
/// `slowRefreshNs` for the figures that exist nowhere else: VmHWM (which only grows, so reading it late loses
/// nothing) and the file/shmem split of the shared pages. Nothing is allocated per sample.
package final class ProcessProbe {
    package let pid: Int32
    package let isSelf: Bool
    private let base: String
    private let statusFile: ProcFile
    private let statFile: ProcFile
    private let statmFile: ProcFile
    /// `/proc/PID/fd` kept open: since Linux 6.2 its size is the number of open descriptors, so counting them
    /// costs one `fstat` however many there are. Older kernels report 0, and the entries are counted instead,
    /// at the slow rate.
    private var fdDirectory: Int32 = -1
    private var fdCountBySize = false
    /// How often the readings that cost more and change slowly are refreshed: `status` and, on kernels
    /// before 6.2, the descriptor count.
    package var slowRefreshNs: UInt64 = 100_000_000
    private var slowAt: UInt64 = 0
    private var slowRead = false
    private var hwm: UInt64 = 0
    private var shmem: UInt64 = 0
    private var fds: UInt64 = 0
    private static let tickNs = 1_000_000_000 / SystemFacts.clockTicksPerSecond
    private var statAt: UInt64 = 0
    private var statRead = false
    /// The process has no memory map and did not exit when waited for (a kernel thread).
    private var memoryless = false
    /// glibc's totals as last read (the own process under the agent reads them at the slow rate only).
    private var heap = HeapTotals(inUse: 0, free: 0, system: 0, mmapped: 0, releasable: 0)
    private var lastStat = ProcessStat(state: "R", utimeNs: 0, stimeNs: 0, numThreads: 0, startTimeTicks: 0)

    /// - Parameter pid: the process to read; nil for this one.
    package init(pid: Int32? = nil) throws {
        self.isSelf = pid == nil || pid == getpid()
        self.pid = pid ?? getpid()
        self.base = "/proc/\(self.pid)"
        statusFile = ProcFile(base + "/status", shortReadEnds: true)
        statFile = ProcFile(base + "/stat", capacity: 1024, shortReadEnds: true)
        statmFile = ProcFile(base + "/statm", capacity: 256, shortReadEnds: true)
        // Fail now, with the path, rather than on the first sample.
        _ = try status()
        fdDirectory = (try? Syscall.open(base + "/fd", O_RDONLY | O_DIRECTORY)) ?? -1
        if fdDirectory >= 0, let listed = try? fileDescriptorCount() {
            let size = (try? Syscall.status(descriptor: fdDirectory, path: base + "/fd"))?.st_size ?? 0
            fdCountBySize = size > 0 && abs(Int(size) - listed) <= 2
        }
    }

    deinit {
        if fdDirectory >= 0 { Syscall.close(fdDirectory) }
    }

    package func status() throws -> ProcessStatus {
        try statusFile.withContents { try ProcessStatus.parse($0, path: statusFile.path) }
    }

    package func stat() throws -> ProcessStat {
        try statFile.withContents { try ProcessStat.parse($0, path: statFile.path) }
    }

    package func statm() throws -> ProcessStatm {
        try statmFile.withContents { try ProcessStatm.parse($0, path: statmFile.path) }
    }

    package func io() throws -> ProcessIO {
        let file = ProcFile(base + "/io", keepOpen: false)
        return try file.withContents { try ProcessIO.parse($0, path: file.path) }
    }

    /// Proportional set size. Opt-in: it walks every mapping under the target's mmap lock.
    package func smapsRollup() throws -> SmapsRollup {
        let file = ProcFile(base + "/smaps_rollup", keepOpen: false)
        return try file.withContents { try SmapsRollup.parse($0, path: file.path) }
    }

    /// Lists `/proc/PID/fd`: exact on every kernel, and its cost grows with the descriptors.
    package func fileDescriptorCount() throws -> Int {
        try ProcDirectory.countEntries(base + "/fd")
    }

    package func threads() throws -> [ThreadInfo] {
        try ProcDirectory.threads(of: pid)
    }

    /// The kernel's high-water mark of RSS, read now: larger than any sample when a peak fell between samples.
    package func peakResident() throws -> UInt64 {
        let s = try status()
        hwm = max(hwm, s.vmHWM)
        return hwm
    }

    /// Ends a phase's peak and starts the next one's: returns the kernel's high-water mark so far (the phase's
    /// true peak), then resets it to the current RSS (`clear_refs` 5, Linux 4.0), so the next phase's VmHWM is
    /// its own and not the largest of every phase before it. Throws where the kernel refuses (not our process
    /// and no CAP_SYS_PTRACE over it); the peak read before is then still the whole life's.
    @discardableResult
    package func resetPeak() throws -> UInt64 {
        let peak = try peakResident()
        let fd = try Syscall.open(base + "/clear_refs", O_WRONLY | O_CLOEXEC)
        defer { Syscall.close(fd) }
        try Syscall.writeAll(fd, Array("5".utf8), path: base + "/clear_refs")
        hwm = 0
        hwm = try peakResident()
        return peak
    }

    /// One record of the timeline. Allocator figures are read only for the own process.
    /// Throws `.exited` once the process has exited (with its status while it waits to be reaped).
    /// - Parameter refreshAll: read the slow figures (VmHWM, …) now, whenever they were last read.
    package func sample(allocator arenas: UInt64? = nil, tmpDir: String? = nil, refreshAll: Bool = false) throws -> SampleRecord {
        let t = MonotonicClock.nanoseconds()
        let wall = WallClock.nanoseconds()
        let m = try statm()
        // stat sums CPU time over every thread of the process (the kernel walks them: its cost grows with the
        // threads), and it counts in clock ticks (10 ms at USER_HZ 100): read it once a tick, not every sample.
        // An empty statm (no memory map) means the process is exiting: stat says how, once it is a zombie.
        if m.size == 0, !memoryless {
            if let exit = exitOnceZombie() { throw exit }
            // Never a zombie: a kernel thread, which has no memory to release. Wait for it once, not each sample.
            memoryless = true
        }
        if refreshAll || !statRead || t &- statAt >= Self.tickNs {
            let st = try stat()
            if st.hasExited { throw ProbeError(.exited(waitStatus: st.exitStatus), path: statFile.path) }
            lastStat = st
            statAt = t
            statRead = true
        }
        let st = lastStat
        let slowDue = refreshAll || !slowRead || t &- slowAt >= slowRefreshNs
        if slowDue {
            do { try refreshSlow() } catch {
                // The process may have begun to exit between statm and status (its status has no Vm* lines from
                // the moment its memory is released): then its exit is the news, not the parse.
                throw exitOnceZombie() ?? error
            }
            slowAt = t
            slowRead = true
        }
        if fdCountBySize {
            if let st = try? Syscall.status(descriptor: fdDirectory, path: base) { fds = UInt64(max(0, st.st_size)) }
        }
        let shared = m.shared
        var record = SampleRecord(t_ns: t, pid: pid, rss: m.resident, rss_anon: m.anonymous,
                                  rss_file: shared >= shmem ? shared - shmem : 0, rss_shmem: min(shmem, shared),
                                  vm_size: m.size, vm_hwm: max(hwm, m.resident), threads: st.numThreads,
                                  fds: fds, utime_ns: st.utimeNs, stime_ns: st.stimeNs)
        record.t_unix_ns = wall
        if isSelf, ActiveAllocator.isGlibc {
            if AllocationAgent.isLoaded {
                // The live heap from the agent's counters at every sample; mallinfo2, whose cost grows with the
                // arenas' free lists, only at the slow rate for the figures nothing else gives.
                if slowDue { heap = AllocatorProbe.totals() }
                record.heap_in_use = AllocatorProbe.liveBytes()
            } else {
                heap = AllocatorProbe.totals()
                record.heap_in_use = heap.inUse
            }
            record.heap_free = heap.free
            record.heap_system = heap.system
            record.arenas = arenas
        } else if isSelf, let figures = AllocatorProbe.recentAllocatorFigures() {
            // jemalloc or tcmalloc preloaded: its own figures, at the slow rate (see recentAllocatorFigures).
            record.heap_in_use = figures.allocated
            record.heap_free = figures.free
            record.heap_system = figures.resident
        }
        if let tmpDir, let used = try? FilesystemProbe.used(of: tmpDir) {
            record.tmp_used = used
        }
        return record
    }

    /// A process that has released its memory is exiting, but stays in state R or D (not Z, without an exit
    /// status) until the kernel has finished tearing it down: wait up to 50 ms for the zombie, so the sample
    /// ends with how it exited. nil when it does not exit (a kernel thread, which never had memory).
    private func exitOnceZombie() -> ProbeError? {
        for _ in 0..<50 {
            do {
                let st = try stat()
                if st.hasExited { return ProbeError(.exited(waitStatus: st.exitStatus), path: statFile.path) }
            } catch let error as ProbeError {
                return error
            } catch {
                return nil
            }
            MonotonicClock.sleep(nanoseconds: 1_000_000)
        }
        return nil
    }

    private func refreshSlow() throws {
        let s = try status()
        hwm = max(hwm, s.vmHWM)
        shmem = s.rssShmem
        if !fdCountBySize, let n = try? fileDescriptorCount() { fds = UInt64(n) }
    }
}
