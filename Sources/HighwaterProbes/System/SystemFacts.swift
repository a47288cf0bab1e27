@preconcurrency import Glibc

/// Constants of this machine that the parsers need.
public enum SystemFacts {
    public static let pageSize: UInt64 = UInt64(sysconf(Int32(_SC_PAGESIZE)))
    public static let clockTicksPerSecond: UInt64 = UInt64(max(1, sysconf(Int32(_SC_CLK_TCK))))

    /// Nanoseconds on CLOCK_MONOTONIC, the clock every timestamp in Highwater's records uses.
    @inline(__always)
    public static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
