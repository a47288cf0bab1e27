import Dispatch

/// libdispatch's global concurrent queue: threads up to its own cap (255 overcommit), not `size`.
package struct DispatchExecutor: WorkerExecutor {
    package let kind = "dispatch"
    package let size: Int
    package func submit(_ job: @escaping @Sendable () -> (@Sendable () -> Void)?) { DispatchQueue.global().async { job()?() } }
    package func shutdown() {}
}

/// Swift concurrency's global executor: as many threads as configured CPUs, whatever `size` says.
/// A blocking handler here starves every other task; that is what it shows.
package struct CooperativeExecutor: WorkerExecutor {
    package let kind = "cooperative"
    package let size: Int
    package func submit(_ job: @escaping @Sendable () -> (@Sendable () -> Void)?) { Task.detached { job()?() } }
    package func shutdown() {}
}

/// Runs the handler inline on the event loop's I/O thread, to show what blocking it costs.
package struct InlineExecutor: WorkerExecutor {
    package let kind = "event-loop"
    package let size: Int
    package func submit(_ job: @escaping @Sendable () -> (@Sendable () -> Void)?) { job()?() }
    package func shutdown() {}
}
