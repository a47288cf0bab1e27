/// What the machine was doing when a run started, so runs compared side by side can be seen to start alike:
/// file data still waiting to reach the disk (a run before wrote it, and its writeback would slow this one),
/// and the load average.
package struct StartingPoint: Codable, Sendable, Equatable {
    /// Dirty and Writeback from /proc/meminfo when the run started, after settling.
    package var dirty_bytes: UInt64
    package var writeback_bytes: UInt64
    /// The 1-minute load average from /proc/loadavg.
    package var load_1m: Double
    /// Time spent letting the previous runs' writes reach the disk before this run.
    package var settle_ms: Double
    /// False when the wait ended at its limit with data still dirty.
    package var settled: Bool

    package init(dirty_bytes: UInt64, writeback_bytes: UInt64, load_1m: Double, settle_ms: Double, settled: Bool) {
        self.dirty_bytes = dirty_bytes; self.writeback_bytes = writeback_bytes; self.load_1m = load_1m
        self.settle_ms = settle_ms; self.settled = settled
    }
}
