/// One line of `alloc-sites.jsonl`: a call site that allocated during a run, from the agent's samples scaled
/// back to totals. `retained_*` is what the site still held when the process ended.
public struct AllocationSite: Codable, Equatable, Sendable {
    /// The innermost function that is not an allocator entry point (demangled), or `module+0xoffset`.
    public var site: String
    /// Its stack, innermost first, at most 8 frames (the one that retained most, when any did).
    public var stack: [String]?
    public var alloc_count: UInt64 = 0
    public var alloc_bytes: UInt64 = 0
    public var retained_count: UInt64 = 0
    public var retained_bytes: UInt64 = 0
    /// Samples behind the figures: few samples, rough figures.
    public var samples: Int = 0
    public var alloc_bytes_per_request: UInt64?
    public var retained_bytes_per_request: UInt64?

    /// The function that called the site: the frame after the site's own in its stack (which is innermost first and
    /// may begin with allocator frames); nil when the stack ends there.
    public var caller: String? {
        guard let stack, let at = stack.firstIndex(of: site), at + 1 < stack.count else { return nil }
        return stack[at + 1]
    }

    public init(site: String) { self.site = site }
}
