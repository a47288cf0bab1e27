@preconcurrency import Glibc
import CHighwater
import HighwaterRecords
import HighwaterSystem
import Synchronization

/// A dedicated thread that samples a process at a fixed interval and appends each sample to
/// `samples.jsonl` as it is taken, so an interrupted run keeps everything up to its last line.
/// Memory stays bounded: one reused line buffer and running maxima, no history.
public final class Sampler: @unchecked Sendable {
    public struct Options: Sendable {
        public var intervalNs: UInt64 = 10_000_000
        /// nil samples this process (with allocator figures).
        public var pid: Int32?
        /// malloc_info takes every arena's lock and walks its bins: refresh the arena count at most this often (every sample at the default 10 ms).
        public var arenaRefreshNs: UInt64 = 10_000_000
        /// A directory whose filesystem usage becomes `tmp_used`.
        public var tmpDir: String?
        public init(intervalNs: UInt64 = 10_000_000, pid: Int32? = nil, tmpDir: String? = nil) {
            self.intervalNs = intervalNs; self.pid = pid; self.tmpDir = tmpDir
        }
    }

    /// What the sampler saw, for a one-line summary.
    public struct Totals: Sendable, Equatable {
        public var samples = 0
        public var peakRSS: UInt64 = 0
        public var peakThreads: UInt64 = 0
        public var peakArenas: UInt64 = 0
        public var firstNs: UInt64 = 0
        public var lastNs: UInt64 = 0
        /// Samples taken later than their deadline by more than one interval.
        public var late = 0
        /// Why sampling stopped before it was asked to (the process exited, …).
        public var ended: String?
        public var latest: SampleRecord?
        public var durationNs: UInt64 { lastNs >= firstNs ? lastNs - firstNs : 0 }
    }

    /// The sampling thread's life: started once, joined once.
    enum Lifecycle {
        case idle
        case running(pthread_t)
        case stopped
    }

    public let options: Options
    private let probe: ProcessProbe
    private let output: AppendOnlyFile
    private let state = Mutex(Totals())
    private let lifecycle = Mutex(Lifecycle.idle)
    /// Read by the sampling thread every tick; the lifecycle under its lock is the truth.
    private let running = Atomic<Bool>(false)

    /// Opens `path` for appending and checks the target can be read.
    public init(options: Options, appendingTo path: String) throws {
        self.options = options
        probe = try ProcessProbe(pid: options.pid)
        do { output = try AppendOnlyFile(path) } catch { throw ProbeError(error) }
    }

    public var totals: Totals { state.withLock { $0 } }

    /// Samples taken but not written (a full disk, …): samples.jsonl is short by this many lines.
    public var lost: AppendOnlyFile.Losses { output.losses }

    public var isRunning: Bool { running.load(ordering: .acquiring) }

    /// Starts the sampling thread; a second call does nothing.
    public func start() {
        lifecycle.withLock { lifecycle in
            guard case .idle = lifecycle else { return }
            running.store(true, ordering: .releasing)
            let box = Unmanaged.passRetained(self)
            var t = pthread_t()
            let rc = pthread_create(&t, nil, { raw in
                let sampler = Unmanaged<Sampler>.fromOpaque(raw!).takeRetainedValue()
                hw_set_thread_name("hw-sampler")
                sampler.loop()
                return nil
            }, box.toOpaque())
            if rc != 0 {
                box.release()
                running.store(false, ordering: .releasing)
                state.withLock { $0.ended = "could not start the sampler thread (errno \(rc))" }
                lifecycle = .stopped
            } else {
                lifecycle = .running(t)
            }
        }
    }

    /// Stops after the sample in progress; the file is complete when this returns.
    @discardableResult
    public func stop() -> Totals {
        let thread: pthread_t? = lifecycle.withLock { lifecycle in
            defer { lifecycle = .stopped }
            if case .running(let t) = lifecycle { return t }
            return nil
        }
        running.store(false, ordering: .releasing)
        if let thread { pthread_join(thread, nil) }
        return totals
    }

    /// Takes one sample now, on the caller's thread, and appends it.
    public func sampleOnce(arenas: UInt64? = nil) throws -> SampleRecord {
        var line = JSONLine()
        let record = try probe.sample(allocator: arenas, tmpDir: options.tmpDir)
        record.write(to: &line)
        append(line.bytes)
        note(record, late: false)
        return record
    }

    private func loop() {
        var line = JSONLine(capacity: 512)
        var arenas: UInt64?
        var arenasAt: UInt64 = 0
        var deadline = MonotonicClock.nanoseconds()
        while running.load(ordering: .acquiring) {
            do {
                if probe.isSelf, ActiveAllocator.isGlibc, arenasAt == 0 || deadline &- arenasAt >= options.arenaRefreshNs {
                    arenas = (try? AllocatorProbe.arenaCount()).map { UInt64($0) }
                    arenasAt = deadline
                }
                let record = try probe.sample(allocator: arenas, tmpDir: options.tmpDir)
                record.write(to: &line)
                append(line.bytes)
                note(record, late: record.t_ns > deadline + options.intervalNs)
            } catch let error as ProbeError {
                state.withLock { $0.ended = error.description }
                running.store(false, ordering: .releasing)
                break
            } catch {
                state.withLock { $0.ended = "\(error)" }
                running.store(false, ordering: .releasing)
                break
            }
            deadline += options.intervalNs
            let now = MonotonicClock.nanoseconds()
            // When we fall behind, skip the missed ticks instead of sampling in a burst.
            if deadline < now { deadline = now }
            MonotonicClock.sleep(until: deadline)
        }
    }

    private func note(_ r: SampleRecord, late: Bool) {
        state.withLock { t in
            if t.samples == 0 { t.firstNs = r.t_ns }
            t.samples += 1
            t.lastNs = r.t_ns
            t.peakRSS = max(t.peakRSS, r.rss)
            t.peakThreads = max(t.peakThreads, r.threads)
            t.peakArenas = max(t.peakArenas, r.arenas ?? 0)
            if late { t.late += 1 }
            t.latest = r
        }
    }

    /// A failed write is counted by the file (the run reports lost samples), and sampling goes on.
    private func append(_ bytes: [UInt8]) {
        try? output.append(bytes)
    }
}
