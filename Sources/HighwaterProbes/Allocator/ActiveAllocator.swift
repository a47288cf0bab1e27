/// Which malloc serves this process. A preloaded jemalloc or tcmalloc replaces glibc's malloc, and glibc's
/// counters (mallinfo2, malloc_info) then describe an allocator nobody calls: their figures would read 0 or
/// stale, so they are reported as not available instead.
package enum ActiveAllocator {
    /// "glibc", or the preloaded allocator's short name ("jemalloc", "tcmalloc").
    package static let name: String = identify(maps: (try? ProcFile.read("/proc/self/maps")) ?? "")

    package static var isGlibc: Bool { name == "glibc" }

    /// The allocator whose library is mapped into the process; glibc when none of the known ones is.
    package static func identify(maps: String) -> String {
        for known in ["jemalloc", "tcmalloc", "mimalloc"] where maps.contains("lib" + known) { return known }
        return "glibc"
    }
}

/// The live heap as a preloaded jemalloc or tcmalloc counts it (mallctl, MallocExtension_GetNumericProperty),
/// read inside the process. Under glibc, or an allocator without a statistics interface, there is none.
package struct AllocatorFigures: Equatable, Sendable {
    /// "jemalloc" or "tcmalloc".
    package var allocator: String
    /// Bytes the program holds in live blocks.
    package var allocated: UInt64
    /// Pages in active use (jemalloc's stats.active; tcmalloc's heap less its free page heap).
    package var active: UInt64
    /// Bytes of the allocator resident in memory.
    package var resident: UInt64
    /// Address space kept but not resident (jemalloc's stats.retained; tcmalloc's unmapped page heap).
    package var retained: UInt64
    /// Resident less allocated: what the allocator keeps beyond the live heap.
    package var free: UInt64
}
