import HighwaterRecords

/// What a reader came for, per scenario, before any table: what grows and why, the best fix measured beside it and
/// what it costs, where uploads broke against the temp dir's capacity, and what failed. Each line is built from the
/// stored verdicts and figures; the renderings only format it.
package struct ScenarioFindings: Sendable {
    package enum Kind: String, Sendable {
        case grows, fix, uploads, failures, calm
    }

    package struct Line: Sendable {
        package var kind: Kind
        /// The configurations the line names, so a rendering can link them.
        package var configs: [String]
        package var text: String
    }

    package var scenario: String
    package var lines: [Line]

    /// Runs named one by one in a class before the rest are counted.
    static let namedPerClass = 3

    package init(_ scenario: ReportModel.Scenario) {
        self.scenario = scenario.name
        var lines: [Line] = []
        let growing = scenario.runs.filter { $0.summary.growth.classification.isGrowth }
        for c in [GrowthClass.linear, .retention, .stillGrowing, .plateau] {
            let runs = growing.filter { $0.facts.classification == c }.sorted { $0.facts.growth > $1.facts.growth }
            guard !runs.isEmpty else { continue }
            let named = runs.prefix(Self.namedPerClass)
            var text = Self.classWord(c) + ": " + named.map(Self.growthPhrase).joined(separator: "; ")
            if runs.count > named.count {
                text += "; and \(runs.count - named.count) more (" + runs.dropFirst(named.count).map { Diagnosis.quoted($0.summary.config) }.joined(separator: ", ") + ")"
            }
            lines.append(Line(kind: .grows, configs: named.map(\.summary.config), text: text + "."))
        }
        if growing.isEmpty, scenario.runs.contains(where: { $0.summary.growth.classification.hasData }) {
            let judged = scenario.runs.filter { $0.summary.growth.classification.hasData }
            let stable = judged.filter { $0.facts.classification == .stable }.count
            var parts = stable > 0 ? ["\(stable) configuration\(stable == 1 ? "" : "s") stable"] : []
            if stable < judged.count { parts.append("\(judged.count - stable) without enough requests or samples to judge their memory") }
            lines.append(Line(kind: .calm, configs: [], text: "Nothing grows: " + parts.joined(separator: ", ") + "."))
        }
        for ranking in scenario.rankings { lines += Self.bestFixes(ranking) }
        for boundary in scenario.uploads?.boundaries ?? [] {
            lines.append(Line(kind: .uploads, configs: [], text: boundary.sentence))
        }
        for run in scenario.runs {
            // A run of a scenario's size sweep is told in its workload's boundary above; a record phase's own.
            for note in run.summary.notes(.uploadBoundary) where UploadOutcomes.attempt(run) == nil {
                lines.append(Line(kind: .uploads, configs: [run.summary.config], text: "\(Diagnosis.quoted(run.summary.config)): \(note)"))
            }
            if let filler = run.summary.temp_dir_finding {
                lines.append(Line(kind: .uploads, configs: [run.summary.config], text: "\(Diagnosis.quoted(run.summary.config)): \(filler)"))
            }
        }
        lines += Self.failures(scenario.runs)
        self.lines = lines
    }

    static func classWord(_ c: GrowthClass) -> String {
        switch c {
        case .linear: return "Leak"
        case .retention: return "Retention (the allocator keeps freed memory)"
        case .stillGrowing: return "Still growing at the end (run longer to tell)"
        case .plateau: return "Plateau (grew, then stopped: not a leak)"
        default: return c.rawValue
        }
    }

    /// "‘leak’ grew 128 MiB at 64 KiB per request, held by hw_leak", "‘eager-40’ grew 36 MiB, plateau at 40 threads (16 arenas)".
    static func growthPhrase(_ run: ReportModel.Run) -> String {
        let s = run.summary, f = run.facts
        var text = "\(Diagnosis.quoted(s.config)) grew \(Quantity.formatBytes(f.growth))"
        switch f.classification {
        case .linear:
            text += " at \(Quantity.formatBytes(f.slopeBytesPerRequest)) per request"
            if let heap = s.growth.evidence?.heap_growth_bytes, heap > 0 { text += ", the live heap with it (\(Quantity.formatBytes(heap)))" }
            if let site = s.allocation_sites?.first, site.retained_bytes > 0 { text += ", held by \(site.site)" }
        case .plateau:
            // The label names the thread count ("plateau at 40 threads"); the arenas and the cost of a thread add to it.
            if let label = s.growth.label { text += ", \(label)" }
            if let arenas = f.plateauArenas { text += " (\(arenas) arenas)" }
            if let perThread = f.growthPerThread { text += ", about \(Quantity.formatBytes(perThread)) a thread" }
        case .retention:
            if let heap = s.growth.evidence?.heap_growth_bytes { text += " while the live heap moved \(Quantity.formatBytes(heap))" }
            text += ", \(f.arenas) arenas"
        default:
            if let label = s.growth.label { text += ", \(label)" }
        }
        return text
    }

    /// The configuration with the lowest steady RSS of a ranking against the one with the highest: what it saves and
    /// what it costs in requests/s, both from the same run; and when that costs more than a tenth of the best
    /// throughput, the lowest steady RSS among those that kept nine tenths of it.
    static func bestFixes(_ ranking: FixRanking) -> [Line] {
        guard let best = ranking.rows.first, let worst = ranking.rows.last, worst.steadyRSS > best.steadyRSS else { return [] }
        var lines = [fixLine("Best fix for \(ranking.workload) at concurrency \(ranking.concurrency)", best, against: worst)]
        if let keeping = ranking.bestKeepingThroughput, keeping.config != best.config {
            if keeping.config != worst.config {
                lines.append(fixLine("Best that keeps the throughput", keeping, against: worst))
            } else {
                // The fastest is also the largest: every saving of memory here costs more than a tenth of the throughput.
                lines.append(Line(kind: .fix, configs: [keeping.config],
                                  text: "Best that keeps the throughput: \(Diagnosis.quoted(keeping.config)) (\(keeping.fix)), steady RSS \(Quantity.formatBytes(keeping.steadyRSS)) at \(Quantity.format(keeping.throughput)) req/s: no other configuration kept nine tenths of its requests/s."))
            }
        }
        return lines
    }

    static func fixLine(_ opening: String, _ fix: FixRanking.Row, against worst: FixRanking.Row) -> Line {
        let saved = worst.steadyRSS - fix.steadyRSS
        let share = Double(saved) / Double(worst.steadyRSS) * 100
        var text = "\(opening): \(Diagnosis.quoted(fix.config)) (\(fix.fix)), "
            + "steady RSS \(Quantity.formatBytes(fix.steadyRSS)) against \(Quantity.formatBytes(worst.steadyRSS)) for \(Diagnosis.quoted(worst.config)): "
            + "saves \(Quantity.formatBytes(saved)) (\(Quantity.format(share, significant: 2))%)"
        if worst.throughput > 0 {
            let kept = fix.throughput / worst.throughput * 100
            text += kept >= 100 ? ", and it served \(Quantity.format(fix.throughput)) req/s against \(Quantity.format(worst.throughput)) (no throughput lost)"
                : ", at \(Quantity.format(fix.throughput)) req/s against \(Quantity.format(worst.throughput)) (\(Quantity.format(kept, significant: 3))% kept)"
        }
        return Line(kind: .fix, configs: [fix.config, worst.config], text: text + ".")
    }

    /// Runs that did not happen, crashed, ran out of time, failed requests or failed expectations.
    static func failures(_ runs: [ReportModel.Run]) -> [Line] {
        var lines: [Line] = []
        for run in runs.sorted(by: { $0.severity > $1.severity }) {
            let s = run.summary, d = run.diagnosis
            var parts: [String] = []
            if !s.growth.classification.hasData { parts.append(d.verdict + (d.finding.isEmpty ? "" : ": " + d.finding)) }
            if let limit = s.timed_out_after_s { parts.append("stopped at its time limit of \(Quantity.format(limit)) s") }
            if let failures = d.failures { parts.append(failures) }
            if !d.expectations.failed.isEmpty {
                parts.append(d.expectations.failed.map { "\($0.text) failed (observed \($0.observed))" }.joined(separator: ", "))
            }
            guard !parts.isEmpty else { continue }
            lines.append(Line(kind: .failures, configs: [s.config], text: "\(Diagnosis.quoted(s.config)): " + parts.joined(separator: "; ") + "."))
        }
        // A sweep where every upload past the boundary fails is told once by the boundary; keep the list short.
        if lines.count > 6 {
            let rest = lines.dropFirst(5)
            lines = Array(lines.prefix(5)) + [Line(kind: .failures, configs: [], text: "and \(rest.count) more: " + rest.flatMap(\.configs).map(Diagnosis.quoted).joined(separator: ", ") + ".")]
        }
        return lines
    }
}

extension ReportModel.Run {
    /// How much a reader should look at this run first: a crash or a run that did not happen, then a leak, then
    /// failed expectations or requests, retention and growth that had not stopped, a plateau, and calm runs last.
    package var severity: Int {
        let s = summary
        var rank: Int
        switch facts.classification {
        case .notRun, .crashed: rank = 60
        case .linear: rank = 50
        case .retention, .stillGrowing: rank = 30
        case .plateau: rank = 20
        case .inconclusive: rank = 10
        case .stable: rank = 0
        }
        if !diagnosis.expectations.failed.isEmpty { rank += 15 }
        if diagnosis.failures != nil || s.timed_out_after_s != nil { rank += 5 }
        return rank
    }

    /// Severity first, then the larger growth.
    static func moreSevere(_ a: ReportModel.Run, _ b: ReportModel.Run) -> Bool {
        a.severity != b.severity ? a.severity > b.severity : a.facts.growth > b.facts.growth
    }
}
