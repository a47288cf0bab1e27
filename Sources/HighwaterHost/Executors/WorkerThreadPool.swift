@preconcurrency import Glibc
import CHighwater
import HighwaterSystem

/// A pool of named threads that grows by one of the policies real servers use.
///
/// All state lives in one `State` under one `ConditionLock`; idle threads sleep on its condition.
package final class WorkerThreadPool: WorkerExecutor, Sendable {
    package enum Policy: String, Sendable {
        /// N threads started up front (SwiftNIO's NIOThreadPool).
        case fixed
        /// Threads made on demand up to N, idle ones reused first (Python 3.8+ ThreadPoolExecutor, anyio).
        case lazy
        /// A new thread on every submit until N exist (Python before 3.8: the growth of seed 004).
        case eager
        /// A fresh thread for every job, gone when it ends.
        case threadPerRequest = "thread-per-request"
    }

    package typealias Job = @Sendable () -> (@Sendable () -> Void)?

    struct State {
        enum Lifecycle { case running, stopping }
        var lifecycle = Lifecycle.running
        /// Jobs in order; taken slots are nil so a run job's captures (a request body chunk) are freed at once.
        var queue: [Job?] = []
        var head = 0
        var threads = 0
        /// Threads running a job now; the others are free (waiting, or about to wait).
        var busy = 0
        var started = 0

        var hasWork: Bool { head < queue.count }

        /// Takes the next job, dropping taken slots now and then so the queue does not grow for the pool's life.
        mutating func take() -> Job {
            let job = queue[head]!
            queue[head] = nil
            head += 1
            busy += 1
            if head == queue.count {
                queue.removeAll(keepingCapacity: true)
                head = 0
            } else if head > 1024 && head * 2 > queue.count {
                queue.removeFirst(head)
                head = 0
            }
            return job
        }
    }

    package let policy: Policy
    package let size: Int
    package var kind: String { policy.rawValue }
    private let lock = ConditionLock(State())

    package init(policy: Policy, size: Int) {
        self.policy = policy
        self.size = size
        if policy == .fixed {
            lock.withLock { state in
                for _ in 0..<size { spawn(&state, first: nil, exitAfterFirst: false) }
            }
        }
    }

    /// Threads alive now.
    package var threadCount: Int { lock.withLock { $0.threads } }

    package func submit(_ job: @escaping Job) {
        lock.withLock { state in
            switch policy {
            case .threadPerRequest:
                spawn(&state, first: job, exitAfterFirst: true)
            case .eager where state.threads < size:
                spawn(&state, first: job, exitAfterFirst: false)
            case .lazy:
                state.queue.append(job)
                // A new thread only when no free one is left to take this job.
                if state.queue.count - state.head > state.threads - state.busy && state.threads < size {
                    spawn(&state, first: nil, exitAfterFirst: false)
                }
                lock.signal()
            default:
                state.queue.append(job)
                lock.signal()
            }
        }
    }

    package func shutdown() {
        lock.withLock { $0.lifecycle = .stopping }
        lock.broadcast()
    }

    /// Starts a thread; called with the lock held, so the counts and the thread appear together.
    private func spawn(_ state: inout State, first: Job?, exitAfterFirst: Bool) {
        state.threads += 1
        if first != nil { state.busy += 1 }
        state.started += 1
        let name = "hw-\(policy == .threadPerRequest ? "tpr" : kind)-\(state.started)"
        let context = Unmanaged.passRetained(WorkerContext(pool: self, first: first, exitAfterFirst: exitAfterFirst, name: name))
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        var thread = pthread_t()
        let rc = pthread_create(&thread, &attributes, { raw in
            let context = Unmanaged<WorkerContext>.fromOpaque(raw!).takeRetainedValue()
            hw_set_thread_name(context.name)
            context.pool.work(context)
            return nil
        }, context.toOpaque())
        pthread_attr_destroy(&attributes)
        if rc != 0 {
            context.release()
            state.threads -= 1
            if let first { state.busy -= 1; state.queue.append(first) }
        }
    }

    private func work(_ context: WorkerContext) {
        if let first = context.first {
            let after = first()
            lock.withLock { state in
                state.busy -= 1
                if context.exitAfterFirst { state.threads -= 1 }
            }
            after?()
            if context.exitAfterFirst { return }
        }
        while true {
            let job: Job? = lock.wait(until: { $0.hasWork || $0.lifecycle == .stopping }) { state in
                if state.hasWork { return state.take() }
                state.threads -= 1
                return nil
            }
            guard let job else { return }
            let after = job()
            lock.withLock { $0.busy -= 1 }
            after?()
        }
    }
}

private final class WorkerContext: Sendable {
    let pool: WorkerThreadPool
    let first: WorkerThreadPool.Job?
    let exitAfterFirst: Bool
    let name: String
    init(pool: WorkerThreadPool, first: WorkerThreadPool.Job?, exitAfterFirst: Bool, name: String) {
        self.pool = pool; self.first = first; self.exitAfterFirst = exitAfterFirst; self.name = name
    }
}
