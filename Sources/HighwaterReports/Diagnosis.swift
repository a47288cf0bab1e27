import HighwaterRecords

/// What a run's memory did and what to change, as `summary.json` stores it; the reports only render this.
public struct RunDiagnosis: Sendable {
    /// What the badge shows: the growth class, or the run's own outcome where memory is not what it judges.
    public enum Badge: String, Sendable {
        case stable, plateau, retention, linear, stillGrowing = "still-growing", inconclusive, notRun = "not-run", crashed
        case passed, failed, completed
    }

    public var config: String
    public var classification: GrowthClass
    public var badge: Badge
    /// A short label for tables: "plateau at 16 threads", "leak", "passed: 3 expectations held".
    public var verdict: String
    /// What happened, with the figures.
    public var finding: String
    /// What to do about it; empty when nothing needs doing.
    public var advice: String
}

public enum Diagnosis {
    public static func of(_ run: RunData, facts: RunFacts) -> RunDiagnosis {
        let s = run.summary
        let g = s.growth
        var d = RunDiagnosis(config: s.config, classification: g.classification, badge: badge(g.classification),
                             verdict: g.label ?? g.classification.rawValue, finding: g.finding ?? "", advice: g.advice ?? "")
        // Upload runs, and runs with too little evidence for a memory verdict, show their own outcome.
        let upload = s.configuration?["workload"].map { RunPlan.uploadWorkloads.contains($0) } ?? false
        guard g.classification.hasData, upload || g.classification == .inconclusive else { return d }
        let failed = s.expectations.filter { !$0.passed }
        if let first = failed.first {
            d.badge = .failed
            d.verdict = "failed: \(first.text) (observed \(first.observed))" + (failed.count > 1 ? " and \(failed.count - 1) more" : "")
        } else if !s.expectations.isEmpty {
            d.badge = .passed
            d.verdict = "passed: \(s.expectations.count) expectation\(s.expectations.count == 1 ? "" : "s") held"
        } else {
            d.badge = facts.errorCount == 0 ? .completed : .failed
            d.verdict = facts.errorCount == 0 ? "completed" : "\(facts.errorCount) errors"
        }
        if upload { d.finding = "Memory: \(g.label ?? g.classification.rawValue). " + d.finding }
        return d
    }

    static func badge(_ c: GrowthClass) -> RunDiagnosis.Badge {
        RunDiagnosis.Badge(rawValue: c.rawValue) ?? .inconclusive
    }

    /// One sentence comparing the configurations of a scenario, so the fix is read beside the problem.
    public static func comparison(_ runs: [(RunData, RunFacts)]) -> String? {
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
