#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// The blocking work of a sync handler, run on a pool thread: about 1 MiB in a thousand small allocations, freed at
/// once (glibc serves them from that thread's arena and keeps the pages), then a wait, as for a database or a file.
enum Work {
    static func churn() -> Int {
        let junk = (0..<1000).map { [UInt8](repeating: UInt8(truncatingIfNeeded: $0), count: 1000) }
        let checksum = junk.reduce(0) { $0 + Int($1[999]) }
        usleep(10_000)
        return checksum
    }
}
