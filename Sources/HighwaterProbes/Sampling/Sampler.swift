@preconcurrency import Glibc
import CHighwater
import HighwaterRecords
import HighwaterSystem
import Synchronization

/// A dedicated thread that samples a process at a fixed interval and hands each sample, as it is taken, to its
/// sinks: `samples.jsonl` (`SamplesFile`), so an interrupted run keeps everything up to its last line, and any
/// other (`LatestSample`, for a live view). Each concern that adds to a sample is a `SampleReading` with its own
/// rate. Memory stays bounded: running maxima, no history.
package final class Sampler: @unchecked Sendable {
    package struct Options: Sendable {
        package var intervalNs: UInt64 = 10_000_000
        /// nil samples this process (with allocator figures).
        package var pid: Int32?
        /// malloc_info takes every arena's lock and walks its bins: refresh the arena count at most this often (every sample at the default 10 ms).
        package var arenaRefreshNs: UInt64 = 10_000_000
        /// A directory whose filesystem usage becomes `tmp_used`; it is watched (below) as well.
        package var tmpDir: String?
        /// More directories whose filesystems are watched.
        package var watchDirs: [String] = []
        /// How often watched directories are read (`statvfs`, about a microsecond each), on the same timer as
        /// the samples: a temp dir can fill and empty within a few milliseconds.
        package var watchIntervalNs: UInt64 = 1_000_000
        /// Add the process's descendants (workers a server forks) to each sample: `record` samples the tree.
        package var descendants = false
        /// Count glibc's arenas from /proc/PID/smaps this often (`ArenaCensus`); nil: not at all. smaps makes the
        /// kernel walk every mapping, so it has a slower rate of its own (`record`: 200 ms).
        package var censusIntervalNs: UInt64?
        /// Write the files the process tree holds open on the watched directories' filesystems here
        /// (`open-files.jsonl`), looked at every sample; nil: not looked at.
        package var openFilesPath: String?
        /// The live heap from inside the target and its descendants (`--agent`): the directory of their agents'
        /// live files (`AgentLiveHeap`), summed every sample into heap_in_use, with mallinfo2 asked for at the
        /// census's rate (else every 200 ms) and written as heap_free and heap_system when it comes.
        package var agentLiveDirectory: String?
        package init(intervalNs: UInt64 = 10_000_000, pid: Int32? = nil, tmpDir: String? = nil, watchDirs: [String] = [],
                    watchIntervalNs: UInt64 = 1_000_000) {
            self.intervalNs = intervalNs; self.pid = pid; self.tmpDir = tmpDir; self.watchDirs = watchDirs
            self.watchIntervalNs = watchIntervalNs
        }

        /// The temp dir first, then the others, each once.
        var watched: [String] {
            var all: [String] = []
            for dir in (tmpDir.map { [$0] } ?? []) + watchDirs where !all.contains(dir) { all.append(dir) }
            return all
        }
    }

    /// What the sampler saw, for a one-line summary.
    package struct Totals: Sendable, Equatable {
        package var samples = 0
        /// The largest RSS a sample saw.
        package var peakRSS: UInt64 = 0
        /// The kernel's high-water mark (VmHWM), read again when sampling ends: it catches a peak that came
        /// and went between two samples.
        package var kernelPeakRSS: UInt64 = 0
        /// The true peak: the larger of the two.
        package var peak: UInt64 { max(peakRSS, kernelPeakRSS) }
        /// Which figure `peak` is: "VmHWM" when the samples missed the top, else "sampled".
        package var peakSource: String { kernelPeakRSS > peakRSS ? "VmHWM" : "sampled" }
        package var peakThreads: UInt64 = 0
        package var peakArenas: UInt64 = 0
        /// The live heap, in the samples that carry it (`heap_in_use`): how many, the largest, the last.
        package var heapSamples = 0
        package var peakHeapInUse: UInt64 = 0
        package var lastHeapInUse: UInt64?
        package var firstNs: UInt64 = 0
        package var lastNs: UInt64 = 0
        /// Samples taken later than their deadline by more than one interval.
        package var late = 0
        /// CPU time of the sampling thread itself, read when it ends: what sampling cost.
        package var threadCPUNs: UInt64 = 0
        /// Why sampling stopped before it was asked to (the process exited, …).
        package var ended: String?
        package var latest: SampleRecord?
        /// What each watched directory's filesystem did (the temp dir first).
        package var watched: [WatchedFilesystem] = []
        package var durationNs: UInt64 { lastNs >= firstNs ? lastNs - firstNs : 0 }

        /// Nothing sampled: before the first sample, or for a process that ended before it (`sample` says so).
        package init() {}
    }

    /// The sampling thread's life: started once, joined once.
    enum Lifecycle {
        case idle
        case running(pthread_t)
        case stopped
    }

    package let options: Options
    private let probe: ProcessProbe
    /// Read only by the sampling thread once it runs.
    private let family: DescendantProbes?
    /// What adds to each sample, in order (the census's count only where nothing earlier gave one).
    private let readings: [any SampleReading]
    /// Read by `stop`'s caller after the thread has joined.
    private let openFiles: OpenFilesScan?
    /// Read and written only by the sampling thread once it runs.
    private let watches: [DirectoryWatch]
    private let sinks: [any SampleSink]
    /// The file sink, when the sampler writes samples.jsonl.
    private let file: SamplesFile?
    private let liveHeapReading: LiveHeapReading?
    private let state = Mutex(Totals())
    private let lifecycle = Mutex(Lifecycle.idle)
    /// Read by the sampling thread every tick; the lifecycle under its lock is the truth.
    private let running = Atomic<Bool>(false)

    /// Samples into `path` (samples.jsonl), and into `sinks` besides.
    package convenience init(options: Options, appendingTo path: String, sinks: [any SampleSink] = []) throws {
        try self.init(options: options, file: SamplesFile(path: path, intervalNs: options.intervalNs), sinks: sinks)
    }

    /// Samples into `sinks` only (a live exporter keeps no file).
    package convenience init(options: Options, sinks: [any SampleSink]) throws {
        try self.init(options: options, file: nil, sinks: sinks)
    }

    private init(options: Options, file: SamplesFile?, sinks: [any SampleSink]) throws {
        self.options = options
        let probe = try ProcessProbe(pid: options.pid)
        self.probe = probe
        family = options.descendants ? DescendantProbes(root: probe.pid) : nil
        let watches = try options.watched.map { try DirectoryWatch(path: $0, intervalNs: options.watchIntervalNs) }
        self.watches = watches
        openFiles = try options.openFilesPath.map { OpenFilesScan(watch: try OpenFileWatch(dirs: options.watched, appendingTo: $0)) }
        liveHeapReading = options.agentLiveDirectory.map {
            LiveHeapReading(liveHeap: AgentLiveHeap(directory: $0), mallocEveryNs: options.censusIntervalNs ?? 200_000_000,
                            root: probe.pid)
        }
        var readings: [any SampleReading] = []
        if probe.isSelf, ActiveAllocator.isGlibc { readings.append(OwnArenaCount(refreshNs: options.arenaRefreshNs)) }
        // The temp dir is watched first of all (`Options.watched`): its reading becomes the sample's tmp_used.
        if options.tmpDir != nil, let watch = watches.first { readings.append(TempDirUsage(watch: watch)) }
        if let openFiles { readings.append(openFiles) }
        if let liveHeapReading { readings.append(liveHeapReading) }
        if let every = options.censusIntervalNs { readings.append(ArenaCensusReading(everyNs: every)) }
        self.readings = readings
        self.file = file
        self.sinks = (file.map { [$0] } ?? []) + sinks
        let first = watches.map(\.record)
        state.withLock { $0.watched = first }
    }

    package var totals: Totals { state.withLock { $0 } }

    /// The files held open on the watched filesystems, largest first; read after `stop`.
    package var openFileHolders: [TempFileHolder] {
        guard lifecycle.withLock({ if case .stopped = $0 { return true } else { return false } }) else { return [] }
        return openFiles?.watch.seen ?? []
    }

    /// Samples taken but not written (a full disk, …): samples.jsonl is short by this many lines.
    package var lost: AppendOnlyFile.Losses { file?.losses ?? .init() }

    package var isRunning: Bool { running.load(ordering: .acquiring) }

    /// The live heap of the process tree now, read on the caller's thread (the load driver's, around a request);
    /// nil without the agent's live files.
    package func liveHeapNow() -> AgentLiveHeap.Reading? {
        liveHeapReading?.readNow()
    }

    /// The agent's live files, when the target preloads it with one.
    package var liveHeap: AgentLiveHeap? { liveHeapReading?.liveHeap }

    /// Starts the sampling thread; a second call does nothing.
    package func start() {
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
    package func stop() -> Totals {
        let thread: pthread_t? = lifecycle.withLock { lifecycle in
            defer { lifecycle = .stopped }
            if case .running(let t) = lifecycle { return t }
            return nil
        }
        running.store(false, ordering: .releasing)
        if let thread { pthread_join(thread, nil) }
        return totals
    }

    /// Takes one sample now, on the caller's thread, and hands it to the sinks. Call it only while the sampling
    /// thread is not running (before `start` or after `stop`): the readings and sinks are one thread's at a time.
    package func sampleOnce(arenas: UInt64? = nil) throws -> SampleRecord {
        let record = try probe.sample(allocator: arenas, tmpDir: options.tmpDir)
        for sink in sinks { sink.take(record) }
        for sink in sinks { sink.finish() }
        note(record, late: false, fromLoop: false)
        return record
    }

    private func loop() {
        let start = MonotonicClock.nanoseconds()
        var deadline = start
        var watchDeadline = start
        while running.load(ordering: .acquiring) {
            var now = MonotonicClock.nanoseconds()
            if !watches.isEmpty && now >= watchDeadline {
                for watch in watches { try? watch.read(at: now) }
                watchDeadline += options.watchIntervalNs
                if watchDeadline < now { watchDeadline = now }
            }
            if now >= deadline {
                do {
                    let record = try take(at: deadline, isFinal: false)
                    note(record, late: record.t_ns > deadline + options.intervalNs)
                } catch {
                    state.withLock { $0.ended = (error as? ProbeError)?.description ?? "\(error)" }
                    running.store(false, ordering: .releasing)
                    break
                }
                deadline += options.intervalNs
                now = MonotonicClock.nanoseconds()
                // When we fall behind, skip the missed ticks instead of sampling in a burst.
                if deadline < now { deadline = now }
            }
            // In steps of at most 50 ms: `stop` must not wait out a long interval (record --interval 10s).
            let wake = watches.isEmpty ? deadline : min(deadline, watchDeadline)
            MonotonicClock.sleep(until: min(wake, MonotonicClock.nanoseconds() &+ 50_000_000))
        }
        // Asked to stop (not ended by an error): one last sample with VmHWM read now, so the file and the
        // totals hold the true peak even when it came after the last slow refresh.
        if state.withLock({ $0.ended == nil }), let record = try? take(at: MonotonicClock.nanoseconds(), isFinal: true) {
            note(record, late: false)
        }
        for sink in sinks { sink.finish() }
        let cpu = MonotonicClock.threadCPUNanoseconds()
        state.withLock { $0.threadCPUNs = cpu }
    }

    /// One sample: the process (and its descendants), each reading added, handed to every sink.
    private func take(at deadline: UInt64, isFinal: Bool) throws -> SampleRecord {
        var record = try probe.sample(refreshAll: isFinal)
        family?.add(to: &record)
        let tick = SampleTick(deadline: deadline, tree: [probe.pid] + (family?.pids ?? []), isFinal: isFinal)
        for reading in readings { reading.add(to: &record, tick: tick) }
        for sink in sinks { sink.take(record) }
        return record
    }

    /// - Parameter fromLoop: on the sampling thread, which alone touches the watches.
    private func note(_ r: SampleRecord, late: Bool, fromLoop: Bool = true) {
        state.withLock { t in
            if t.samples == 0 { t.firstNs = r.t_ns }
            t.samples += 1
            t.lastNs = r.t_ns
            t.peakRSS = max(t.peakRSS, r.rss)
            t.kernelPeakRSS = max(t.kernelPeakRSS, r.vm_hwm)
            t.peakThreads = max(t.peakThreads, r.threads)
            t.peakArenas = max(t.peakArenas, r.arenas ?? 0)
            if let heap = r.heap_in_use {
                t.heapSamples += 1
                t.peakHeapInUse = max(t.peakHeapInUse, heap)
                t.lastHeapInUse = heap
            }
            if late { t.late += 1 }
            t.latest = r
            if fromLoop { for (i, watch) in watches.enumerated() { t.watched[i] = watch.record } }
        }
    }
}
