import HighwaterRecords

/// What a run's memory did and what to change, as `summary.json` stores it; the reports only render this.
package struct RunDiagnosis: Sendable {
    /// What the badge shows: the growth class as stored.
    package enum Badge: String, Sendable {
        case stable, plateau, retention, linear, stillGrowing = "still-growing", inconclusive, notRun = "not-run", crashed
    }

    package var config: String
    package var classification: GrowthClass
    package var badge: Badge
    /// A short label for tables: "plateau at 16 threads", "leak".
    package var verdict: String
    /// What happened, with the figures.
    package var finding: String
    /// What to do about it; empty when nothing needs doing.
    package var advice: String
    /// Requests that failed, beside the badge: "8 of 16 answered 507"; nil when none did.
    package var failures: String?
    package var expectations: ExpectationTally
}

/// A run's expectations, counted for their own column.
package struct ExpectationTally: Sendable {
    package var total: Int
    package var failed: [RunSummary.Expectation]

    init(_ s: RunSummary) {
        total = s.expectations.count
        failed = s.expectations.filter { !$0.passed }
    }

    /// "3 held", "1 of 3 failed: errors == 0 (observed 8)", or nil without expectations.
    package var text: String? {
        guard total > 0 else { return nil }
        guard let first = failed.first else { return "\(total) held" }
        return "\(failed.count) of \(total) failed: \(first.text) (observed \(first.observed))" + (failed.count > 1 ? " and more" : "")
    }
}

package enum Diagnosis {
    package static func of(_ run: RunData, facts: RunFacts) -> RunDiagnosis {
        let s = run.summary
        let g = s.growth
        // The badge is always the memory verdict as stored; expectations and failed requests have their own columns.
        return RunDiagnosis(config: s.config, classification: g.classification, badge: badge(g.classification),
                            verdict: g.label ?? g.classification.rawValue, finding: g.finding ?? "", advice: g.advice ?? "",
                            failures: RequestFailures(run).text, expectations: ExpectationTally(s))
    }

    static func badge(_ c: GrowthClass) -> RunDiagnosis.Badge {
        RunDiagnosis.Badge(rawValue: c.rawValue) ?? .inconclusive
    }

    /// One sentence comparing the configurations of a scenario, so the fix is read beside the problem.
    package static func comparison(_ runs: [(RunData, RunFacts)]) -> String? {
        let judged = runs.filter { $0.1.classification.hasData && $0.1.classification != .inconclusive }
        guard judged.count > 1 else { return nil }
        let sorted = judged.sorted { $0.1.growth < $1.1.growth }
        guard let best = sorted.first, let worst = sorted.last, worst.1.growth > best.1.growth else { return nil }
        var text = "Measured side by side: \(quoted(best.0.summary.config)) grew least (\(bytes(best.1.growth)), \(label(best.0))), "
            + "\(quoted(worst.0.summary.config)) most (\(bytes(worst.1.growth)), \(label(worst.0)))"
        if judged.count > 2 {
            let rest = sorted.dropFirst().dropLast().map { "\(quoted($0.0.summary.config)) \(bytes($0.1.growth))" }
            text += "; in between: " + rest.joined(separator: ", ")
        }
        return text + "."
    }

    private static func label(_ run: RunData) -> String {
        run.summary.growth.label ?? run.summary.growth.classification.rawValue
    }

    static func quoted(_ s: String) -> String { "‘" + s + "’" }

    static func bytes(_ v: Double) -> String { Quantity.formatBytes(v) }
    static func bytes<T: BinaryInteger>(_ v: T) -> String { Quantity.formatBytes(v) }
}
