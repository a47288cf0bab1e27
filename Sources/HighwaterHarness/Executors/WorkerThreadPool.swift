@preconcurrency import Glibc
import CHighwater

/// A pool of named threads that grows by one of the policies real servers use.
///
/// All state lives under one mutex; threads wait on one condition variable.
public final class WorkerThreadPool: WorkerExecutor, @unchecked Sendable {
    public enum Policy: String, Sendable {
        /// N threads started up front (SwiftNIO's NIOThreadPool).
        case fixed
        /// Threads made on demand up to N, idle ones reused first (Python 3.8+ ThreadPoolExecutor, anyio).
        case lazy
        /// A new thread on every submit until N exist (Python before 3.8: the growth of seed 004).
        case eager
        /// A fresh thread for every job, gone when it ends.
        case threadPerRequest = "thread-per-request"
    }

    public typealias Job = @Sendable () -> (@Sendable () -> Void)?

    public let policy: Policy
    public let size: Int
    public var kind: String { policy.rawValue }

    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    /// Jobs in order; taken slots are nil so a run job's captures (a request body chunk) are freed at once.
    private var queue: [Job?] = []
    private var head = 0
    private var threads = 0
    /// Threads running a job now; the others are free (waiting, or about to wait).
    private var busy = 0
    private var started = 0
    private var stopping = false

    public init(policy: Policy, size: Int) {
        self.policy = policy
        self.size = size
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
        if policy == .fixed {
            for _ in 0..<size { spawn(first: nil, exitAfterFirst: false) }
        }
    }

    /// Threads alive now.
    public var threadCount: Int {
        pthread_mutex_lock(&mutex); defer { pthread_mutex_unlock(&mutex) }
        return threads
    }

    public func submit(_ job: @escaping Job) {
        pthread_mutex_lock(&mutex)
        switch policy {
        case .threadPerRequest:
            spawn(first: job, exitAfterFirst: true)
        case .eager where threads < size:
            spawn(first: job, exitAfterFirst: false)
        case .lazy:
            queue.append(job)
            // A new thread only when no free one is left to take this job.
            if queue.count - head > threads - busy && threads < size { spawn(first: nil, exitAfterFirst: false) }
            pthread_cond_signal(&condition)
        default:
            queue.append(job)
            pthread_cond_signal(&condition)
        }
        pthread_mutex_unlock(&mutex)
    }

    public func shutdown() {
        pthread_mutex_lock(&mutex)
        stopping = true
        pthread_cond_broadcast(&condition)
        pthread_mutex_unlock(&mutex)
    }

    /// Called with the mutex held.
    private func spawn(first: Job?, exitAfterFirst: Bool) {
        threads += 1
        if first != nil { busy += 1 }
        started += 1
        let name = "hw-\(policy == .threadPerRequest ? "tpr" : kind)-\(started)"
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
            threads -= 1
            if let first { busy -= 1; queue.append(first) }
        }
    }

    private func work(_ context: WorkerContext) {
        if let first = context.first {
            let after = first()
            pthread_mutex_lock(&mutex)
            busy -= 1
            if context.exitAfterFirst { threads -= 1 }
            pthread_mutex_unlock(&mutex)
            after?()
            if context.exitAfterFirst { return }
        }
        pthread_mutex_lock(&mutex)
        while true {
            while head == queue.count && !stopping {
                pthread_cond_wait(&condition, &mutex)
            }
            if head == queue.count { break }
            let job = queue[head]!
            queue[head] = nil
            head += 1
            busy += 1
            // Drop the taken slots now and then so the queue does not grow for the life of the pool.
            if head == queue.count {
                queue.removeAll(keepingCapacity: true)
                head = 0
            } else if head > 1024 && head * 2 > queue.count {
                queue.removeFirst(head)
                head = 0
            }
            pthread_mutex_unlock(&mutex)
            let after = job()
            pthread_mutex_lock(&mutex)
            busy -= 1
            if let after {
                pthread_mutex_unlock(&mutex)
                after()
                pthread_mutex_lock(&mutex)
            }
        }
        threads -= 1
        pthread_mutex_unlock(&mutex)
    }
}

private final class WorkerContext {
    let pool: WorkerThreadPool
    let first: WorkerThreadPool.Job?
    let exitAfterFirst: Bool
    let name: String
    init(pool: WorkerThreadPool, first: WorkerThreadPool.Job?, exitAfterFirst: Bool, name: String) {
        self.pool = pool; self.first = first; self.exitAfterFirst = exitAfterFirst; self.name = name
    }
}
