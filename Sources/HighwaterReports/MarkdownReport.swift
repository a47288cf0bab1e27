import HighwaterRecords

/// The findings, the runs by severity and each scenario's verdicts as Markdown, for a CI job summary or a pull-request
/// comment: at most `budget` characters (GitHub holds 65,536 in a comment), each scenario's details folded in a
/// `<details>` block, and those left out, largest first, when the whole would not fit.
package enum MarkdownReport {
    package static let budget = 60_000

    package static func render(_ model: ReportModel, budget: Int = budget) -> String {
        var head = "# Highwater report\n\n"
        head += "\(model.allRuns.count) runs in \(model.scenarios.count) scenarios from `\(model.results.directory)`. "
        let failed = model.expectationsFailed
        head += model.expectationsTotal == 0 ? "No expectations were set.\n\n"
            : (failed == 0 ? "**All \(model.expectationsTotal) expectations held.**\n\n" : "**\(failed) of \(model.expectationsTotal) expectations failed.**\n\n")
        head += "## Findings\n"
        for scenario in model.scenarios {
            head += "\n### [\(scenario.name)](#\(anchor(scenario.name)))\n\n"
            for line in ScenarioFindings(scenario).lines { head += "- \(findingIcon(line.kind)) \(line.text)\n" }
        }
        head += "\n## Contents\n\n- [Runs by severity](#runs-by-severity)\n"
        for scenario in model.scenarios {
            head += "- [\(scenario.name)](#\(anchor(scenario.name))) — \(scenario.runs.count) run\(scenario.runs.count == 1 ? "" : "s")\n"
        }
        let tail = "\nCharts, the overlay of every configuration and the flame graphs: `index.html` in the results directory. Per-run CSV: `<scenario>/<run_id>/requests.csv`.\n"
        let runs = model.allRuns.sorted(by: ReportModel.Run.moreSevere)
        var table = runsTable(runs)
        // The findings and the table are the answer; should they alone pass the budget, the calmest runs go first.
        var shown = runs.count
        while head.count + table.count + tail.count > budget && shown > 1 {
            shown = shown * 3 / 4
            table = runsTable(Array(runs.prefix(shown))) + "\n\(runs.count - shown) calmer runs left out to fit \(budget) characters: see index.html.\n"
        }
        var parts = model.scenarios.map { scenarioPart($0) }
        func total() -> Int { parts.reduce(head.count + table.count + tail.count) { $0 + $1.outline.count + $1.details.count } }
        // Details left out largest first until the report fits; their outline (comparison, rankings) stays.
        while total() > budget, let k = parts.indices.filter({ !parts[$0].details.isEmpty }).max(by: { parts[$0].details.count < parts[$1].details.count }) {
            parts[k].details = "\n<details><summary>Each configuration's finding</summary>\n\nLeft out to keep this report under \(budget) characters: see index.html.\n</details>\n"
            if total() > budget { parts[k].details = "" }
        }
        return head + table + parts.map { $0.outline + $0.details }.joined() + tail
    }

    /// GitHub's anchor of a heading: lower case, spaces as dashes, other punctuation dropped.
    static func anchor(_ heading: String) -> String {
        String(heading.lowercased().compactMap { c -> Character? in
            c == " " ? "-" : (c.isLetter || c.isNumber || c == "-" || c == "_") ? c : nil
        })
    }

    static func findingIcon(_ kind: ScenarioFindings.Kind) -> String {
        switch kind {
        case .grows: return "📈"
        case .fix: return "✅"
        case .uploads: return "📤"
        case .failures: return "❌"
        case .calm: return "🟢"
        }
    }

    static func runsTable(_ runs: [ReportModel.Run]) -> String {
        var m = "\n## Runs by severity\n\n| scenario | configuration | memory verdict | expectations | requests | failed | steady | growth | peak | threads | arenas | p99 | req/s |\n"
        m += "|---|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n"
        for run in runs {
            let s = run.summary, f = run.facts, d = run.diagnosis
            m += "| \(cell(s.scenario)) | \(cell(s.config)) | \(icon(d.badge)) \(cell(d.verdict))\(d.failures.map { " ❌ " + cell($0) } ?? "") | "
            m += "\(d.expectations.text.map { (d.expectations.failed.isEmpty ? "✅ " : "❌ ") + cell($0) } ?? "—") | \(max(s.requests, run.data.requests.count)) | \(f.errorCount) | "
            m += "\(Quantity.formatBytes(f.steady)) | \(Quantity.formatBytes(f.growth)) | \(Quantity.formatBytes(s.rss_peak)) | "
            m += "\(s.threads_max) | \(f.arenas) | \(Quantity.format(s.latency_ms.p99)) ms | \(Quantity.format(f.throughput)) |\n"
        }
        return m
    }

    /// A scenario's comparison and tables (the outline), and its runs' findings, notes and expectations folded away.
    static func scenarioPart(_ scenario: ReportModel.Scenario) -> (outline: String, details: String) {
        var outline = "\n## \(scenario.name)\n"
        if let comparison = scenario.comparison { outline += "\n\(comparison)\n" }
        for ranking in scenario.rankings { outline += rankingTable(ranking) }
        if let spread = scenario.spread { outline += spreadTable(spread) }
        if let uploads = scenario.uploads { outline += uploadTable(uploads, runs: scenario.runs) }
        var details = "\n<details><summary>Each configuration's finding (\(scenario.runs.count))</summary>\n\n"
        // A sentence one phase shares with another (the target's arena limit, its temp dir) is said once.
        var said = Set<String>()
        for run in scenario.runs.sorted(by: ReportModel.Run.moreSevere) {
            let d = run.diagnosis
            details += "- **\(cell(d.config))** — \(icon(d.badge)) \(d.verdict)\(d.failures.map { " (" + $0 + ")" } ?? ""). \(d.finding)"
            if !d.advice.isEmpty { details += " \(d.advice)" }
            details += "\n"
            var notes = [run.summary.arena_census?.finding, run.summary.temp_dir_finding].compactMap { $0 } + (run.summary.notes ?? [])
            if let end = ProcessEnd.sentence(run.summary) { notes.append(end.text) }
            for note in notes where said.insert(note).inserted { details += "  - \(note)\n" }
        }
        let expectations = scenario.runs.flatMap { run in run.summary.expectations.map { (run.summary.config, $0) } }
        if !expectations.isEmpty {
            details += "\n| configuration | expectation | result | observed |\n|---|---|---|---|\n"
            for (config, e) in expectations {
                details += "| \(cell(config)) | \(cell(e.text)) | \(e.passed ? "✅ passed" : "❌ failed") | \(cell(e.observed)) |\n"
            }
        }
        return (outline, details + "\n</details>\n")
    }

    /// The most rows of a ranking this report shows (a sweep over pool sizes can rank dozens); index.html has all.
    static let rankingRows = 10

    /// A fix per row, lowest steady RSS first, with its rank by requests/s beside it; past `rankingRows`, only the
    /// fastest and the best that keeps the throughput are added.
    static func rankingTable(_ r: FixRanking) -> String {
        var m = "\n### \(r.title)\n\n| rank by steady RSS | configuration | allocator and settings | steady RSS | req/s | rank by req/s |\n|--:|---|---|--:|--:|--:|\n"
        let named = Set([r.bestKeepingThroughput?.config, r.rows.first { $0.throughputRank == 1 }?.config].compactMap { $0 })
        let shown = r.rows.enumerated().filter { $0.offset < rankingRows || named.contains($0.element.config) }.map(\.element)
        for row in shown {
            m += "| \(row.rssRank) | \(cell(row.config)) | \(cell(row.fix)) | \(Quantity.formatBytes(row.steadyRSS)) | \(Quantity.format(row.throughput)) | \(row.throughputRank) |\n"
        }
        if shown.count < r.rows.count { m += "\n\(r.rows.count - shown.count) more configurations ranked in index.html.\n" }
        return m
    }

    /// Median and range over the repetitions, and p50 against the first configuration repetition by repetition.
    static func spreadTable(_ s: RepetitionSpread) -> String {
        var m = "\n### Over repetitions (run A B A B): median (lowest–highest)\n\n"
        m += "| configuration | runs | p50 | p50 against the first under the same load | req/s |\n|---|--:|--:|--:|--:|\n"
        for row in s.rows {
            m += "| \(cell(row.config)) | \(row.repetitions) | \(row.p50Ms.text { Quantity.format($0) + " ms" }) | "
            m += "\(row.p50AgainstBaseline.map { r in r.text { Quantity.format($0) } + " × " + cell(row.baseline ?? "") } ?? "—") | \(row.throughput.text { Quantity.format($0) }) |\n"
        }
        return m
    }

    /// Pass or fail by size in words, then a row per upload run.
    static func uploadTable(_ uploads: UploadOutcomes, runs: [ReportModel.Run]) -> String {
        var m = "\n### Uploads\n\n"
        for b in uploads.boundaries { m += "- \(b.asPredicted(runs) ? "✅" : "❌") \(b.sentence)\n" }
        m += "\n| configuration | workload | file size | result | bytes written per byte | temp dir peak | p50 |\n|---|---|--:|---|--:|--:|--:|\n"
        for a in uploads.attempts {
            m += "| \(cell(a.config)) | \(a.workload) | \(a.fileBytes.map { Quantity.formatBytes($0) } ?? "—") | \(a.passed ? "✅ passed" : a.failedAsExpected ? "⛔ failed, as expected" : "❌ failed") | "
            m += "\(a.bytesWrittenPerByte.map { Quantity.format($0) } ?? "—") | \(a.tmpUsedPeak.map { Quantity.formatBytes($0) } ?? "—") | \(Quantity.format(a.latencyP50Ms)) ms |\n"
        }
        return m
    }

    static func icon(_ b: RunDiagnosis.Badge) -> String {
        switch b {
        case .stable: return "🟢"
        case .plateau, .retention: return "🟠"
        case .linear: return "🔴"
        case .stillGrowing: return "🟡"
        case .inconclusive: return "⚪"
        case .notRun: return "⛔"
        case .crashed: return "💥"
        }
    }

    /// Table cells cannot hold a pipe or a newline.
    static func cell(_ s: String) -> String {
        s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        guard !target.isEmpty, contains(target) else { return self }
        return split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
