import HighwaterRecords

/// What a run's memory did and what to change, in sentences computed from the data.
public struct RunDiagnosis: Sendable {
    public var config: String
    public var classification: GrowthClass
    /// A short label for tables: "plateau at 16 threads", "probable leak", "stable".
    public var verdict: String
    /// What happened, with the figures.
    public var finding: String
    /// What to do about it; empty when nothing needs doing.
    public var advice: String
}

public enum Diagnosis {
    public static func of(_ run: RunData, facts: RunFacts) -> RunDiagnosis {
        let s = run.summary
        let n = max(run.requests.count, s.requests)
        switch facts.classification {
        case .plateau:
            var finding = "RSS grew \(bytes(facts.growth))"
            if let p = facts.plateauPosition { finding += " over the first \(p + 1) requests" }
            if let threads = facts.plateauThreads, let perThread = facts.growthPerThread {
                finding += ", one step per new worker thread (about \(bytes(perThread)) each) until the \(ordinal(threads)) thread"
                if let arenas = facts.plateauArenas { finding += " (\(arenas) malloc arenas)" }
                finding += ", then stayed flat at \(bytes(facts.steady)): arena growth, not a leak."
            } else {
                finding += ", then stayed flat at \(bytes(facts.steady)): the growth stopped, so this is not a leak."
            }
            if let first = facts.meanDeltaFirstOnThread, let other = facts.meanDeltaOther, facts.plateauThreads != nil {
                finding += " A thread's first request added \(bytes(first)) on average, its later ones \(bytes(other))."
            }
            var advice: String
            if let perThread = facts.growthPerThread, let threads = facts.plateauThreads, threads > 1 {
                let bound = max(1, min(4, threads / 4))
                let extraThreads = max(bound - facts.baselineThreads, 0)
                let cost = extraThreads == 0 ? "no arena growth past the first worker's"
                    : "about \(bytes(perThread * Double(extraThreads))) of arena growth at \(bytes(perThread)) per thread"
                advice = "Bound the pool to \(bound) (\(cost)), set MALLOC_ARENA_MAX=2, or call malloc_trim after large requests."
            } else {
                advice = "If the level is too high, bound the pool, set MALLOC_ARENA_MAX=2, or call malloc_trim after large requests."
            }
            advice = advice.prefix(1).uppercased() + advice.dropFirst()
            return RunDiagnosis(config: s.config, classification: .plateau,
                                verdict: facts.plateauThreads.map { "plateau at \($0) threads" } ?? "plateau",
                                finding: finding, advice: advice)
        case .linear:
            var finding = "RSS kept growing to the end, by \(bytes(facts.slopeBytesPerRequest)) per request"
            finding += " (\(bytes(facts.slopeBytesPerRequest * 1000)) per 1,000 requests)"
            if facts.throughput > 0 {
                finding += "; at the observed \(Quantity.format(facts.throughput)) requests/s that is \(bytes(facts.slopeBytesPerRequest * facts.throughput * 3600)) per hour"
            }
            finding += ": a probable leak. It grew \(bytes(facts.growth)) over \(n) requests."
            if let heap = facts.heapSlopeBytesPerRequest, facts.slopeBytesPerRequest > 0 {
                if heap > 0.5 * facts.slopeBytesPerRequest {
                    finding += " The heap in use grew too (\(bytes(heap)) per request): memory is still referenced, not fragmented."
                } else {
                    finding += " The heap in use stayed near flat (\(bytes(heap)) per request): look outside malloc (mmap, caches of the runtime, thread stacks)."
                }
            }
            let advice = "Look for what outlives a request (unbounded caches, global lists, retained closures or buffers); "
                + "run with allocation profiling to see the call sites that hold the memory."
            return RunDiagnosis(config: s.config, classification: .linear, verdict: "probable leak", finding: finding, advice: advice)
        case .stable:
            let finding = "RSS stayed within \(bytes(abs(facts.growth))) of \(bytes(facts.baseline)) over \(n) requests: stable."
            return RunDiagnosis(config: s.config, classification: .stable, verdict: "stable", finding: finding, advice: "")
        }
    }

    /// One sentence comparing the configurations of a scenario, so the fix is read beside the problem.
    public static func comparison(_ runs: [(RunData, RunFacts)]) -> String? {
        guard runs.count > 1 else { return nil }
        let sorted = runs.sorted { $0.1.growth < $1.1.growth }
        guard let best = sorted.first, let worst = sorted.last, worst.1.growth > best.1.growth else { return nil }
        var text = "Measured side by side: \(quoted(best.0.summary.config)) grew least (\(bytes(best.1.growth)), \(label(best.1))), "
            + "\(quoted(worst.0.summary.config)) most (\(bytes(worst.1.growth)), \(label(worst.1)))"
        if runs.count > 2 {
            let rest = sorted.dropFirst().dropLast().map { "\(quoted($0.0.summary.config)) \(bytes($0.1.growth))" }
            text += "; in between: " + rest.joined(separator: ", ")
        }
        return text + "."
    }

    private static func label(_ f: RunFacts) -> String {
        switch f.classification {
        case .stable: return "stable"
        case .plateau: return f.plateauThreads.map { "plateau at \($0) threads" } ?? "plateau"
        case .linear: return "probable leak"
        }
    }

    static func quoted(_ s: String) -> String { "‘" + s + "’" }

    static func bytes(_ v: Double) -> String { Quantity.formatBytes(v) }
    static func bytes<T: BinaryInteger>(_ v: T) -> String { Quantity.formatBytes(v) }

    static func ordinal(_ n: Int) -> String {
        let suffix: String
        switch (n % 10, n % 100) {
        case (_, 11...13): suffix = "th"
        case (1, _): suffix = "st"
        case (2, _): suffix = "nd"
        case (3, _): suffix = "rd"
        default: suffix = "th"
        }
        return "\(n)\(suffix)"
    }
}
