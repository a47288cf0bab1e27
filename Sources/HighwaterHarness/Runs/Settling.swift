@preconcurrency import Glibc
import HighwaterProbes
import HighwaterRecords
import HighwaterSystem

/// Lets the machine settle between runs, so a configuration does not pay for the one before it: an upload run that
/// wrote gigabytes leaves them dirty, and the kernel's writeback of them lands in the next run's timings.
package enum Settling {
    /// Pending writes below this count as settled: a few MiB are always in flight on a working machine.
    package static let settledBytes: UInt64 = 16 << 20

    /// Runs `sync` (in a child, so no thread of ours blocks), waits until the pending writes are below
    /// `settledBytes` or `limit` passes, and says what the run starts from.
    package static func settle(limitNs: UInt64 = 10_000_000_000) async -> StartingPoint? {
        let started = MonotonicClock.nanoseconds()
        let deadline = started + limitNs
        if let sync = try? ChildProcess(["sync"], stdout: .null, stderr: .null) {
            if await sync.exit(timeoutNs: limitNs) == nil { sync.signal(SIGKILL); _ = await sync.exit() }
        }
        var activity = try? MachineActivity.read()
        while let now = activity, now.pendingBytes > settledBytes, MonotonicClock.nanoseconds() < deadline, !Interruption.requested {
            try? await Task.sleep(nanoseconds: 50_000_000)
            activity = try? MachineActivity.read()
        }
        guard let activity else { return nil }
        return StartingPoint(dirty_bytes: activity.dirtyBytes, writeback_bytes: activity.writebackBytes, load_1m: activity.load1m,
                             settle_ms: Double(MonotonicClock.nanoseconds() - started) / 1e6,
                             settled: activity.pendingBytes <= settledBytes)
    }
}
