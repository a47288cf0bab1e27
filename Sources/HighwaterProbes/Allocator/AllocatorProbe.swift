@preconcurrency import Glibc
import CHighwater
import Synchronization
import HighwaterRecords
import HighwaterSystem

/// glibc's totals over every arena (mallinfo2), in bytes.
package struct HeapTotals: Equatable, Sendable {
    /// Bytes handed out and not yet freed, mmapped chunks included.
    package var inUse: UInt64
    /// Bytes free inside the arenas: held by the process, not returned to the system.
    package var free: UInt64
    /// Bytes the arenas and mmapped chunks took from the system.
    package var system: UInt64
    package var mmapped: UInt64
    /// Free bytes at the top of the main arena that malloc_trim could release.
    package var releasable: UInt64
}

/// One arena as malloc_info describes it.
package struct ArenaStats: Equatable, Sendable, Codable {
    package var index: Int
    package var systemCurrent: UInt64
    package var systemMax: UInt64
    /// Free bytes held in bins (fast and rest).
    package var free: UInt64
    package var freeChunks: UInt64
    package var addressSpace: UInt64
    package var mprotect: UInt64
    /// Number of sub-heaps (non-main arenas only; 0 for the main arena).
    package var subheaps: UInt64
}

/// The allocator of this process: glibc malloc.
package enum AllocatorProbe {
    /// Walks the bins of every arena under its lock: 4.6 us with one arena, 18 us with 16 fragmented ones here
    /// (`highwater bench request`). Where the allocation agent is loaded, `liveBytes` is read instead.
    package static func totals() -> HeapTotals {
        let m = hw_mallinfo()
        return HeapTotals(inUse: m.uordblks + m.hblkhd, free: m.fordblks, system: m.arena + m.hblkhd,
                          mmapped: m.hblkhd, releasable: m.keepcost)
    }

    /// The bytes this process holds in live blocks, at a cost that does not grow with the arenas: the
    /// allocation agent's counters when it is preloaded (usable sizes, so a block's header is not counted), else
    /// mallinfo2's bytes in use (which walks every arena).
    @inline(__always)
    package static func liveBytes() -> UInt64 {
        if let c = AllocationAgent.totalCounters() { return UInt64(max(0, c.liveBytes)) }
        let m = hw_mallinfo()
        return m.uordblks + m.hblkhd
    }

    /// jemalloc's or tcmalloc's own figures for this process, read now (jemalloc's after advancing its epoch);
    /// nil under glibc or where the interface is absent or refuses (a build without statistics).
    package static func allocatorFigures() -> AllocatorFigures? {
        var raw = hw_allocator_stats_t()
        let kind = hw_allocator_stats(&raw)
        let name: String
        switch kind {
        case Int32(HW_ALLOCATOR_JEMALLOC): name = "jemalloc"
        case Int32(HW_ALLOCATOR_TCMALLOC): name = "tcmalloc"
        default: return nil
        }
        return AllocatorFigures(allocator: name, allocated: raw.allocated, active: raw.active, resident: raw.resident,
                                retained: raw.retained, free: raw.free)
    }

    /// The figures of `allocatorFigures`, read at most once per `allocatorRefreshNs`: a request's records take the
    /// last reading (jemalloc's epoch merges every thread's cache statistics under locks, too dear for each request).
    package static func recentAllocatorFigures() -> AllocatorFigures? {
        let now = MonotonicClock.nanoseconds()
        return recentFigures.withLock { cached in
            if let c = cached, now &- c.at < allocatorRefreshNs { return c.figures }
            // A reading that fails (a torn tcmalloc one) keeps the last good figures rather than dropping to none.
            let figures = allocatorFigures() ?? cached?.figures
            cached = (now, figures)
            return figures
        }
    }

    /// The slow rate of the sampler's costlier readings (its mallinfo2 under the agent, the census).
    package static let allocatorRefreshNs: UInt64 = 200_000_000
    private static let recentFigures = Mutex<(at: UInt64, figures: AllocatorFigures?)?>(nil)

    /// glibc's cap on this process's arenas: as set by `setArenaMax`, else as glibc read it at start (see
    /// `arenaLimit(environment:onlineCPUs:)`). glibc never frees an arena, so once the count reaches this it cannot
    /// change, and counting (malloc_info, which walks every arena) can stop.
    package static var arenaLimit: Int {
        let set = arenaLimitSet.load(ordering: .relaxed)
        return set > 0 ? set : startingArenaLimit
    }

    private static let startingArenaLimit = arenaLimit(environment: ProcessEnvironment.current,
                                                       onlineCPUs: SystemFacts.onlineCPUs).limit
    /// What `setArenaMax` last set; 0 until it does.
    private static let arenaLimitSet = Atomic<Int>(0)

    /// glibc's arena cap as glibc reads it at start, and where it came from: `glibc.malloc.arena_max` in
    /// GLIBC_TUNABLES, else MALLOC_ARENA_MAX, else 8 x online CPUs (64-bit, the main arena included). glibc
    /// reads the number as a size_t and ignores text that is not one; so does this (0 or less is no limit).
    package static func arenaLimit(environment: [String: String], onlineCPUs: Int) -> (limit: Int, source: String) {
        // The value is whatever follows the first `=`, possibly nothing (`glibc.malloc.arena_max=`).
        let tunable = environment["GLIBC_TUNABLES"].flatMap { t in
            t.split(separator: ":").first { $0.hasPrefix("glibc.malloc.arena_max=") }.map { String($0.dropFirst("glibc.malloc.arena_max=".count)) }
        }
        if let v = tunable ?? environment["MALLOC_ARENA_MAX"], let n = Int(v.trimmingWhitespace()), n > 0 {
            return (n, tunable != nil ? "GLIBC_TUNABLES glibc.malloc.arena_max" : "MALLOC_ARENA_MAX")
        }
        return (8 * onlineCPUs, "glibc default: 8 x online CPUs on 64-bit (the main arena included)")
    }

    /// glibc's malloc_info XML for this process.
    package static func mallocInfoXML() throws -> String {
        var length = 0
        guard let raw = hw_malloc_info(&length) else {
            throw ProbeError(.unavailable("malloc_info failed"), path: "malloc_info")
        }
        defer { free(raw) }
        return String(decoding: UnsafeRawBufferPointer(start: raw, count: length), as: UTF8.self)
    }

    /// Every arena of this process, the main arena first.
    package static func arenas() throws -> [ArenaStats] {
        try parseMallocInfo(try mallocInfoXML())
    }

    /// How many arenas there are, main arena included, without parsing the rest of malloc_info.
    package static func arenaCount() throws -> Int {
        let n = hw_arena_count()
        if n < 0 { throw ProbeError(.unavailable("malloc_info failed"), path: "malloc_info") }
        return Int(n)
    }

    /// Caps the number of arenas, as MALLOC_ARENA_MAX does. Affects only arenas not yet created.
    @discardableResult
    package static func setArenaMax(_ n: Int) -> Bool {
        guard hw_set_arena_max(Int32(n)) == 1 else { return false }
        arenaLimitSet.store(max(n, 0), ordering: .relaxed)
        return true
    }

    /// Returns free memory of every arena to the system (madvise for the middle of heaps).
    @discardableResult
    package static func trim(pad: Int = 0) -> Bool { hw_malloc_trim(pad) == 1 }

    /// Parses malloc_info's XML into one record per `<heap>`.
    package static func parseMallocInfo(_ xml: String) throws -> [ArenaStats] {
        guard xml.contains("<malloc") else {
            throw ProbeError(.malformed("no <malloc> element"), path: "malloc_info")
        }
        var arenas: [ArenaStats] = []
        var current: ArenaStats?
        var inSizes = false
        for tag in XMLTags(xml) {
            switch tag.name {
            case "heap":
                if tag.closing {
                    guard let done = current else { throw ProbeError(.malformed("</heap> without <heap>"), path: "malloc_info") }
                    arenas.append(done); current = nil
                } else {
                    guard current == nil else { throw ProbeError(.malformed("<heap> inside <heap>"), path: "malloc_info") }
                    guard let nr = tag["nr"].flatMap(Int.init) else { throw ProbeError(.malformed("<heap> without nr"), path: "malloc_info") }
                    current = ArenaStats(index: nr, systemCurrent: 0, systemMax: 0, free: 0, freeChunks: 0,
                                         addressSpace: 0, mprotect: 0, subheaps: 0)
                }
            case "sizes": inSizes = !tag.closing && !tag.selfClosing
            case "total" where current != nil && !inSizes:
                if tag["type"] == "fast" || tag["type"] == "rest" {
                    current!.free = SaturatingArithmetic.sum(current!.free, tag["size"].flatMap { UInt64($0) } ?? 0)
                    current!.freeChunks = SaturatingArithmetic.sum(current!.freeChunks, tag["count"].flatMap { UInt64($0) } ?? 0)
                }
            case "system" where current != nil:
                let size = tag["size"].flatMap { UInt64($0) } ?? 0
                if tag["type"] == "current" { current!.systemCurrent = size }
                if tag["type"] == "max" { current!.systemMax = size }
            case "aspace" where current != nil:
                let size = tag["size"].flatMap { UInt64($0) } ?? 0
                switch tag["type"] {
                case "total": current!.addressSpace = size
                case "mprotect": current!.mprotect = size
                case "subheaps": current!.subheaps = size
                default: break
                }
            default: break
            }
        }
        if current != nil { throw ProbeError(.malformed("unterminated <heap>"), path: "malloc_info") }
        guard xml.contains("</malloc>") else { throw ProbeError(.malformed("no </malloc>: truncated"), path: "malloc_info") }
        return arenas
    }
}

