@preconcurrency import Glibc

/// CLOCK_MONOTONIC in nanoseconds: the clock every duration and record timestamp in Highwater uses,
/// because wall-clock steps must not bend a phase timing.
package enum MonotonicClock {
    @inline(__always)
    package static func nanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// CPU time the calling thread has used (user and system).
    package static func threadCPUNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// Sleeps until the monotonic clock reaches `deadline`, through signals.
    package static func sleep(until deadline: UInt64) {
        var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nil) == EINTR {}
    }

    package static func sleep(nanoseconds: UInt64) {
        sleep(until: self.nanoseconds() &+ nanoseconds)
    }
}

/// CLOCK_REALTIME in nanoseconds since the Unix epoch: written beside the monotonic time on every record
/// (`t_unix_ns`) so samples line up with a server's log or curl timings; never used to measure a duration.
package enum WallClock {
    @inline(__always)
    package static func nanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
