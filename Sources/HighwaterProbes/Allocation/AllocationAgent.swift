import CHighwater

/// The allocation agent (libHighwaterAgent.so) as seen from the process it is preloaded into: its
/// per-thread counters, or nil everywhere when it is not loaded, so callers leave their fields out.
package enum AllocationAgent {
    /// Counts since a thread (or the process) began; sizes are usable sizes, so allocations and frees balance.
    package struct Counters: Sendable, Equatable {
        package var allocs: UInt64
        package var allocBytes: UInt64
        package var frees: UInt64
        package var freedBytes: UInt64

        /// Bytes allocated less bytes freed: what this thread added to the live heap (negative when it
        /// freed memory another thread allocated).
        package var liveBytes: Int64 { Int64(bitPattern: allocBytes &- freedBytes) }

        package static func - (a: Counters, b: Counters) -> Counters {
            Counters(allocs: a.allocs &- b.allocs, allocBytes: a.allocBytes &- b.allocBytes,
                     frees: a.frees &- b.frees, freedBytes: a.freedBytes &- b.freedBytes)
        }
    }

    /// The file name SwiftPM gives the agent's product, beside the `highwater` executable.
    package static let libraryName = "libHighwaterAgent.so"

    package static var isLoaded: Bool { hw_agent_loaded() != 0 }

    /// The calling thread's counters; nil without the agent. Allocates nothing.
    @inline(__always)
    package static func threadCounters() -> Counters? {
        var c = hw_agent_counters_t()
        guard hw_agent_thread_counters(&c) != 0 else { return nil }
        return Counters(c)
    }

    /// Tells the agent which request the calling thread serves from now on (nil: none), so the allocations it samples
    /// on this thread are that request's. A thread-local store in the agent; nothing without it.
    @inline(__always)
    package static func serving(request: Int?) {
        hw_agent_serving(request.map(Int64.init) ?? -1)
    }

    /// The whole process's counters; nil without the agent.
    package static func totalCounters() -> Counters? {
        var c = hw_agent_counters_t()
        guard hw_agent_total_counters(&c) != 0 else { return nil }
        return Counters(c)
    }
}

extension AllocationAgent.Counters {
    /// As the agent's C struct holds them.
    init(_ c: hw_agent_counters_t) {
        self.init(allocs: c.allocs, allocBytes: c.alloc_bytes, frees: c.frees, freedBytes: c.freed_bytes)
    }
}
