@preconcurrency import Glibc
import HighwaterSystem

/// The sampled allocations the agent wrote to `HIGHWATER_AGENT_OUT`: each sample's block, size, thread,
/// time and return addresses, and whether the block was freed by the end.
package struct AllocationEvents: Sendable {
    package struct Sample: Sendable {
        package var address: UInt64
        /// Usable bytes of the block.
        package var size: UInt64
        package var tid: Int32
        package var tNs: UInt64
        /// Return addresses, innermost first (the agent's own frames included).
        package var stack: [UInt64]
        package var freed: Bool
        /// The host's number of the request its thread served (`highwater_agent_serving`); nil outside any request,
        /// and in a process whose host never says (a `record` target).
        package var request: Int? = nil
    }

    /// Bytes between samples on average; 0 when every allocation was recorded.
    package var interval: Int64
    package var pid: Int32
    package var samples: [Sample]
    /// The largest live heap over the run, replayed from the events in order (each sample scaled by its weight):
    /// exact in every-allocation mode, an estimate when sampled. Only blocks allocated while the agent ran count.
    package var peakLiveBytes: Double = 0
    /// The most threads that had captured a stack and were alive at once, as of the last flush. libunwind keeps a
    /// 256 KiB trace cache resident in each: memory the sampling adds to the process outside its heap (`unwinderBytes`).
    package var unwindingThreads = 0
    /// From the first event's time to the last's: how long the process sampled (0 with fewer than two events).
    package var sampledNs: UInt64 {
        guard let first = liveTimeline.first?.tNs, let last = liveTimeline.last?.tNs, last > first else { return 0 }
        return last - first
    }
    /// The Python interpreter the agent found in the process (nil: none), and the code objects its frames name, by id.
    package var python: PythonFrames.Interpreter?
    package var pythonCodes: [UInt64: PythonFrames.Code] = [:]
    package static let unwinderBytesPerThread = 256 << 10
    package var unwinderBytes: UInt64 { UInt64(unwindingThreads * Self.unwinderBytesPerThread) }
    /// The live heap over the run, a point at most every millisecond of the events' time (scaled as the peak). The
    /// agent times events with CLOCK_MONOTONIC_COARSE: the machine's monotonic clock to the kernel's tick, so it lines
    /// up with the samples and requests of any process to within a few milliseconds.
    package var liveTimeline: [LivePoint] = []

    package struct LivePoint: Sendable, Equatable {
        package var tNs: UInt64
        package var bytes: Double
    }

    /// Several processes' live heaps as one: at each point, the sum of every process's latest reading.
    package static func summed(_ timelines: [[LivePoint]]) -> [LivePoint] {
        guard timelines.count > 1 else { return timelines.first ?? [] }
        let points = timelines.enumerated().flatMap { k, line in line.map { (k, $0) } }.sorted { $0.1.tNs < $1.1.tNs }
        var current = [Double](repeating: 0, count: timelines.count)
        var total = 0.0
        var summed: [LivePoint] = []
        for (k, point) in points {
            total += point.bytes - current[k]
            current[k] = point.bytes
            if let last = summed.last, last.tNs == point.tNs { summed[summed.count - 1].bytes = total } else { summed.append(LivePoint(tNs: point.tNs, bytes: total)) }
        }
        return summed
    }

    /// The live heap at `tNs`: the last point at or before it; nil before the first event.
    package static func live(at tNs: UInt64, in timeline: [LivePoint]) -> Double? {
        let low = timeline.partitionPoint { $0.tNs <= tNs }
        return low == 0 ? nil : timeline[low - 1].bytes
    }

    package enum ReadError: Error, CustomStringConvertible {
        case notAnEventsFile(String)
        package var description: String {
            switch self {
            case .notAnEventsFile(let path): return "\(path) is not an allocation events file of this version (no HWEVENT2 header)"
            }
        }
    }

    /// Reads the file, mapped rather than copied: in every-allocation mode it runs to hundreds of MiB.
    package init(path: String) throws {
        let file = try MappedFile(path: path)
        try self.init(bytes: file.bytes, path: path)
    }

    /// Parses the file's bytes; a record cut short (a process killed mid-write) ends the list.
    package init(bytes raw: UnsafeRawBufferPointer, path: String) throws {
        guard raw.count >= 24, raw[0..<8].elementsEqual("HWEVENT2".utf8) else { throw ReadError.notAnEventsFile(path) }
        var samples: [Sample] = []
        interval = Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: Int64.self))
        pid = Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 16, as: Int32.self))
        var timeline: [LivePoint] = []
        do {
            func u64(_ at: Int) -> UInt64 { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
            func u32(_ at: Int) -> UInt32 { UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
            // The live sample at each address: a free ends the latest one there.
            var live: [UInt64: Int] = [:]
            var liveBytes = 0.0
            var lastT: UInt64 = 0
            func mark(_ t: UInt64) {
                if timeline.isEmpty || t &- timeline[timeline.count - 1].tNs >= 1_000_000 {
                    timeline.append(LivePoint(tNs: t, bytes: liveBytes))
                } else {
                    timeline[timeline.count - 1].bytes = liveBytes
                }
            }
            // The stacks by id, each written once before the first allocation that names it (the agent's kinds: 1 an
            // allocation with its addresses inline, 2 a free, 3 a stack, 4 an allocation naming a stack, 6 the request
            // a thread serves from then on, 7 a Python code object, 8 the Python interpreter found). Samples of one stack
            // share its array; a stack's Python frames name code objects by id, looked up when the stacks are named.
            var stacks: [UInt64: [UInt64]] = [:]
            var serving: [Int32: Int] = [:]
            var at = 24
            while at + 32 <= raw.count {
                let kindDepth = u32(at)
                let kind = kindDepth & 0xff
                let depth = kind == 4 ? 0 : Int(kindDepth >> 8)
                let end = at + 32 + depth * 8
                guard end <= raw.count, depth <= 1024 else { break }
                let address = u64(at + 8)
                if kind == 3 {
                    stacks[address] = (0..<depth).map { u64(at + 32 + $0 * 8) }
                } else if kind == 1 || kind == 4 {
                    let stack = kind == 4 ? stacks[UInt64(kindDepth >> 8)] ?? [] : (0..<depth).map { u64(at + 32 + $0 * 8) }
                    live[address] = samples.count
                    let size = u64(at + 16), t = u64(at + 24), tid = Int32(bitPattern: u32(at + 4))
                    samples.append(Sample(address: address, size: size, tid: tid, tNs: t, stack: stack, freed: false,
                                          request: serving[tid]))
                    liveBytes += Self.weight(size: size, interval: interval).bytes
                    peakLiveBytes = max(peakLiveBytes, liveBytes)
                    lastT = max(lastT, t)
                    mark(lastT)
                } else if kind == 6 {
                    serving[Int32(bitPattern: u32(at + 4))] = address == 0 ? nil : Int(clamping: address - 1)
                } else if kind == 7, depth >= 2 {
                    let lengths = u64(at + 32), table = u64(at + 40)
                    let name = Int(lengths & 0xffff_ffff), file = Int(lengths >> 32), lines = Int(table & 0xffff_ffff)
                    let start = at + 48
                    guard start + name + file + lines <= end else { at = end; continue }
                    func text(_ from: Int, _ count: Int) -> String { String(decoding: UnsafeRawBufferPointer(rebasing: raw[from..<(from + count)]), as: UTF8.self) }
                    pythonCodes[address] = PythonFrames.Code(qualname: text(start, name), filename: text(start + name, file),
                                                             firstLine: Int(Int32(truncatingIfNeeded: table >> 32)),
                                                             lineTable: Array(raw[(start + name + file)..<(start + name + file + lines)]))
                } else if kind == 8 {
                    python = PythonFrames.Interpreter(version: address, status: u64(at + 16))
                } else if kind == 5 {
                    unwindingThreads = Int(clamping: u64(at + 16))
                } else if kind == 2, let index = live.removeValue(forKey: address) {
                    samples[index].freed = true
                    liveBytes -= Self.weight(size: samples[index].size, interval: interval).bytes
                    lastT = max(lastT, u64(at + 24))
                    mark(lastT)
                }
                at = end
            }
        }
        self.samples = samples
        self.liveTimeline = timeline
    }

    /// How many allocations, and how many bytes, one sample of `size` bytes stands for: 1/p each, where p is
    /// the chance that a block of that size is sampled (1 - e^(-size/interval)), as tcmalloc scales.
    package func weight(size: UInt64) -> (count: Double, bytes: Double) { Self.weight(size: size, interval: interval) }

    static func weight(size: UInt64, interval: Int64) -> (count: Double, bytes: Double) {
        guard interval > 0, size > 0 else { return (1, Double(size)) }
        let p = 1 - Glibc.exp(-Double(size) / Double(interval))
        return (1 / p, Double(size) / p)
    }
}

