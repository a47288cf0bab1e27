import Dispatch

/// libdispatch's global concurrent queue: threads up to its own cap (255 overcommit), not `size`.
public struct DispatchExecutor: WorkerExecutor {
    public let kind = "dispatch"
    public let size: Int
    public func submit(_ job: @escaping @Sendable () -> (@Sendable () -> Void)?) { DispatchQueue.global().async { job()?() } }
    public func shutdown() {}
}

/// Swift concurrency's global executor: as many threads as configured CPUs, whatever `size` says.
/// A blocking handler here starves every other task; that is what it shows.
public struct CooperativeExecutor: WorkerExecutor {
    public let kind = "cooperative"
    public let size: Int
    public func submit(_ job: @escaping @Sendable () -> (@Sendable () -> Void)?) { Task.detached { job()?() } }
    public func shutdown() {}
}

/// Runs the handler inline on the event loop's I/O thread, to show what blocking it costs.
public struct InlineExecutor: WorkerExecutor {
    public let kind = "event-loop"
    public let size: Int
    public func submit(_ job: @escaping @Sendable () -> (@Sendable () -> Void)?) { job()?() }
    public func shutdown() {}
}
