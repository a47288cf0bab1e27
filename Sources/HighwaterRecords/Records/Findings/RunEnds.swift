/// How a run or a record ended, as its notes say it: the target or hosted child ending, the time limit, the stop.
extension Finding {
    /// `record`: the target ended during a phase; `load` is the requests sent of those planned, nil when none were.
    package static func targetEnded(_ termination: String, load: (sent: Int, planned: Int)?) -> Finding {
        let during = load.map { "during the load (\($0.sent) of \($0.planned) requests sent)" } ?? "while it was recorded"
        return Finding(.targetEnded, "the target ended with \(termination) \(during); the data up to then is kept")
    }

    /// `record --pid`: the attached process exited (its status is not ours to read).
    package static func attachedExited(pid: Int32) -> Finding {
        Finding(.attachedExited, "PID \(pid) exited while it was recorded; the record ends here with the data up to then")
    }

    /// `record --time-limit` reached with load still running.
    package static func timedOut(limitSeconds: Double) -> Finding {
        Finding(.timedOut, "timed out after \(Quantity.format(limitSeconds)) s (--time-limit): the load was stopped there")
    }

    /// A hosted run's time limit: the child was stopped, SIGKILL after `graceSeconds`.
    package static func timedOut(seconds: Double, graceSeconds: UInt64) -> Finding {
        Finding(.timedOut, "timed out after \(Quantity.format(seconds)) s: the hosted child was stopped (SIGTERM, then SIGKILL after \(graceSeconds) s)")
    }

    /// A hosted child that failed or was stopped.
    package static func childEnded(_ exit: String) -> Finding {
        Finding(.childEnded, "the hosted child ended with \(exit)")
    }

    package static func killedAfterGrace(graceSeconds: Double) -> Finding {
        Finding(.killedAfterGrace, "the target ignored SIGTERM for the \(Quantity.format(graceSeconds)) s grace period and was killed (SIGKILL to its process group)")
    }

    /// Processes that left the target's group and tree (a daemon), ended with the container that kept them.
    package static func escapedProcesses(_ pids: [Int32], keptIn container: String) -> Finding {
        Finding(.escapedProcesses, "\(pids.count) processes had left the target's process group and tree (a daemon: PIDs \(pids.map(String.init).joined(separator: ", "))); kept in \(container), they were ended with it")
    }

    package static func leftBehind(_ pids: [Int32]) -> Finding {
        Finding(.leftBehind, "processes still alive after SIGKILL: \(pids.map(String.init).joined(separator: ", "))")
    }

    /// A hosted run that could not be carried out at all.
    package static func runFailed(_ error: String) -> Finding {
        Finding(.runFailed, "the run could not be carried out: \(error)")
    }

    /// An external configuration whose target would not start or never became ready.
    package static func notRecorded(_ reason: String) -> Finding {
        Finding(.notRecorded, "the target could not be recorded: \(reason)")
    }

    /// Earlier writes still going to disk when settling gave up: the run's timings may include their writeback.
    package static func settleWriteback(pendingBytes: UInt64, waitedSeconds: Double) -> Finding {
        Finding(.settleWriteback, "started with \(Quantity.formatBytes(pendingBytes)) of earlier writes still on their way to disk after \(Quantity.format(waitedSeconds)) s of waiting: its timings may include their writeback")
    }
}
