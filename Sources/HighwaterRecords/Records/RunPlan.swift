/// One configuration to run in its own child process: what to host, how to load it, what to watch.
/// Scenario files produce these (one per point of a sweep); the harness carries them out.
public struct RunPlan: Codable, Equatable, Sendable {
    public struct Executor: Codable, Equatable, Sendable {
        /// An `ExecutorKind`'s name, as written in plan.json (a plan of an unknown kind still reads, and fails to run
        /// with the kinds listed).
        public var kind: String
        public var size: Int
        public init(kind: String, size: Int) { self.kind = kind; self.size = size }
        public init(_ kind: ExecutorKind, size: Int) { self.init(kind: kind.rawValue, size: size) }
    }

    public struct Workload: Codable, Equatable, Sendable {
        /// alloc-churn, leak, sleep, cpu, upload-spooled, upload-streamed, …
        public var name: String
        /// Workload options as written (`working_set: 8 MiB`, `pin: true`, `trim: false`, …).
        public var options: [String: String]
        public init(name: String, options: [String: String] = [:]) { self.name = name; self.options = options }
    }

    public struct Load: Codable, Hashable, Sendable {
        public var requests: Int
        public var concurrency: Int
        /// Requests per second; nil sends as fast as `concurrency` allows.
        public var rate: Double?
        /// Request body sizes, cycled through; empty sends no body.
        public var payloadBytes: [UInt64]
        /// "settled": send until the growth verdict has settled, `requests` and `maxSeconds` the caps; nil: send all.
        public var until: String?
        /// The longest `until: settled` goes on, in seconds; nil takes the harness's default.
        public var maxSeconds: Double?
        public init(requests: Int, concurrency: Int = 1, rate: Double? = nil, payloadBytes: [UInt64] = [],
                    until: String? = nil, maxSeconds: Double? = nil) {
            self.requests = requests; self.concurrency = concurrency; self.rate = rate; self.payloadBytes = payloadBytes
            self.until = until; self.maxSeconds = maxSeconds
        }

        public var untilSettled: Bool { until == "settled" }

        /// The one definition of "the same load": runs compare with one another (and are ordered side by side
        /// when repeated) only when this matches. A summary carries it as `configuration["load"]`.
        public var identity: String {
            "\(requests) requests, concurrency \(concurrency), rate \(rate.map { "\($0)/s" } ?? "open"), payload "
                + (payloadBytes.isEmpty ? "none" : payloadBytes.map(String.init).joined(separator: "+"))
                + (untilSettled ? ", until settled" : "")
        }
    }

    public struct Storage: Codable, Equatable, Sendable {
        /// A tmpfs of this size mounted (privately) as the temp dir; nil uses `tempDir` or the default.
        public var tmpfsBytes: UInt64?
        public var tempDir: String?
        /// Bytes kept in memory before a spooled upload goes to a file.
        public var spoolThreshold: UInt64?
        /// A tmpfs of this size as the upload destination; nil uses a plain directory.
        public var destinationTmpfsBytes: UInt64?
        /// Where uploads land; the harness makes one per run (and removes it) when none is given.
        public var destinationDir: String?
        public init(tmpfsBytes: UInt64? = nil, tempDir: String? = nil, spoolThreshold: UInt64? = nil,
                    destinationTmpfsBytes: UInt64? = nil, destinationDir: String? = nil) {
            self.tmpfsBytes = tmpfsBytes; self.tempDir = tempDir; self.spoolThreshold = spoolThreshold
            self.destinationTmpfsBytes = destinationTmpfsBytes; self.destinationDir = destinationDir
        }
    }

    public var scenario: String
    /// A short label naming the configuration, unique within the scenario (`eager-40-arena2`).
    public var config: String
    public var executor: Executor
    public var workload: Workload
    /// Added to the child's environment (`MALLOC_ARENA_MAX`, …).
    public var environment: [String: String]
    public var load: Load
    public var storage: Storage
    /// Requests whose growth does not count.
    public var warmup: Int
    public var sampleIntervalNs: UInt64
    /// The least evidence a growth verdict needs (the scenario's `verdict:`); nil takes the defaults.
    public var minimums: GrowthMinimums?
    /// The longest the run may take, child start to stop; past it the child is stopped (SIGTERM, then SIGKILL)
    /// and the run recorded as timed out. nil: no limit.
    public var timeLimitNs: UInt64?
    /// How many times the scenario runs this configuration, interleaved with the others (A B A B); nil: once.
    public var repeats: Int?
    /// Which of those runs this is (1-based); nil when the configuration runs once.
    public var repetition: Int?
    /// A host of the user's own to start instead of `highwater host`; its route is the workload's name. nil: the
    /// built-in workloads.
    public var host: HostProgram?

    public init(scenario: String, config: String, executor: Executor, workload: Workload,
                environment: [String: String] = [:], load: Load, storage: Storage = .init(), warmup: Int = 1,
                sampleIntervalNs: UInt64 = 10_000_000, timeLimitNs: UInt64? = nil) {
        self.scenario = scenario; self.config = config; self.executor = executor; self.workload = workload
        self.environment = environment; self.load = load; self.storage = storage; self.warmup = warmup
        self.sampleIntervalNs = sampleIntervalNs
        self.timeLimitNs = timeLimitNs
    }

    /// The executor kinds the host knows, by name.
    public static let executorKinds = ExecutorKind.allCases.map(\.rawValue)
    /// The workloads the harness knows.
    public static let workloads = ["alloc-churn", "leak", "sleep", "cpu", "upload-spooled", "upload-streamed"]
        + downloadWorkloads + downstreamWorkloads
    public static let uploadWorkloads = ["upload-spooled", "upload-streamed"]
    public static let downloadWorkloads = ["download-chunked", "download-sendfile", "download-accel"]
    public static let downstreamWorkloads = ["downstream-shared", "downstream-per-request"]

    public var isUpload: Bool { host == nil && Self.uploadWorkloads.contains(workload.name) }
    public var isDownload: Bool { host == nil && Self.downloadWorkloads.contains(workload.name) }
    public var isDownstream: Bool { host == nil && Self.downstreamWorkloads.contains(workload.name) }
    /// The route the load driver sends its requests to: a user's host serves its workload's name as a path.
    public var route: String {
        if host != nil { return HostProgram.route(ofWorkload: workload.name) }
        return isUpload ? "/upload" : isDownload ? "/download" : isDownstream ? "/downstream" : "/work"
    }
}

/// How a host runs its handlers: the pools real servers run request handlers on. Listed here once: scenarios
/// validate against it and the host builds from it.
public enum ExecutorKind: String, CaseIterable, Codable, Sendable {
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
