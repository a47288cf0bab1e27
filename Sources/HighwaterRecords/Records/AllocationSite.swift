/// One line of `alloc-sites.jsonl`: a call site that allocated during a run, from the agent's samples scaled
/// back to totals. `retained_*` is what the site still held when the process ended.
package struct AllocationSite: Codable, Equatable, Sendable {
    /// The innermost function that is not an allocator entry point (demangled), or `module+0xoffset`.
    package var site: String
    /// Its stack, innermost first, at most 8 frames (the one that retained most, when any did).
    package var stack: [String]?
    package var alloc_count: UInt64 = 0
    package var alloc_bytes: UInt64 = 0
    package var retained_count: UInt64 = 0
    package var retained_bytes: UInt64 = 0
    /// Samples behind the figures: few samples, rough figures.
    package var samples: Int = 0
    package var alloc_bytes_per_request: UInt64?
    package var retained_bytes_per_request: UInt64?
    /// How many different requests the site's retained samples were allocated in, and the first and last of them
    /// (the host's numbers, from 0): a leak's retained memory comes from requests all through the run, a cache filled
    /// once from one or a few early ones. Absent where no sample carried a request (a `record` target, whose requests
    /// the agent cannot see).
    package var retained_requests: Int?
    package var retained_requests_first: Int?
    package var retained_requests_last: Int?

    /// The function that called the site: the frame after the site's own in its stack (which is innermost first and
    /// may begin with allocator frames); nil when the stack ends there.
    package var caller: String? {
        guard let stack, let at = stack.firstIndex(of: site), at + 1 < stack.count else { return nil }
        return stack[at + 1]
    }

    package init(site: String) { self.site = site }

    /// "allocated in 44 different requests, #5 to #396"; nil without requests.
    package var retainedRequestsText: String? {
        guard let n = retained_requests, let first = retained_requests_first, let last = retained_requests_last else { return nil }
        return n == 1 ? "allocated in one request, #\(first)" : "allocated in \(n) different requests, #\(first) to #\(last)"
    }
}
