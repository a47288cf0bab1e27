/// Which malloc serves this process. A preloaded jemalloc or tcmalloc replaces glibc's malloc, and glibc's
/// counters (mallinfo2, malloc_info) then describe an allocator nobody calls: their figures would read 0 or
/// stale, so they are reported as not available instead.
public enum ActiveAllocator {
    /// "glibc", or the preloaded allocator's short name ("jemalloc", "tcmalloc").
    public static let name: String = identify(maps: (try? ProcFile.read("/proc/self/maps")) ?? "")

    public static var isGlibc: Bool { name == "glibc" }

    /// The allocator whose library is mapped into the process; glibc when none of the known ones is.
    public static func identify(maps: String) -> String {
        for known in ["jemalloc", "tcmalloc", "mimalloc"] where maps.contains("lib" + known) { return known }
        return "glibc"
    }
}
