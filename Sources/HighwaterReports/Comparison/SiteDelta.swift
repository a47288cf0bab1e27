import HighwaterRecords

/// An allocation site whose retained bytes changed between two runs of one configuration, from each run's
/// `alloc-sites.jsonl`: the difference `go tool pprof -top -diff_base A/profile.pb.gz B/profile.pb.gz` shows for
/// `inuse_space`, site by site.
package struct SiteDelta: Sendable {
    package var site: String
    package var before: UInt64
    package var after: UInt64
    package var change: Int64 { Int64(after) - Int64(before) }

    /// Sites shown per configuration, largest change first.
    static let shown = 5

    /// The sites of both runs, by the size of their change (either way), largest first; empty when neither run has
    /// allocation profiles.
    static func compare(_ a: RunData, _ b: RunData) -> [SiteDelta] {
        guard let sitesA = sites(a), let sitesB = sites(b) else { return [] }
        var byName: [String: SiteDelta] = [:]
        for s in sitesA { byName[s.site, default: SiteDelta(site: s.site, before: 0, after: 0)].before += s.retained_bytes }
        for s in sitesB { byName[s.site, default: SiteDelta(site: s.site, before: 0, after: 0)].after += s.retained_bytes }
        return byName.values.filter { $0.change != 0 }
            .sorted { (abs($0.change), $0.site) > (abs($1.change), $1.site) }
            .prefix(shown).map { $0 }
    }

    /// A run's sites: beside a hosted run, or for a record in its configuration's directory or the record's.
    static func sites(_ run: RunData) -> [AllocationSite]? {
        guard let path = run.profileFolders.lazy.map({ $0 + "/alloc-sites.jsonl" }).first(where: ReportFile.exists),
              let bytes = try? ReportFile.readAll(path) else { return nil }
        return RecordCoding.lines(AllocationSite.self, from: bytes)
    }
}