/// A minimal scanner over the tags of malloc_info's XML, which has no text content.
struct XMLTags: Sequence, IteratorProtocol {
    struct Tag {
        var name: Substring
        var closing: Bool
        var selfClosing: Bool
        var attributes: [(Substring, Substring)]
        subscript(_ key: String) -> String? {
            attributes.first { $0.0 == key }.map { String($0.1) }
        }
    }

    private let text: Substring
    private var position: Substring.Index

    init(_ xml: String) {
        text = Substring(xml)
        position = text.startIndex
    }

    mutating func next() -> Tag? {
        guard let open = text[position...].firstIndex(of: "<"),
              let close = text[open...].firstIndex(of: ">") else { return nil }
        position = text.index(after: close)
        var body = text[text.index(after: open)..<close]
        var tag = Tag(name: "", closing: false, selfClosing: false, attributes: [])
        if body.first == "/" { tag.closing = true; body = body.dropFirst() }
        if body.last == "/" { tag.selfClosing = true; body = body.dropLast() }
        if body.first == "?" { return next() }
        let nameEnd = body.firstIndex(where: { $0 == " " || $0 == "\n" }) ?? body.endIndex
        tag.name = body[..<nameEnd]
        var rest = body[nameEnd...]
        while let eq = rest.firstIndex(of: "=") {
            let key = rest[..<eq].drop(while: { $0 == " " || $0 == "\n" })
            let afterEq = rest[rest.index(after: eq)...]
            guard afterEq.first == "\"", let endQuote = afterEq.dropFirst().firstIndex(of: "\"") else { break }
            tag.attributes.append((key, afterEq[afterEq.index(after: afterEq.startIndex)..<endQuote]))
            rest = afterEq[afterEq.index(after: endQuote)...]
        }
        return tag
    }
}
