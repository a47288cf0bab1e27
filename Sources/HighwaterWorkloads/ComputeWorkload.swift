@preconcurrency import Glibc
import CHighwater
import HighwaterRecords
import HighwaterProbes
import HighwaterSystem
import HighwaterHost

/// A handler that works on the worker thread without a request body: the stand-ins for an
/// inference or image-processing request (alloc-churn), a leak, a sleep, a busy loop.
package enum ComputeWorkload: Sendable, Equatable {
    /// Allocates `workingSet` bytes in `chunk`-sized blocks, touches them, frees them. With `pin`,
    /// a small per-thread allocation made after the working set keeps the arena from shrinking, so
    /// the freed memory stays resident in that thread's arena. With `trim`, malloc_trim(0) after.
    case allocChurn(workingSet: Int, chunk: Int, pin: Bool, trim: Bool)
    /// Keeps `bytesPerRequest` forever.
    case leak(bytesPerRequest: Int)
    case sleep(nanoseconds: UInt64)
    case cpu(nanoseconds: UInt64)

    package static let defaultWorkingSet = 8 << 20
    /// Below glibc's mmap threshold (128 KiB), so chunks come from the thread's arena.
    package static let defaultChunk = 64 << 10
    static let pinBytes = 4096

    /// Reads a workload from a plan, with clear errors for bad options.
    package init(_ workload: RunPlan.Workload) throws {
        let o = WorkloadOptions(workload)
        switch WorkloadKind(rawValue: workload.name) {
        case .allocChurn:
            let chunk = try o.bytes("chunk", Self.defaultChunk)
            self = .allocChurn(workingSet: max(chunk, try o.bytes("working_set", Self.defaultWorkingSet)), chunk: chunk,
                               pin: try o.flag("pin", true), trim: try o.flag("trim", false))
        case .leak: self = .leak(bytesPerRequest: try o.bytes("bytes_per_request", 64 << 10))
        case .sleep: self = .sleep(nanoseconds: try o.duration("duration", 5_000_000))
        case .cpu: self = .cpu(nanoseconds: try o.duration("duration", 1_000_000))
        default: throw HarnessError.unknownWorkload(workload.name)
        }
    }

    /// Runs one request on the calling thread.
    package func run() {
        switch self {
        case .allocChurn(let workingSet, let chunk, let pin, let trim):
            // Every page is touched, so the working set is resident as real work would make it.
            hw_alloc_churn(workingSet, chunk, pin ? 1 : 0, Self.pinBytes)
            if trim { _ = hw_malloc_trim(0) }
        case .leak(let bytes):
            hw_leak(bytes)
        case .sleep(let ns):
            MonotonicClock.sleep(nanoseconds: ns)
        case .cpu(let ns):
            let end = MonotonicClock.nanoseconds() + ns
            var x: UInt64 = 1
            while MonotonicClock.nanoseconds() < end {
                for _ in 0..<1000 { x = x &* 6364136223846793005 &+ 1 }
            }
            if x == 42 { print("") }
        }
    }
}

package enum HarnessError: HostConfigurationError, Equatable {
    case unknownWorkload(String)
    case badOption(workload: String, option: String, value: String, expected: String)
    case hostDidNotStart(String)
    /// The temp dir or destination asked for cannot be set up here.
    case storage(String)

    package var description: String {
        switch self {
        case .unknownWorkload(let w):
            return "unknown workload '\(w)'; use one of: \(RunPlan.workloads.joined(separator: ", "))"
        case .badOption(let w, let o, let v, let e):
            return "workload \(w): option \(o) is '\(v)'; expected \(e)"
        case .hostDidNotStart(let why):
            return "the hosted child did not start: \(why)"
        case .storage(let why):
            return why
        }
    }
}
