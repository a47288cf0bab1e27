import HighwaterRecords
import HighwaterSystem
import Synchronization

/// The moment a sample is taken, for the readings that add to it.
struct SampleTick {
    /// The tick's deadline on the monotonic clock: readings with slower rates of their own count from it.
    var deadline: UInt64
    /// The sampled process and, with `descendants`, the tree under it as listed for this sample.
    var tree: [Int32]
    /// The last sample, taken as sampling stops: every reading reads now, whatever its rate.
    var isFinal: Bool
}

/// One concern that adds its figures to each sample, each at its own rate: the arena count, the temp dir, the
/// open files on watched filesystems, the agent's live heap, the arena census. Touched only by the sampling thread.
protocol SampleReading: AnyObject {
    func add(to record: inout SampleRecord, tick: SampleTick)
}

/// This process's glibc arenas, counted with malloc_info. glibc never frees an arena: once the count reaches its
/// cap, counting again (malloc_info walks every arena's free lists: 28 us with 16 fragmented arenas) can only
/// give the same, so counting stops there.
final class OwnArenaCount: SampleReading {
    private let refreshNs: UInt64
    private var arenas: UInt64?
    private var countedAt: UInt64 = 0

    init(refreshNs: UInt64) { self.refreshNs = refreshNs }

    func add(to record: inout SampleRecord, tick: SampleTick) {
        if !tick.isFinal,
           countedAt == 0 || (arenas ?? 0) < UInt64(AllocatorProbe.arenaLimit) && tick.deadline &- countedAt >= refreshNs {
            arenas = (try? AllocatorProbe.arenaCount()).map { UInt64($0) }
            countedAt = tick.deadline
        }
        record.arenas = arenas
    }
}

/// The temp dir's usage as `tmp_used`, from its watch (read on the watches' own faster timer), so it is not read twice.
final class TempDirUsage: SampleReading {
    private let watch: DirectoryWatch

    init(watch: DirectoryWatch) { self.watch = watch }

    func add(to record: inout SampleRecord, tick: SampleTick) {
        if tick.isFinal { try? watch.read(at: MonotonicClock.nanoseconds()) }
        record.tmp_used = watch.used
    }
}

/// The files the tree holds open on the watched filesystems, looked at every sample (`open-files.jsonl`).
final class OpenFilesScan: SampleReading {
    let watch: OpenFileWatch

    init(watch: OpenFileWatch) { self.watch = watch }

    func add(to record: inout SampleRecord, tick: SampleTick) {
        watch.scan(pids: tick.tree, at: record.t_ns, wall: record.t_unix_ns ?? 0)
    }
}

/// The tree's live heap from the agents' live files (heap_in_use, heap_processes), and the mallinfo2 answers that
/// came since the last asking (heap_free, heap_system), asked again at `mallocEveryNs`.
final class LiveHeapReading: SampleReading, @unchecked Sendable {
    let liveHeap: AgentLiveHeap
    private let mallocEveryNs: UInt64
    private var askedAt: UInt64 = 0
    /// The tree as the sampling thread last listed it, for readers of the live heap on other threads.
    private let tree: Mutex<[Int32]>

    init(liveHeap: AgentLiveHeap, mallocEveryNs: UInt64, root: Int32) {
        self.liveHeap = liveHeap
        self.mallocEveryNs = mallocEveryNs
        tree = Mutex([root])
    }

    /// The live heap of the tree now, read on the caller's thread (the load driver's, around a request).
    func readNow() -> AgentLiveHeap.Reading? {
        liveHeap.read(pids: tree.withLock { $0 })
    }

    func add(to record: inout SampleRecord, tick: SampleTick) {
        tree.withLock { $0 = tick.tree }
        if let r = liveHeap.read(pids: tick.tree, now: record.t_ns) {
            record.heap_in_use = r.liveBytes
            record.heap_processes = UInt64(r.processes)
        }
        // The last sample does not ask: nothing would be left to read the answer.
        let ask = !tick.isFinal && (askedAt == 0 || tick.deadline &- askedAt >= mallocEveryNs)
        guard ask else { return }
        askedAt = tick.deadline
        if let m = liveHeap.pollMalloc(pids: tick.tree) {
            record.heap_free = m.free
            record.heap_system = m.system
        }
    }
}

/// The arena census of the tree from smaps (`ArenaCensus`), summed: smaps makes the kernel walk every mapping,
/// so it has a slower rate of its own. Between readings only the count rides along, so the lines with heaps are
/// the readings.
final class ArenaCensusReading: SampleReading {
    private let everyNs: UInt64
    private var last: (heaps: UInt64, resident: UInt64, main: UInt64, arenas: UInt64)?
    private var takenAt: UInt64 = 0

    init(everyNs: UInt64) { self.everyNs = everyNs }

    func add(to record: inout SampleRecord, tick: SampleTick) {
        if tick.isFinal || last == nil || tick.deadline &- takenAt >= everyNs {
            let census = take(tick.tree)
            if !tick.isFinal {
                last = census
                takenAt = tick.deadline
            }
            guard let census else { return }
            record.arena_heaps = census.heaps
            record.arena_heap_resident = census.resident
            record.main_heap_resident = census.main
            if record.arenas == nil { record.arenas = census.arenas }
        } else if let last, record.arenas == nil {
            record.arenas = last.arenas
        }
    }

    /// Each process has its main arena besides its heaps.
    private func take(_ tree: [Int32]) -> (heaps: UInt64, resident: UInt64, main: UInt64, arenas: UInt64)? {
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
}
