import HighwaterRecords

/// Where a request's handler runs. The kinds mirror the runtimes servers use (ARCHITECTURE.md, "Executors").
package protocol WorkerExecutor: Sendable {
    var kind: String { get }
    var size: Int { get }
    /// Runs `job` on one of the executor's threads. What the job returns runs after its thread
    /// counts as free again (the response goes out then), so a client that answers at once
    /// finds the thread idle, as it would be in a real pool.
    func submit(_ job: @escaping @Sendable () -> (@Sendable () -> Void)?)
    /// Lets the threads finish their jobs and exit.
    func shutdown()
}

package enum ExecutorError: Error, CustomStringConvertible, Equatable {
    case unknownKind(String)
    case badSize(Int)

    package var description: String {
        switch self {
        case .unknownKind(let k):
            return "unknown executor kind '\(k)'; use one of: \(RunPlan.executorKinds.joined(separator: ", "))"
        case .badSize(let n):
            return "executor size \(n) is not allowed; give a whole number of threads, 1 or more"
        }
    }
}

package enum Executors {
    /// The executor of `kind` and `size`; `inline` runs a job on the caller (the event loop).
    package static func make(kind: String, size: Int) throws -> WorkerExecutor {
        guard let known = ExecutorKind(rawValue: kind) else { throw ExecutorError.unknownKind(kind) }
        guard size >= 1 else { throw ExecutorError.badSize(size) }
        switch known {
        case .fixed: return WorkerThreadPool(policy: .fixed, size: size)
        case .lazy: return WorkerThreadPool(policy: .lazy, size: size)
        case .eager: return WorkerThreadPool(policy: .eager, size: size)
        case .threadPerRequest: return WorkerThreadPool(policy: .threadPerRequest, size: size)
        case .dispatch: return DispatchExecutor(size: size)
        case .cooperative: return CooperativeExecutor(size: size)
        case .eventLoop: return InlineExecutor(size: size)
        }
    }
}

extension WorkerExecutor {
    /// Runs `job` with nothing to do after it.
    package func submit(_ job: @escaping @Sendable () -> Void) {
        submit { () -> (@Sendable () -> Void)? in job(); return nil }
    }
}
