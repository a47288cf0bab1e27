@preconcurrency import Glibc

/// CLOCK_MONOTONIC in nanoseconds: the clock every duration and record timestamp in Highwater uses,
/// because wall-clock steps must not bend a phase timing.
public enum MonotonicClock {
    @inline(__always)
    public static func nanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// Sleeps until the monotonic clock reaches `deadline`, through signals.
    public static func sleep(until deadline: UInt64) {
        var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nil) == EINTR {}
    }

    public static func sleep(nanoseconds: UInt64) {
        sleep(until: self.nanoseconds() &+ nanoseconds)
    }
}
