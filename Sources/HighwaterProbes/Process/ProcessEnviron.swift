@preconcurrency import Glibc
import HighwaterSystem

/// Another process's environment as it was started, from `/proc/PID/environ` (NUL-separated `KEY=VALUE`).
package enum ProcessEnviron {
    package static func read(pid: Int32) throws -> [String: String] {
        let file = ProcFile("/proc/\(pid)/environ", keepOpen: false, capacity: 16 << 10)
        return try file.withContents { parse($0) }
    }

    /// `KEY=VALUE` entries separated by NUL; an entry without `=` is skipped.
    package static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> [String: String] {
        var environment: [String: String] = [:]
        for entry in bytes.split(separator: 0) {
            guard let eq = entry.firstIndex(of: 61) else { continue }
            environment[String(decoding: entry[entry.startIndex..<eq], as: UTF8.self)] =
                String(decoding: entry[(eq + 1)...], as: UTF8.self)
        }
        return environment
    }

    /// glibc's arena limit for that process, and where it comes from: GLIBC_TUNABLES' glibc.malloc.arena_max,
    /// MALLOC_ARENA_MAX, or 8 x this machine's online CPUs.
    package static func arenaLimit(pid: Int32) -> (limit: Int, source: String) {
        AllocatorProbe.arenaLimit(environment: (try? read(pid: pid)) ?? [:], onlineCPUs: SystemFacts.onlineCPUs)
    }
}
