/// One configuration to run in its own child process: what to host, how to load it, what to watch.
/// Scenario files produce these (one per point of a sweep); the harness carries them out.
package struct RunPlan: Codable, Equatable, Sendable {
    package struct Executor: Codable, Equatable, Sendable {
        /// An `ExecutorKind`'s name, as written in plan.json (a plan of an unknown kind still reads, and fails to run
        /// with the kinds listed).
        package var kind: String
        package var size: Int
        package init(kind: String, size: Int) { self.kind = kind; self.size = size }
        package init(_ kind: ExecutorKind, size: Int) { self.init(kind: kind.rawValue, size: size) }
    }

    package struct Workload: Codable, Equatable, Sendable {
        /// alloc-churn, leak, sleep, cpu, upload-spooled, upload-streamed, …
        package var name: String
        /// Workload options as written (`working_set: 8 MiB`, `pin: true`, `trim: false`, …).
        package var options: [String: String]
        package init(name: String, options: [String: String] = [:]) { self.name = name; self.options = options }
    }

    package struct Load: Codable, Hashable, Sendable {
        package var requests: Int
        package var concurrency: Int
        /// Requests per second; nil sends as fast as `concurrency` allows.
        package var rate: Double?
        /// Request body sizes, cycled through; empty sends no body.
        package var payloadBytes: [UInt64]
        /// "settled": send until the growth verdict has settled, `requests` and `maxSeconds` the caps; nil: send all.
        package var until: String?
        /// The longest `until: settled` goes on, in seconds; nil takes the harness's default.
        package var maxSeconds: Double?
        package init(requests: Int, concurrency: Int = 1, rate: Double? = nil, payloadBytes: [UInt64] = [],
                    until: String? = nil, maxSeconds: Double? = nil) {
            self.requests = requests; self.concurrency = concurrency; self.rate = rate; self.payloadBytes = payloadBytes
            self.until = until; self.maxSeconds = maxSeconds
        }

        package var untilSettled: Bool { until == "settled" }

        /// The one definition of "the same load": runs compare with one another (and are ordered side by side
        /// when repeated) only when this matches. A summary carries it as `configuration["load"]`.
        package var identity: String {
            "\(requests) requests, concurrency \(concurrency), rate \(rate.map { "\($0)/s" } ?? "open"), payload "
                + (payloadBytes.isEmpty ? "none" : payloadBytes.map(String.init).joined(separator: "+"))
                + (untilSettled ? ", until settled" : "")
        }
    }

    package struct Storage: Codable, Equatable, Sendable {
        /// A tmpfs of this size mounted (privately) as the temp dir; nil uses `tempDir` or the default.
        package var tmpfsBytes: UInt64?
        package var tempDir: String?
        /// Bytes kept in memory before a spooled upload goes to a file.
        package var spoolThreshold: UInt64?
        /// A tmpfs of this size as the upload destination; nil uses a plain directory.
        package var destinationTmpfsBytes: UInt64?
        /// Where uploads land; the harness makes one per run (and removes it) when none is given.
        package var destinationDir: String?
        package init(tmpfsBytes: UInt64? = nil, tempDir: String? = nil, spoolThreshold: UInt64? = nil,
                    destinationTmpfsBytes: UInt64? = nil, destinationDir: String? = nil) {
            self.tmpfsBytes = tmpfsBytes; self.tempDir = tempDir; self.spoolThreshold = spoolThreshold
            self.destinationTmpfsBytes = destinationTmpfsBytes; self.destinationDir = destinationDir
        }
    }

    package var scenario: String
    /// A short label naming the configuration, unique within the scenario (`eager-40-arena2`).
    package var config: String
    package var executor: Executor
    package var workload: Workload
    /// Added to the child's environment (`MALLOC_ARENA_MAX`, …).
    package var environment: [String: String]
    package var load: Load
    package var storage: Storage
    /// Requests whose growth does not count.
    package var warmup: Int
    package var sampleIntervalNs: UInt64
    /// The least evidence a growth verdict needs (the scenario's `verdict:`); nil takes the defaults.
    package var minimums: GrowthMinimums?
    /// The longest the run may take, child start to stop; past it the child is stopped (SIGTERM, then SIGKILL)
    /// and the run recorded as timed out. nil: no limit.
    package var timeLimitNs: UInt64?
    /// How many times the scenario runs this configuration, interleaved with the others (A B A B); nil: once.
    package var repeats: Int?
    /// Which of those runs this is (1-based); nil when the configuration runs once.
    package var repetition: Int?
    /// A host of the user's own to start instead of `highwater host`; its route is the workload's name. nil: the
    /// built-in workloads.
    package var host: HostProgram?

    package init(scenario: String, config: String, executor: Executor, workload: Workload,
                environment: [String: String] = [:], load: Load, storage: Storage = .init(), warmup: Int = 1,
                sampleIntervalNs: UInt64 = 10_000_000, timeLimitNs: UInt64? = nil) {
        self.scenario = scenario; self.config = config; self.executor = executor; self.workload = workload
        self.environment = environment; self.load = load; self.storage = storage; self.warmup = warmup
        self.sampleIntervalNs = sampleIntervalNs
        self.timeLimitNs = timeLimitNs
    }

    /// The executor kinds the host knows, by name.
    package static let executorKinds = ExecutorKind.allCases.map(\.rawValue)
    /// The built-in workloads, by name (`WorkloadKind`).
    package static let workloads = WorkloadKind.allCases.map(\.rawValue)

    /// The built-in workload's family; nil for a user's own host, whose routes are its own.
    package var family: WorkloadKind.Family? { host == nil ? WorkloadKind.family(named: workload.name) : nil }
    package var isUpload: Bool { family == .upload }
    package var isDownload: Bool { family == .download }
    package var isDownstream: Bool { family == .downstream }
    /// The route the load driver sends its requests to: a user's host serves its workload's name as a path.
    package var route: String {
        if host != nil { return HostProgram.route(ofWorkload: workload.name) }
        return isUpload ? "/upload" : isDownload ? "/download" : isDownstream ? "/downstream" : "/work"
    }
}

/// How a host runs its handlers: the pools real servers run request handlers on. Listed here once: scenarios
/// validate against it and the host builds from it.
package enum ExecutorKind: String, CaseIterable, Codable, Sendable {
    /// N threads started up front (SwiftNIO's NIOThreadPool).
    case fixed
    /// Threads made on demand up to N, idle ones reused first (Python 3.8+ ThreadPoolExecutor, anyio).
    case lazy
    /// A new thread on every submit until N exist (Python before 3.8: the growth of seed 004).
    case eager
    /// A fresh thread for every job, gone when it ends.
    case threadPerRequest = "thread-per-request"
    /// Dispatch's global queue, N jobs at once.
    case dispatch
    /// Swift concurrency's cooperative pool, N jobs at once.
    case cooperative
    /// The event loop itself: the handler runs on the I/O thread.
    case eventLoop = "event-loop"
}
