import HighwaterRecords

/// Everything the renderings share: each run with its figures and diagnosis, grouped by scenario
/// in the order of `summary.json`.
package struct ReportModel: Sendable {
    package struct Run: Sendable {
        package var data: RunData
        package var facts: RunFacts
        package var diagnosis: RunDiagnosis
        package var summary: RunSummary { data.summary }
    }

    package struct Scenario: Sendable {
        package var name: String
        package var runs: [Run]
        /// How its configurations compare, when there are several.
        package var comparison: String?
        /// Pass or fail by upload size, when it ran upload workloads.
        package var uploads: UploadOutcomes?
        /// The fixes side by side, ranked by steady RSS and requests/s, when it tried any.
        package var rankings: [FixRanking]
        /// Each repeated configuration's figures as median and range, when the scenario repeats them.
        package var spread: RepetitionSpread?
    }

    package var results: LoadedResults
    package var scenarios: [Scenario]

    package init(_ results: LoadedResults) {
        self.results = results
        var order: [String] = []
        var byName: [String: [Run]] = [:]
        for data in results.runs {
            let facts = RunFacts(data)
            let run = Run(data: data, facts: facts, diagnosis: Diagnosis.of(data, facts: facts))
            if byName[data.summary.scenario] == nil { order.append(data.summary.scenario) }
            byName[data.summary.scenario, default: []].append(run)
        }
        scenarios = order.map { name in
            let runs = byName[name]!
            return Scenario(name: name, runs: runs, comparison: Diagnosis.comparison(runs.map { ($0.data, $0.facts) }),
                            uploads: UploadOutcomes(runs), rankings: FixRanking.rankings(runs), spread: RepetitionSpread(runs))
        }
    }

    package var allRuns: [Run] { scenarios.flatMap(\.runs) }
    package var expectationsTotal: Int { allRuns.reduce(0) { $0 + $1.summary.expectations.count } }
    package var expectationsFailed: Int { allRuns.reduce(0) { $0 + $1.summary.expectations.filter { !$0.passed }.count } }
}
