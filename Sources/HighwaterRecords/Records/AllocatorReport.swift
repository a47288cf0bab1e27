/// What the hosted child said of its allocator when it ended (`arenas.json`): which malloc served it, and
/// under glibc each arena's high water (bytes it ever took from the system).
package struct AllocatorReport: Codable, Equatable, Sendable {
    /// "glibc", "jemalloc", "tcmalloc": the allocator whose library was mapped into the child.
    package var allocator: String
    package var arena_high_water: [UInt64]?
    package init(allocator: String, arena_high_water: [UInt64]? = nil) {
        self.allocator = allocator; self.arena_high_water = arena_high_water
    }
}
