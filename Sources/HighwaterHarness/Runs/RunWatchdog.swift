@preconcurrency import Glibc
import HighwaterSystem
import Synchronization

/// Stops a run's child when the run reaches its time limit: SIGTERM, then SIGKILL after `graceNs`. A child that
/// hangs (a handler that never returns, a host that never listens) would otherwise hold the run until the load
/// driver's request timeout, and every configuration after it.
///
/// Once the child is gone, the load driver's connections fail and it stops sending (its stop condition is the
/// child's end), so the run ends at the limit with whatever records were written up to then.
final class RunWatchdog: Sendable {
    static let graceNs: UInt64 = 2_000_000_000

    private let task: Task<Bool, Never>
    private let child: ChildProcess
    private final class Flag: Sendable {
        let value = Atomic<Bool>(false)
    }
    private let firedFlag = Flag()

    /// True from the moment the limit is reached: the load driver stops at once instead of sending one more
    /// request to a child that is going away (whose connection attempts the HTTP client would retry for seconds).
    var fired: Bool { firedFlag.value.load(ordering: .acquiring) }

    init(child: ChildProcess, limitNs: UInt64) {
        self.child = child
        let flag = firedFlag
        task = Task {
            // Sleeps without holding a pool thread; cancelled when the run ends first.
            do { try await Task.sleep(nanoseconds: limitNs) } catch { return false }
            guard child.poll() == nil else { return false }
            flag.value.store(true, ordering: .releasing)
            _ = await child.terminate(grace: RunWatchdog.graceNs)
            return true
        }
    }

    /// How the child ended, once the watchdog has stopped it (SIGKILL after the grace period at the latest).
    func ended() async -> Termination {
        if let t = await child.exit(timeoutNs: RunWatchdog.graceNs + 1_000_000_000) { return t }
        return await child.terminate(grace: 0)
    }

    /// Ends the watch when the run is over; true when the limit was reached and the child was stopped.
    func finish() async -> Bool {
        task.cancel()
        return await task.value
    }
}
