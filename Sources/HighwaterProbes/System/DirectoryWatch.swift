@preconcurrency import Glibc
import HighwaterRecords
import HighwaterSystem

/// A directory's filesystem read with one `statvfs` per tick (about a microsecond), at a rate of its own on the
/// sampler's timer: a tmpfs can fill and empty again within a few milliseconds, far inside a 10 ms sample interval.
/// Keeps running figures only, no history.
package final class DirectoryWatch {
    package let path: String
    package private(set) var record: WatchedFilesystem
    /// Bytes in use at the latest reading: the sampler's `tmp_used`.
    package private(set) var used: UInt64 = 0
    private var fullSince: UInt64?
    private var lastAt: UInt64 = 0

    /// Reads once now, so a missing directory fails with its path before sampling starts.
    package init(path: String, intervalNs: UInt64) throws {
        self.path = path
        record = WatchedFilesystem(path: path, capacity: 0, interval_ns: intervalNs)
        try read(at: MonotonicClock.nanoseconds())
    }

    /// One reading at monotonic time `t`.
    package func read(at t: UInt64) throws {
        let st: FilesystemStatus
        do { st = try Syscall.filesystemStatus(path) } catch { throw ProbeError(error) }
        let block = UInt64(st.f_frsize)
        let capacity = UInt64(st.f_blocks) * block
        used = capacity - UInt64(st.f_bfree) * block
        record.capacity = capacity
        record.peak_used = max(record.peak_used, used)
        record.readings += 1
        // Full: nothing left for an ordinary writer (tmpfs reserves nothing, so this is also "no block at all").
        let full = st.f_bavail == 0 && capacity > 0
        if fullSince != nil {
            record.full_ns += t &- lastAt
            if !full { fullSince = nil }
        }
        if full && fullSince == nil {
            fullSince = t
            record.full_episodes += 1
            if record.first_full_ns == nil {
                record.first_full_ns = t
                record.first_full_unix_ns = WallClock.nanoseconds()
            }
        }
        lastAt = t
    }
}
