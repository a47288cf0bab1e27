/// One CSV per run, a row per request, for spreadsheets; written as bytes because a million rows
/// built as Strings would dominate the render time.
package enum CSVExport {
    package static let header = "position,i,tid,start_ms,latency_ms,status,rss_before,rss_after,rss_delta,heap_in_use_before,heap_in_use_after,heap_delta,first_on_thread,error\n"

    package static func bytes(_ run: RunData, facts: RunFacts) -> [UInt8] {
        let r = run.requests
        var out: [UInt8] = []
        out.reserveCapacity(header.utf8.count + r.count * 110)
        out.append(contentsOf: header.utf8)
        let t0 = r.startNs.min() ?? 0
        // glibc's heap figures mean nothing under another allocator: empty cells, not 0, unless the allocator counted
        // its own (jemalloc's and tcmalloc's statistics: the verdict names their source).
        let heapKnown = (run.summary.allocator ?? "glibc") == "glibc" || run.summary.growth.evidence?.heap_source != nil
        // Clamped, never trapping: a figure past Int64 (a torn allocator reading, a forged line) must not end the report.
        for k in 0..<r.count {
            appendInt(&out, Int64(k)); out.append(44)
            appendInt(&out, Int64(clamping: r.index[k])); out.append(44)
            appendInt(&out, Int64(clamping: r.tid[k])); out.append(44)
            appendMicros(&out, Int64(bitPattern: r.startNs[k] &- t0) / 1000); out.append(44)
            appendMicros(&out, Int64(bitPattern: r.endNs[k] &- r.startNs[k]) / 1000); out.append(44)
            appendInt(&out, Int64(clamping: r.status[k])); out.append(44)
            appendInt(&out, Int64(clamping: r.rssBefore[k])); out.append(44)
            appendInt(&out, Int64(clamping: r.rssAfter[k])); out.append(44)
            appendInt(&out, Int64(bitPattern: r.rssAfter[k] &- r.rssBefore[k])); out.append(44)
            if heapKnown {
                appendInt(&out, Int64(clamping: r.heapBefore[k])); out.append(44)
                appendInt(&out, Int64(clamping: r.heapAfter[k])); out.append(44)
                appendInt(&out, Int64(bitPattern: r.heapAfter[k] &- r.heapBefore[k])); out.append(44)
            } else {
                out.append(contentsOf: [44, 44, 44])
            }
            out.append(k < facts.firstOnThread.count && facts.firstOnThread[k] ? 49 : 48); out.append(44)
            if let e = r.errors[k] { appendQuoted(&out, e) }
            out.append(10)
        }
        return out
    }

    package static func write(_ run: RunData, facts: RunFacts) throws -> String {
        let path = run.directory + "/requests.csv"
        try ReportFile.makeDirectories(run.directory)
        let b = bytes(run, facts: facts)
        try b.withUnsafeBytes { try ReportFile.write(path, $0) }
        return path
    }

    static func appendInt(_ out: inout [UInt8], _ v: Int64) {
        if v < 0 { out.append(45) }
        var m = v.magnitude
        if m == 0 { out.append(48); return }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &digits) { d in
            while m > 0 { d[n] = UInt8(48 + m % 10); m /= 10; n += 1 }
            while n > 0 { n -= 1; out.append(d[n]) }
        }
    }

    /// Milliseconds with three decimals from microseconds.
    static func appendMicros(_ out: inout [UInt8], _ us: Int64) {
        if us < 0 { out.append(45) }
        let m = Int64(us.magnitude)
        appendInt(&out, m / 1000)
        out.append(46)
        let frac = m % 1000
        out.append(UInt8(48 + frac / 100)); out.append(UInt8(48 + frac / 10 % 10)); out.append(UInt8(48 + frac % 10))
    }

    static func appendQuoted(_ out: inout [UInt8], _ s: String) {
        out.append(34)
        for b in s.utf8 {
            if b == 34 { out.append(34) }
            out.append(b == 10 || b == 13 ? 32 : b)
        }
        out.append(34)
    }
}
