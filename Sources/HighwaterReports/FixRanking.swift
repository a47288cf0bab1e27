import HighwaterRecords

/// The fixes of one workload under one load, side by side: every configuration that ran it at the same
/// concurrency, ranked by steady RSS and by requests/s, both figures from the same `highwater run`.
/// Concurrency splits the groups because 40 requests in flight hold 40 working sets at once: a pool of one
/// at concurrency 1 and a pool of 40 at concurrency 40 answer different questions.
package struct FixRanking: Sendable {
    package struct Row: Sendable {
        package var config: String
        /// "glibc", "glibc, MALLOC_ARENA_MAX=2", "glibc, malloc_trim", "jemalloc", …
        package var fix: String
        package var steadyRSS: UInt64
        package var throughput: Double
        package var rssRank: Int
        package var throughputRank: Int
    }

    package var workload: String
    package var concurrency: String
    /// Lowest steady RSS first.
    package var rows: [Row]

    /// One ranking per workload and concurrency with at least two runs that have data, one of them a fix.
    package static func rankings(_ runs: [ReportModel.Run]) -> [FixRanking] {
        var order: [String] = []
        var groups: [String: [ReportModel.Run]] = [:]
        for run in runs where run.summary.growth.classification.hasData {
            let c = run.summary.configuration ?? RunConfiguration()
            let key = "\(c.workload ?? "?")\u{0}\(Self.concurrency(c))"
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(run)
        }
        return order.compactMap { key in
            let members = groups[key]!
            // Only where something was tried against the memory: an allocator, an arena limit, a trim, a pool size.
            let pools = Set(members.map { $0.summary.configuration?.executor ?? "" })
            guard members.count >= 2, members.contains(where: { isFix($0.summary) }) || pools.count > 1 else { return nil }
            let c = members[0].summary.configuration ?? RunConfiguration()
            var rows = members.map { run in
                Row(config: run.summary.config, fix: fix(run.summary), steadyRSS: run.facts.steady,
                    throughput: run.facts.throughput, rssRank: 0, throughputRank: 0)
            }
            let byThroughput = rows.indices.sorted { rows[$0].throughput > rows[$1].throughput }
            for (rank, i) in byThroughput.enumerated() { rows[i].throughputRank = rank + 1 }
            rows.sort { $0.steadyRSS < $1.steadyRSS }
            for i in rows.indices { rows[i].rssRank = i + 1 }
            return FixRanking(workload: c.workload ?? "?", concurrency: Self.concurrency(c), rows: rows)
        }
    }

    static func concurrency(_ c: RunConfiguration) -> String { c.concurrency.map { String($0) } ?? "?" }

    static func isFix(_ s: RunSummary) -> Bool {
        let c = s.configuration ?? RunConfiguration()
        return (s.allocator ?? "glibc") != "glibc" || c.environment["MALLOC_ARENA_MAX"] != nil || c.workloadOptions["trim"] == "true"
    }

    /// What the configuration changes about memory: the allocator, glibc's knobs, the pool.
    static func fix(_ s: RunSummary) -> String {
        let c = s.configuration ?? RunConfiguration()
        var parts = [s.allocator ?? "glibc"]
        if let n = c.environment["MALLOC_ARENA_MAX"] { parts.append("MALLOC_ARENA_MAX=\(n)") }
        if c.workloadOptions["trim"] == "true" { parts.append("malloc_trim") }
        if let e = c.executor { parts.append(e) }
        return parts.joined(separator: ", ")
    }

    package var title: String { "Fixes ranked: \(workload) at concurrency \(concurrency)" }

    /// The lowest steady RSS among the configurations that served at least nine tenths of the best requests/s of the
    /// ranking: what to choose when throughput matters (the pool size, of a sweep over pool sizes).
    package var bestKeepingThroughput: Row? {
        guard let top = rows.map(\.throughput).max(), top > 0 else { return nil }
        return rows.first { $0.throughput >= 0.9 * top }
    }
}
