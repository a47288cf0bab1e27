@preconcurrency import Glibc
import HighwaterProbes
import HighwaterSystem

/// The server `highwater record` (and the command `sample`) watches: a command it started in a process group and,
/// where one can be made, a cgroup v2 of its own, or a process it attached to by PID. What it started it also stops —
/// SIGTERM to the whole group and cgroup, SIGKILL after the grace period to them and to every descendant seen
/// before — so no worker, and no daemon that left the group, outlives the record.
package final class ExternalTarget: @unchecked Sendable {
    package let pid: Int32
    /// nil when attached: that process is not ours to stop.
    package let process: ChildProcess?
    package let stdoutPath: String?
    package let stderrPath: String?
    /// A shell holding the lifeline: if Highwater is killed outright, it ends the group (the target is not ours to
    /// give a lifeline, as nginx is not).
    private let keeper: ChildProcess?
    /// The cgroup (or only the process group) holding the target and all it starts.
    package let container: ProcessContainer?

    /// Starts `command` with its output in `directory` (`target.out.log`, `target.err.log`), or on Highwater's own
    /// stdout and stderr when `directory` is nil.
    package init(command: [String], environment: [String: String], directory: String?, graceNs: UInt64) throws {
        let out = directory.map { $0 + "/target.out.log" }
        let err = directory.map { $0 + "/target.err.log" }
        let container = ProcessContainer()
        do {
            process = try ChildProcess(command, environment: environment, stdout: out.map { .file($0) } ?? .inherit,
                                       stderr: err.map { .file($0) } ?? .inherit, processGroup: true)
        } catch {
            container.end()
            throw error
        }
        pid = process!.pid
        container.add(pid)
        self.container = container
        stdoutPath = out
        stderrPath = err
        keeper = try? ChildProcess(["/bin/sh", "-c", Self.keeperScript(group: pid, graceNs: graceNs) + container.keeperText],
                                   stdout: .null, stderr: .null, lifeline: true)
    }

    /// Attaches to a running process.
    package init(attachingTo pid: Int32) {
        self.pid = pid
        process = nil
        stdoutPath = nil
        stderrPath = nil
        keeper = nil
        container = nil
    }

    deinit {
        if let keeper, keeper.poll() == nil { keeper.signal(SIGKILL); _ = keeper.wait() }
    }

    /// How a started target ended, once it has; nil while it runs (and always for an attached one).
    package var termination: Termination? { process?.poll() }

    /// True once the target is gone: exited (started), or no longer a live process (attached).
    package var hasEnded: Bool {
        if let process { return process.poll() != nil }
        return !Self.isAlive(pid)
    }

    /// The last lines the target wrote to stderr (and stdout when stderr is empty).
    package func outputTail(lines: Int = 20) -> String? {
        for path in [stderrPath, stdoutPath].compactMap({ $0 }) {
            if let tail = FileTree.tail(path, lines: lines), !tail.allSatisfy(\.isWhitespace) { return tail }
        }
        return nil
    }

    package struct Stopped: Sendable {
        package var termination: Termination?
        /// SIGKILL was needed: the target ignored SIGTERM for the whole grace period.
        package var killed: Bool
        /// Descendants still alive after the SIGKILL (none expected).
        package var leftBehind: [Int32]
        /// Processes that had left the target's process group and process tree (daemons), ended with it.
        package var escaped: [Int32] = []
    }

    /// SIGTERM to the group, then SIGKILL to the group and every descendant seen before, after `graceNs`.
    /// Also after the target ended on its own: workers it left behind in its group are ended the same way.
    /// An attached target is left running. Blocks the calling thread: for synchronous callers (`sample`).
    @discardableResult
    package func stop(graceNs: UInt64) -> Stopped {
        guard var stopping = Stopping(self, graceNs: graceNs) else { return Stopped(termination: nil, killed: false, leftBehind: []) }
        while let pause = stopping.step() { MonotonicClock.sleep(nanoseconds: pause) }
        return stopping.finish(termination: process?.wait(timeoutNs: 0))
    }

    /// `stop(graceNs:)` for async callers (`record`): the waits are awaited, so no thread of the pool is held for the
    /// grace period.
    @discardableResult
    package func stop(graceNs: UInt64) async -> Stopped {
        guard var stopping = Stopping(self, graceNs: graceNs) else { return Stopped(termination: nil, killed: false, leftBehind: []) }
        while let pause = stopping.step() { try? await Task.sleep(nanoseconds: pause) }
        return stopping.finish(termination: await process?.exit(timeoutNs: 0))
    }

    /// The steps of a stop, each saying how long to wait before the next, so a blocking and an awaiting caller run
    /// the same procedure.
    struct Stopping {
        enum Phase { case grace, reaping, stragglers }

        let target: ExternalTarget
        let process: ChildProcess
        let family: Set<Int32>
        let escaped: Set<Int32>
        let deadline: UInt64
        var phase = Phase.grace
        var killed = false
        var group: [Int32] = []
        var groupScannedAt: UInt64 = 0
        var reapDeadline: UInt64 = 0
        var killDeadline: UInt64 = 0
        var termination: Termination?

        init?(_ target: ExternalTarget, graceNs: UInt64) {
            guard let process = target.process else { return nil }
            self.target = target
            self.process = process
            // Listed before the signal: a worker that made a session of its own leaves the group but not the tree.
            family = Set(ProcessTree.members(of: target.pid).dropFirst())
            escaped = Set(target.container?.members ?? []).subtracting(family).subtracting(ProcessTree.groupMembers(target.pid))
                .subtracting([target.pid])
            let rootAlreadyEnded = process.poll() != nil
            deadline = MonotonicClock.nanoseconds() &+ graceNs
            if !rootAlreadyEnded || !living().isEmpty {
                Syscall.signal(-target.pid, SIGTERM)
                for member in escaped { Syscall.signal(member, SIGTERM) }
            }
        }

        /// The group is found by scanning all of /proc: at most every 100 ms, while the known members are checked
        /// every 10 ms (a member that leaves is seen at once; one forked during the grace period, within 100 ms).
        mutating func living() -> [Int32] {
            let now = MonotonicClock.nanoseconds()
            if groupScannedAt == 0 || now &- groupScannedAt >= 100_000_000 {
                group = ProcessTree.groupMembers(target.pid)
                groupScannedAt = now
            }
            let contained = Set(target.container?.members ?? [])
            return Array(family.union(group).union(contained)).filter(ExternalTarget.isAlive)
        }

        /// One step; the nanoseconds to wait before the next, or nil when the stop is done.
        mutating func step() -> UInt64? {
            switch phase {
            case .grace:
                let left = living()
                if process.poll() != nil && left.isEmpty { return enterReaping() }
                if MonotonicClock.nanoseconds() >= deadline {
                    // Counted as killed when the target itself outlived the grace period, not for a stray worker.
                    killed = process.poll() == nil
                    Syscall.signal(-target.pid, SIGKILL)
                    for member in left { Syscall.signal(member, SIGKILL) }
                    process.signal(SIGKILL)
                    return enterReaping()
                }
                return 10_000_000
            case .reaping:
                if let t = process.poll() { termination = t } else if MonotonicClock.nanoseconds() < reapDeadline { return 10_000_000 }
                phase = .stragglers
                killDeadline = MonotonicClock.nanoseconds() &+ 2_000_000_000
                groupScannedAt = 0
                return 0
            case .stragglers:
                if living().isEmpty || MonotonicClock.nanoseconds() >= killDeadline { return nil }
                return 10_000_000
            }
        }

        private mutating func enterReaping() -> UInt64 {
            phase = .reaping
            reapDeadline = MonotonicClock.nanoseconds() &+ 5_000_000_000
            return 0
        }

        /// What the stop left: `termination` is the caller's last look, for a target reaped after the steps.
        mutating func finish(termination last: Termination?) -> Stopped {
            // The keeper ends the group if Highwater dies: it stands guard until the stop is done.
            if let keeper = target.keeper, keeper.poll() == nil { keeper.signal(SIGKILL); _ = keeper.wait() }
            var left = living()
            // Whatever is still in the cgroup (none can leave it) ends now, and the cgroup goes.
            let stillContained = target.container?.end() ?? []
            left = Array(Set(left.filter(ExternalTarget.isAlive)).union(stillContained))
            return Stopped(termination: termination ?? last, killed: killed, leftBehind: left, escaped: escaped.sorted())
        }
    }

    /// Alive and not a zombie (a zombie has released everything; where pid 1 reaps no orphans it may stay one).
    package static func isAlive(_ pid: Int32) -> Bool {
        guard Syscall.processExists(pid), let stat = ProcessStat.read(pid: pid)?.stat else { return false }
        return !stat.hasExited
    }

    /// Waits on the lifeline (fd 3), which closes only when Highwater is gone; then ends the target's group as
    /// `stop` would. `stop` kills the keeper first in a normal end. Ctrl-C is Highwater's to handle, not the keeper's.
    static func keeperScript(group: Int32, graceNs: UInt64) -> String {
        let seconds = max(1, (graceNs + 999_999_999) / 1_000_000_000)
        return "trap '' INT; while read -r _ <&\(Lifeline.childDescriptor); do :; done; kill -TERM -\(group) 2>/dev/null; "
            + "i=0; while kill -0 -\(group) 2>/dev/null && [ $i -lt \(seconds * 10) ]; do sleep 0.1; i=$((i+1)); done; "
            + "kill -KILL -\(group) 2>/dev/null"
    }
}
