@preconcurrency import Glibc
import CHighwater
import HighwaterSystem
import Synchronization

/// Stops a run's child when the run reaches its time limit: SIGTERM, then SIGKILL after `graceNs`. A child that
/// hangs (a handler that never returns, a host that never listens) would otherwise hold the run until the load
/// driver's request timeout, and every configuration after it.
///
/// It keeps time on a thread of its own, not on Swift concurrency's pool: with the pool busy (the test suite runs
/// beside it on two cores) a `Task.sleep` woke seconds late and the hung child lived on. The thread only sleeps
/// in 20 ms steps, so the limit holds to about that.
///
/// Once the child is gone, the load driver's connections fail and it stops sending (its stop condition is the
/// child's end or `fired`), so the run ends at the limit with whatever records were written up to then.
final class RunWatchdog: Sendable {
    static let graceNs: UInt64 = 2_000_000_000
    static let stepNs: UInt64 = 20_000_000

    private struct State {
        var cancelled = false
        var fired = false
    }

    private let state = Mutex(State())
    private let child: ChildProcess
    private let limitNs: UInt64

    init(child: ChildProcess, limitNs: UInt64) {
        self.child = child
        self.limitNs = limitNs
        let box = Unmanaged.passRetained(self)
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            let watchdog = Unmanaged<RunWatchdog>.fromOpaque(raw!).takeRetainedValue()
            hw_set_thread_name("hw-watchdog")
            watchdog.watch()
            return nil
        }, box.toOpaque())
        if rc == 0 {
            // Nobody joins it: it ends by itself within a step of `finish`, or after the grace period.
            pthread_detach(thread)
        } else {
            box.release()
            Terminal.write("highwater: could not start the time-limit watchdog (errno \(rc)); this run has no time limit\n")
        }
    }

    /// True from the moment the limit is reached: the load driver stops at once instead of sending one more
    /// request to a child that is going away (whose connection attempts the HTTP client would retry for seconds).
    var fired: Bool { state.withLock { $0.fired } }

    private func watch() {
        let deadline = MonotonicClock.nanoseconds() + limitNs
        while MonotonicClock.nanoseconds() < deadline {
            if state.withLock({ $0.cancelled }) || child.poll() != nil { return }
            MonotonicClock.sleep(nanoseconds: min(Self.stepNs, deadline &- MonotonicClock.nanoseconds()))
        }
        let go = state.withLock { s -> Bool in
            if s.cancelled { return false }
            s.fired = true
            return true
        }
        guard go, child.poll() == nil else { return }
        child.signal(SIGTERM)
        let killAt = MonotonicClock.nanoseconds() + Self.graceNs
        while MonotonicClock.nanoseconds() < killAt {
            if child.poll() != nil { return }
            MonotonicClock.sleep(nanoseconds: Self.stepNs)
        }
        child.signal(SIGKILL)
    }

    /// How the child ended, once the watchdog has stopped it (SIGKILL after the grace period at the latest).
    func ended() async -> Termination {
        if let t = await child.exit(timeoutNs: RunWatchdog.graceNs + 1_000_000_000) { return t }
        return await child.terminate(grace: 0)
    }

    /// Ends the watch when the run is over; true when the limit was reached and the child was stopped.
    func finish() async -> Bool {
        state.withLock { s in
            s.cancelled = true
            return s.fired
        }
    }
}
