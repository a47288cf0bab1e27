@preconcurrency import Glibc
import HighwaterRecords
import HighwaterSystem

/// glibc's arenas in any process, counted from outside through `/proc/PID/smaps`: no ptrace, no preload.
///
/// A non-main arena lives in heaps that glibc maps with `HEAP_MAX_SIZE` alignment (64 MiB on 64-bit): it reserves
/// 64 MiB, makes the part in use read-write and leaves the rest `---p`, so each heap is an anonymous read-write
/// mapping starting on a 64 MiB boundary, followed by its `---p` remainder (or 64 MiB read-write when full). The main
/// arena is `[heap]` (brk). An arena that outgrows its 64 MiB chains another heap, so `heaps` is the arenas other
/// than main at least, and exactly that while none has grown past 64 MiB.
package struct ArenaCensus: Equatable, Sendable {
    /// Non-main arena heaps found.
    package var heaps = 0
    /// Their resident bytes (the read-write parts' Rss).
    package var heapResident: UInt64 = 0
    /// The main arena's `[heap]` resident bytes.
    package var mainHeapResident: UInt64 = 0

    /// Arenas, the main one included: what glibc's limit (8 x cores, or MALLOC_ARENA_MAX) counts.
    package var arenas: Int { heaps + 1 }

    package static let heapMaxSize: UInt64 = 64 << 20

    package init() {}

    /// One mapping of the smaps text, with what the census needs.
    struct Mapping {
        var start: UInt64
        var end: UInt64
        var readWrite: Bool
        var noAccess: Bool
        var anonymous: Bool
        var isBrkHeap: Bool
        var resident: UInt64 = 0
    }

    /// Counts the heaps in the text of a `/proc/PID/smaps`.
    package static func parse(_ text: UnsafeBufferPointer<UInt8>) -> ArenaCensus {
        var census = ArenaCensus()
        var maps: [Mapping] = []
        maps.reserveCapacity(256)
        var i = 0
        let n = text.count
        while i < n {
            var end = i
            while end < n && text[end] != 10 { end += 1 }
            let line = UnsafeBufferPointer(rebasing: text[i..<end])
            if let first = line.first, isHex(first) {
                if let m = header(line) { maps.append(m) }
            } else if line.starts(with: rssKey), !maps.isEmpty {
                maps[maps.count - 1].resident = SaturatingArithmetic.product(kilobytes(line), 1024)
            }
            i = end + 1
        }
        for (k, m) in maps.enumerated() {
            if m.isBrkHeap { census.mainHeapResident = SaturatingArithmetic.sum(census.mainHeapResident, m.resident); continue }
            guard m.anonymous, m.readWrite, m.start % heapMaxSize == 0, m.end > m.start, m.end - m.start <= heapMaxSize else { continue }
            let full = m.end - m.start == heapMaxSize
            let reserved = k + 1 < maps.count && maps[k + 1].anonymous && maps[k + 1].noAccess && maps[k + 1].start == m.end
                && maps[k + 1].end >= SaturatingArithmetic.sum(m.start, heapMaxSize)
            guard full || reserved else { continue }
            census.heaps += 1
            census.heapResident = SaturatingArithmetic.sum(census.heapResident, m.resident)
        }
        return census
    }

    /// Reads `/proc/PID/smaps` now (the kernel walks every mapping under the mmap lock: sample it slowly).
    package static func read(pid: Int32) throws -> ArenaCensus {
        let file = ProcFile("/proc/\(pid)/smaps", keepOpen: false, capacity: 256 << 10)
        return try file.withContents { parse($0) }
    }

    static let rssKey = Array("Rss:".utf8)

    static func isHex(_ c: UInt8) -> Bool { (c >= 48 && c <= 57) || (c >= 97 && c <= 102) }

    /// `start-end perms offset dev inode [path]`.
    static func header(_ line: UnsafeBufferPointer<UInt8>) -> Mapping? {
        var fields: [Range<Int>] = []
        var k = 0
        while k < line.count && fields.count < 6 {
            while k < line.count && line[k] == 32 { k += 1 }
            guard k < line.count else { break }
            let s = k
            // The path is the rest of the line (it may hold spaces).
            if fields.count == 5 { fields.append(s..<line.count); break }
            while k < line.count && line[k] != 32 { k += 1 }
            fields.append(s..<k)
        }
        guard fields.count >= 5, let dash = line[fields[0]].firstIndex(of: 45) else { return nil }
        guard let start = hex(line[fields[0].lowerBound..<dash]), let end = hex(line[(dash + 1)..<fields[0].upperBound]),
              fields[1].count >= 4 else { return nil }
        let perms = line[fields[1]]
        let r = perms[perms.startIndex], w = perms[perms.startIndex + 1], x = perms[perms.startIndex + 2]
        let inodeZero = fields[4].count == 1 && line[fields[4].lowerBound] == 48
        let path = fields.count > 5 ? Array(line[fields[5]]) : []
        // glibc names its arenas `[anon: glibc: malloc arena]` when the glibc.mem.decorate_maps tunable is set.
        let anonymous = inodeZero && (path.isEmpty || path.starts(with: Array("[anon: glibc: malloc".utf8)))
        return Mapping(start: start, end: end, readWrite: r == 114 && w == 119, noAccess: r == 45 && w == 45 && x == 45,
                       anonymous: anonymous, isBrkHeap: path == Array("[heap]".utf8))
    }

    static func hex(_ digits: Slice<UnsafeBufferPointer<UInt8>>) -> UInt64? {
        guard !digits.isEmpty, digits.count <= 16 else { return nil }
        var v: UInt64 = 0
        for c in digits {
            switch c {
            case 48...57: v = v << 4 | UInt64(c - 48)
            case 97...102: v = v << 4 | UInt64(c - 87)
            default: return nil
            }
        }
        return v
    }

    /// `Rss:     1234 kB` → 1234; a number past 64 bits (only a damaged file has one) saturates.
    static func kilobytes(_ line: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var v: UInt64 = 0
        var seen = false
        for c in line {
            if c >= 48 && c <= 57 {
                v = SaturatingArithmetic.sum(SaturatingArithmetic.product(v, 10), UInt64(c - 48))
                seen = true
            } else if seen { break }
        }
        return v
    }
}
