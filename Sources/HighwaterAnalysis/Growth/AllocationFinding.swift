import HighwaterRecords

/// Who holds the memory: the allocation agent's sites put beside the growth verdict. A run judged a leak names the
/// sites whose retained bytes grew with the requests (per request, a real share of the growth) as the leak.
package enum AllocationFinding {
    /// Sites kept in the summary; `alloc-sites.jsonl` has them all.
    package static let kept = 5
    /// A site is named in a leak when it retained at least this share of the growth per request.
    package static let leakShare = 0.1
    /// How the sentence naming a leak's sites begins, in a run's finding (record's terminal looks for it there).
    package static let leakOpening = "The leak, by the allocation samples: "

    /// - Parameter sites: every site of the run, most retained first (as `AllocationProfile.sites` gives them).
    package static func apply(to s: inout RunSummary, sites: [AllocationSite]) {
        guard !sites.isEmpty else { return }
        let retaining = sites.filter { $0.retained_bytes > 0 }
        s.allocation_sites = Array((retaining.isEmpty ? sites.sorted { $0.alloc_bytes > $1.alloc_bytes } : retaining).prefix(kept))
        guard s.growth.classification == .linear, s.requests > 0 else { return }
        let slope = s.growth.slope_bytes_per_request
        // Per request of the whole profile: a record's profile spans all its phases, not this one's requests.
        func perRequest(_ site: AllocationSite) -> Double {
            site.retained_bytes_per_request.map { Double($0) } ?? Double(site.retained_bytes) / Double(s.requests)
        }
        let leaking = retaining.filter { perRequest($0) >= max(slope, 1) * leakShare }
        let sentence: String
        if leaking.isEmpty {
            sentence = retaining.isEmpty
                ? "The allocation samples show no site holding memory at the end: what grew is not on the heap the agent sees (RSS of another kind, or another allocator)."
                : "No allocation site retained \(Int(leakShare * 100))% or more of the growth per request: the retained heap is spread thin, or what grew is not heap."
        } else {
            let named = leaking.prefix(3).map { site -> String in
                let per = perRequest(site)
                let share = slope > 0 ? " (\(Quantity.format(per / slope * 100, significant: 2))% of the growth)" : ""
                let caller = site.caller.map { " under \($0)" } ?? ""
                return "\(site.site)\(caller) retains \(Quantity.formatBytes(per)) per request\(share), from \(site.samples) samples"
                    + (site.retainedRequestsText.map { ", " + $0 } ?? "")
            }
            sentence = leakOpening + named.joined(separator: "; ") + "."
            // The sites are named: the advice starts from the first, not from how to find it.
            let first = leaking[0]
            s.growth.advice = "Start with \(first.site)\(first.caller.map { " (called from \($0))" } ?? ""): what it allocates outlives the "
                + "request, as an unbounded cache, a global list, or a retained closure or buffer does. retained.folded (speedscope, "
                + "flamegraph.pl) and profile.pb.gz (go tool pprof), written with the results, hold its whole stacks."
        }
        s.growth.finding = s.growth.finding.map { $0 + " " + sentence } ?? sentence
    }
}
