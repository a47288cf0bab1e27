@preconcurrency import Glibc
import HighwaterAnalysis
import HighwaterProbes
import HighwaterRecords
import HighwaterSystem

/// Measures what sampling costs: one sample's reads, and the sampler thread's CPU share.
package enum SamplerBenchmark {
    package struct Result: Sendable {
        /// Median nanoseconds for statm + status + task count of this process.
        package var minimalSampleNs: Double
        /// Median nanoseconds for a full timeline record as the sampler takes it at 10 ms: statm, stat, the fd
        /// count, mallinfo2 and malloc_info's arena count.
        package var fullSampleNs: Double
        /// CPU time of the whole process over wall time while sampling at `rateHz`.
        package var cpuShare: Double
        package var rateHz: Double
        /// The same share for a thread that only wakes at `rateHz` and does nothing: the floor
        /// any sampler at that rate pays on this machine (timer wake-ups, context switches).
        package var wakeupFloorShare: Double
        package var samplesTaken: Int
        package var lateSamples: Int
    }

    package static func run(iterations: Int = 20_000, rateHz: Double = 1000, seconds: Double = 5,
                           scratch: String) throws -> Result {
        let statm = ProcFile("/proc/self/statm")
        let status = ProcFile("/proc/self/status")
        let probe = try ProcessProbe()
        var minimal: [Double] = []
        var full: [Double] = []
        minimal.reserveCapacity(iterations)
        full.reserveCapacity(iterations)
        for _ in 0..<iterations {
            let t0 = MonotonicClock.nanoseconds()
            _ = try statm.withContents { try ProcessStatm.parse($0) }
            _ = try status.withContents { try ProcessStatus.parse($0) }
            _ = try ProcDirectory.countEntries("/proc/self/task")
            let t1 = MonotonicClock.nanoseconds()
            // What the sampler does at the default 10 ms: the arena count (malloc_info) and the sample.
            let arenas = (try? AllocatorProbe.arenaCount()).map { UInt64($0) }
            _ = try probe.sample(allocator: arenas)
            let t2 = MonotonicClock.nanoseconds()
            minimal.append(Double(t1 - t0))
            full.append(Double(t2 - t1))
        }
        let path = scratch + "/bench-samples.jsonl"
        Syscall.unlinkIfPresent(path)
        defer { Syscall.unlinkIfPresent(path) }
        let sampler = try Sampler(options: .init(intervalNs: UInt64(1e9 / rateHz)), appendingTo: path)
        let cpu0 = processCPUNanoseconds()
        let wall0 = MonotonicClock.nanoseconds()
        sampler.start()
        MonotonicClock.sleep(nanoseconds: UInt64(seconds * 1e9))
        let totals = sampler.stop()
        let cpu = processCPUNanoseconds() - cpu0
        let wall = MonotonicClock.nanoseconds() - wall0
        let floor = wakeupFloor(rateHz: rateHz, seconds: seconds)
        return Result(minimalSampleNs: Percentiles.of(minimal).p50, fullSampleNs: Percentiles.of(full).p50,
                      cpuShare: Double(cpu) / Double(wall), rateHz: rateHz, wakeupFloorShare: floor,
                      samplesTaken: totals.samples,
                      lateSamples: totals.late)
    }

    /// CPU share of sleeping to absolute deadlines at `rateHz`, doing nothing else.
    static func wakeupFloor(rateHz: Double, seconds: Double) -> Double {
        let interval = UInt64(1e9 / rateHz)
        let cpu0 = processCPUNanoseconds()
        let wall0 = MonotonicClock.nanoseconds()
        var deadline = wall0
        while MonotonicClock.nanoseconds() - wall0 < UInt64(seconds * 1e9) {
            deadline += interval
            MonotonicClock.sleep(until: deadline)
        }
        return Double(processCPUNanoseconds() - cpu0) / Double(MonotonicClock.nanoseconds() - wall0)
    }

    static func processCPUNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
