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
        /// A directory whose filesystem usage becomes `tmp_used`; it is watched (below) as well.
        public var tmpDir: String?
        /// More directories whose filesystems are watched.
        public var watchDirs: [String] = []
        /// How often watched directories are read (`statvfs`, about a microsecond each), on the same timer as
        /// the samples: a temp dir can fill and empty within a few milliseconds.
        public var watchIntervalNs: UInt64 = 1_000_000
        /// Add the process's descendants (workers a server forks) to each sample: `record` samples the tree.
        public var descendants = false
        /// Count glibc's arenas from /proc/PID/smaps this often (`ArenaCensus`); nil: not at all. smaps makes the
        /// kernel walk every mapping, so it has a slower rate of its own (`record`: 200 ms).
        public var censusIntervalNs: UInt64?
        /// Write the files the process tree holds open on the watched directories' filesystems here
        /// (`open-files.jsonl`), looked at every sample; nil: not looked at.
        public var openFilesPath: String?
        /// The live heap from inside the target and its descendants (`--agent`): the directory of their agents'
        /// live files (`AgentLiveHeap`), summed every sample into heap_in_use, with mallinfo2 asked for at the
        /// census's rate (else every 200 ms) and written as heap_free and heap_system when it comes.
        public var agentLiveDirectory: String?
        public init(intervalNs: UInt64 = 10_000_000, pid: Int32? = nil, tmpDir: String? = nil, watchDirs: [String] = [],
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
    public struct Totals: Sendable, Equatable {
        public var samples = 0
        /// The largest RSS a sample saw.
        public var peakRSS: UInt64 = 0
        /// The kernel's high-water mark (VmHWM), read again when sampling ends: it catches a peak that came
        /// and went between two samples.
        public var kernelPeakRSS: UInt64 = 0
        /// The true peak: the larger of the two.
        public var peak: UInt64 { max(peakRSS, kernelPeakRSS) }
        /// Which figure `peak` is: "VmHWM" when the samples missed the top, else "sampled".
        public var peakSource: String { kernelPeakRSS > peakRSS ? "VmHWM" : "sampled" }
        public var peakThreads: UInt64 = 0
        public var peakArenas: UInt64 = 0
        /// The live heap, in the samples that carry it (`heap_in_use`): how many, the largest, the last.
        public var heapSamples = 0
        public var peakHeapInUse: UInt64 = 0
        public var lastHeapInUse: UInt64?
        public var firstNs: UInt64 = 0
        public var lastNs: UInt64 = 0
        /// Samples taken later than their deadline by more than one interval.
        public var late = 0
        /// CPU time of the sampling thread itself, read when it ends: what sampling cost.
        public var threadCPUNs: UInt64 = 0
        /// Why sampling stopped before it was asked to (the process exited, …).
        public var ended: String?
        public var latest: SampleRecord?
        /// What each watched directory's filesystem did (the temp dir first).
        public var watched: [WatchedFilesystem] = []
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
    /// Read only by the sampling thread once it runs.
    private let family: DescendantProbes?
    /// Read only by the sampling thread once it runs, and by `stop` after it has joined.
    private let openFiles: OpenFileWatch?
    /// Read and written only by the sampling thread once it runs.
    private let watches: [DirectoryWatch]
    private let output: AppendOnlyFile
    /// The agent's live files, when the target preloads it with one.
    public let liveHeap: AgentLiveHeap?
    /// The process tree as the sampling thread last listed it, for readers of the live heap on other threads.
    private let treePIDs: Mutex<[Int32]>
    private let state = Mutex(Totals())
    private let lifecycle = Mutex(Lifecycle.idle)
    /// Read by the sampling thread every tick; the lifecycle under its lock is the truth.
    private let running = Atomic<Bool>(false)

    /// Opens `path` for appending and checks the target can be read.
    public init(options: Options, appendingTo path: String) throws {
        self.options = options
        probe = try ProcessProbe(pid: options.pid)
        family = options.descendants ? DescendantProbes(root: probe.pid) : nil
        openFiles = try options.openFilesPath.map { try OpenFileWatch(dirs: options.watched, appendingTo: $0) }
        let watches = try options.watched.map { try DirectoryWatch(path: $0, intervalNs: options.watchIntervalNs) }
        self.watches = watches
        do { output = try AppendOnlyFile(path) } catch { throw ProbeError(error) }
        liveHeap = options.agentLiveDirectory.map { AgentLiveHeap(directory: $0) }
        treePIDs = Mutex([probe.pid])
        let first = watches.map(\.record)
        state.withLock { $0.watched = first }
    }

    public var totals: Totals { state.withLock { $0 } }

    /// The files held open on the watched filesystems, largest first; read after `stop`.
    public var openFileHolders: [TempFileHolder] {
        guard lifecycle.withLock({ if case .stopped = $0 { return true } else { return false } }) else { return [] }
        return openFiles?.seen ?? []
    }

    /// Samples taken but not written (a full disk, …): samples.jsonl is short by this many lines.
    public var lost: AppendOnlyFile.Losses { output.losses }

    public var isRunning: Bool { running.load(ordering: .acquiring) }

    /// The live heap of the process tree now, read on the caller's thread (the load driver's, around a request);
    /// nil without the agent's live files.
    public func liveHeapNow() -> AgentLiveHeap.Reading? {
        liveHeap?.read(pids: treePIDs.withLock { $0 })
    }

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
        note(record, late: false, fromLoop: false)
        return record
    }

    /// At intervals under this, lines are written this often in one write: at 1 ms the write to samples.jsonl
    /// was the largest cost after reading statm (perf: 15% of the thread). An interrupted run keeps every line
    /// up to the last write; SIGKILL loses at most this much.
    static let writeEveryNs: UInt64 = 10_000_000

    private func loop() {
        var line = JSONLine(capacity: 512)
        var pending = PendingLines()
        var arenas: UInt64?
        var arenasAt: UInt64 = 0
        var census: (heaps: UInt64, resident: UInt64, main: UInt64, arenas: UInt64)?
        var censusAt: UInt64 = 0
        var mallocAt: UInt64 = 0
        let start = MonotonicClock.nanoseconds()
        var deadline = start
        var watchDeadline = start
        // The temp dir's reading becomes the sample's tmp_used, so it is not read twice.
        let tmpWatch = options.tmpDir != nil ? watches.first : nil
        while running.load(ordering: .acquiring) {
            var now = MonotonicClock.nanoseconds()
            if !watches.isEmpty && now >= watchDeadline {
                for watch in watches { try? watch.read(at: now) }
                watchDeadline += options.watchIntervalNs
                if watchDeadline < now { watchDeadline = now }
            }
            if now >= deadline {
                do {
                    // glibc never frees an arena: once the count reaches its cap, counting again (malloc_info
                    // walks every arena's free lists: 28 us with 16 fragmented arenas) can only give the same.
                    if probe.isSelf, ActiveAllocator.isGlibc,
                       arenasAt == 0 || (arenas ?? 0) < UInt64(AllocatorProbe.arenaLimit) && deadline &- arenasAt >= options.arenaRefreshNs {
                        arenas = (try? AllocatorProbe.arenaCount()).map { UInt64($0) }
                        arenasAt = deadline
                    }
                    var record = try probe.sample(allocator: arenas, tmpDir: tmpWatch == nil ? options.tmpDir : nil)
                    if let tmpWatch { record.tmp_used = tmpWatch.used }
                    family?.add(to: &record)
                    let tree = [probe.pid] + (family?.pids ?? [])
                    openFiles?.scan(pids: tree, at: record.t_ns, wall: record.t_unix_ns ?? 0)
                    if let liveHeap {
                        let ask = mallocAt == 0 || deadline &- mallocAt >= (options.censusIntervalNs ?? 200_000_000)
                        addLiveHeap(liveHeap, tree: tree, to: &record, askMalloc: ask)
                        if ask { mallocAt = deadline }
                    }
                    if let every = options.censusIntervalNs, census == nil || deadline &- censusAt >= every {
                        census = takeCensus(tree)
                        censusAt = deadline
                        if let census { apply(census, to: &record) }
                    } else if let census {
                        // Between readings only the count rides along, so the lines with heaps are the readings.
                        if record.arenas == nil { record.arenas = census.arenas }
                    }
                    record.write(to: &line)
                    pending.add(line.bytes, at: record.t_ns)
                    if options.intervalNs >= Self.writeEveryNs || record.t_ns &- pending.since >= Self.writeEveryNs {
                        flush(&pending)
                    }
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
        if state.withLock({ $0.ended == nil }), var record = try? probe.sample(allocator: arenas, tmpDir: nil, refreshAll: true) {
            if let tmpWatch { try? tmpWatch.read(at: MonotonicClock.nanoseconds()); record.tmp_used = tmpWatch.used }
            family?.add(to: &record)
            let tree = [probe.pid] + (family?.pids ?? [])
            if let liveHeap { addLiveHeap(liveHeap, tree: tree, to: &record, askMalloc: false) }
            // The last look too: a file opened by the phase's last request would otherwise go unseen.
            openFiles?.scan(pids: tree, at: record.t_ns, wall: record.t_unix_ns ?? 0)
            if options.censusIntervalNs != nil, let census = takeCensus(tree) { apply(census, to: &record) }
            record.write(to: &line)
            pending.add(line.bytes, at: record.t_ns)
            note(record, late: false)
        }
        flush(&pending)
        let cpu = MonotonicClock.threadCPUNanoseconds()
        state.withLock { $0.threadCPUNs = cpu }
    }

    /// The tree's live heap into the sample (heap_in_use, heap_processes), and the mallinfo2 answers that came since
    /// the last asking (heap_free, heap_system); `askMalloc` asks again those not waited on.
    private func addLiveHeap(_ live: AgentLiveHeap, tree: [Int32], to record: inout SampleRecord, askMalloc: Bool) {
        treePIDs.withLock { $0 = tree }
        if let r = live.read(pids: tree, now: record.t_ns) {
            record.heap_in_use = r.liveBytes
            record.heap_processes = UInt64(r.processes)
        }
        if askMalloc, let m = live.pollMalloc(pids: tree) {
            record.heap_free = m.free
            record.heap_system = m.system
        }
    }

    /// The census of the process and its descendants (`tree`), summed: each process has its main arena besides its heaps.
    private func takeCensus(_ tree: [Int32]) -> (heaps: UInt64, resident: UInt64, main: UInt64, arenas: UInt64)? {
        var total: (heaps: UInt64, resident: UInt64, main: UInt64, arenas: UInt64) = (0, 0, 0, 0)
        var read = false
        for pid in tree {
            guard let c = try? ArenaCensus.read(pid: pid) else { continue }
            read = true
            total.heaps += UInt64(c.heaps); total.resident += c.heapResident; total.main += c.mainHeapResident
            total.arenas += UInt64(c.arenas)
        }
        return read ? total : nil
    }

    private func apply(_ c: (heaps: UInt64, resident: UInt64, main: UInt64, arenas: UInt64), to record: inout SampleRecord) {
        record.arena_heaps = c.heaps
        record.arena_heap_resident = c.resident
        record.main_heap_resident = c.main
        if record.arenas == nil { record.arenas = c.arenas }
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

    /// A failed write is counted by the file (the run reports lost samples), and sampling goes on.
    private func append(_ bytes: [UInt8]) {
        try? output.append(bytes)
    }

    private func flush(_ pending: inout PendingLines) {
        guard pending.lines > 0 else { return }
        try? output.append(pending.bytes, records: pending.lines)
        pending.clear()
    }
}

/// Sample lines not yet written, in storage kept between writes (no allocation per sample).
struct PendingLines {
    var bytes: [UInt8] = []
    var lines = 0
    /// When the first waiting line was taken.
    var since: UInt64 = 0

    init() { bytes.reserveCapacity(16 << 10) }

    mutating func add(_ line: [UInt8], at t: UInt64) {
        if lines == 0 { since = t }
        bytes.append(contentsOf: line)
        lines += 1
    }

    mutating func clear() {
        bytes.removeAll(keepingCapacity: true)
        lines = 0
    }
}
