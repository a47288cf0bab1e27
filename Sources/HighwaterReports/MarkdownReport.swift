import HighwaterRecords

/// The same tables and verdicts as the page, as Markdown for a CI job summary or a pull-request comment.
public enum MarkdownReport {
    public static func render(_ model: ReportModel) -> String {
        var m = "# Highwater report\n\n"
        m += "\(model.allRuns.count) runs in \(model.scenarios.count) scenarios from `\(model.results.directory)`. "
        let failed = model.expectationsFailed
        m += model.expectationsTotal == 0 ? "No expectations were set.\n\n"
            : (failed == 0 ? "**All \(model.expectationsTotal) expectations held.**\n\n" : "**\(failed) of \(model.expectationsTotal) expectations failed.**\n\n")
        m += "| scenario | configuration | verdict | requests | errors | RSS start | steady | growth | peak | threads | arenas | plateau at request | growth per thread | p99 | req/s |\n"
        m += "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n"
        for run in model.allRuns {
            let s = run.summary, f = run.facts
            m += "| \(cell(s.scenario)) | \(cell(s.config)) | \(icon(run.diagnosis.badge)) \(cell(run.diagnosis.verdict)) | \(max(s.requests, run.data.requests.count)) | \(f.errorCount) | "
            m += "\(Quantity.formatBytes(s.rss_start)) | \(Quantity.formatBytes(f.steady)) | \(Quantity.formatBytes(f.growth)) | \(Quantity.formatBytes(s.rss_peak)) | "
            m += "\(s.threads_max) | \(f.arenas) | \(f.plateauPosition.map { String($0) } ?? "—") | \(f.growthPerThread.map { Quantity.formatBytes($0) } ?? "—") | "
            m += "\(Quantity.format(s.latency_ms.p99)) ms | \(Quantity.format(f.throughput)) |\n"
        }
        for scenario in model.scenarios {
            m += "\n## \(scenario.name)\n\n"
            for run in scenario.runs {
                let d = run.diagnosis
                m += "- **\(cell(d.config))** — \(icon(d.badge)) \(d.verdict). \(d.finding)"
                if !d.advice.isEmpty { m += " \(d.advice)" }
                m += "\n"
                // A recorded target's findings that no configuration of Highwater's own has: arenas counted from outside.
                if let census = run.summary.arena_census { m += "  - \(census.finding)\n" }
                if let filler = run.summary.temp_dir_finding { m += "  - \(filler)\n" }
                // The notes the page lists under the run: where uploads failed, the first failed request, the live heap.
                for note in run.summary.notes ?? [] { m += "  - \(note)\n" }
            }
            if let comparison = scenario.comparison { m += "\n\(comparison)\n" }
            for ranking in scenario.rankings { m += rankingTable(ranking) }
            if let spread = scenario.spread { m += spreadTable(spread) }
            if let uploads = scenario.uploads { m += uploadTable(uploads, runs: scenario.runs) }
            let expectations = scenario.runs.flatMap { run in run.summary.expectations.map { (run.summary.config, $0) } }
            if !expectations.isEmpty {
                m += "\n| configuration | expectation | result | observed |\n|---|---|---|---|\n"
                for (config, e) in expectations {
                    m += "| \(cell(config)) | \(cell(e.text)) | \(e.passed ? "✅ passed" : "❌ failed") | \(cell(e.observed)) |\n"
                }
            }
        }
        m += "\nCharts: `index.html` in the results directory. Per-run CSV: `<scenario>/<run_id>/requests.csv`.\n"
        return m
    }

    /// A fix per row, lowest steady RSS first, with its rank by requests/s beside it.
    static func rankingTable(_ r: FixRanking) -> String {
        var m = "\n### \(r.title)\n\n| rank by steady RSS | configuration | allocator and settings | steady RSS | req/s | rank by req/s |\n|--:|---|---|--:|--:|--:|\n"
        for row in r.rows {
            m += "| \(row.rssRank) | \(cell(row.config)) | \(cell(row.fix)) | \(Quantity.formatBytes(row.steadyRSS)) | \(Quantity.format(row.throughput)) | \(row.throughputRank) |\n"
        }
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
        case .stable, .passed: return b == .passed ? "✅" : "🟢"
        case .plateau, .retention: return "🟠"
        case .linear: return "🔴"
        case .stillGrowing: return "🟡"
        case .inconclusive, .completed: return "⚪"
        case .notRun: return "⛔"
        case .crashed: return "💥"
        case .failed: return "❌"
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
