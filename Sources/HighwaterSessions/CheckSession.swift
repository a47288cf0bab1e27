import HighwaterProbes
import HighwaterRecords
import HighwaterReports
import HighwaterScenarios
import HighwaterSystem

/// `highwater check`: every expectation, cut-short run, baseline comparison and limit as a `CheckCase`, said on the
/// terminal and written as JUnit and Markdown for CI. The command maps a failed case to exit 1.
package struct CheckSession {
    package struct Spec: Sendable {
        /// Scenario files or directories: run them, or with `results`, read their expectations only.
        package var scenarios: [String] = []
        /// A results directory evaluated instead of running.
        package var results: String?
        /// Limits files: a service's configuration checked without running.
        package var limits: [String] = []
        package var junit: String?
        package var markdown: String?
        /// A results directory compared with the results, as `diff` compares them.
        package var baseline: String?
        /// The least change that fails against the baseline, as a share of the figure.
        package var tolerance = 0.10
        /// Where a run writes its results.
        package var out = "results"
        package var quick = false
        /// The CPUs `cores` means in scenario sizes.
        package var cores = SystemFacts.onlineCPUs
        /// The longest one run may take where its scenario gives no time limit.
        package var timeLimitNs: UInt64?
        /// The `highwater` that serves hosted configurations: this one, unless a test drives the session.
        package var executable = Executable.current

        package init() {}

        /// What is wrong with the spec before anything runs, first problem first (bad usage: exit 2).
        package func problems() -> [String] {
            var found: [String] = []
            if scenarios.isEmpty && results == nil && limits.isEmpty { found.append("give scenario files, --results DIR or --limits FILE") }
            if baseline != nil && scenarios.isEmpty && results == nil {
                found.append("--baseline compares results: give --results DIR or scenario files to run")
            }
            return found
        }
    }

    package let spec: Spec
    /// Where the session's lines go (stdout for the command); FAILED lines go to stderr.
    private let say: (String) -> Void

    package init(_ spec: Spec, say: @escaping (String) -> Void = { print($0) }) {
        self.spec = spec
        self.say = say
    }

    /// Runs or reads what the spec names and returns every case, failed ones included; throws a `HighwaterFailure`
    /// only when the check could not be carried out (bad files: 2; interrupted, unwritable: 3).
    package func run() async throws -> [CheckCase] {
        var cases: [CheckCase] = []
        if !spec.scenarios.isEmpty || spec.results != nil { cases += try await expectations() }
        if let baseline = spec.baseline { cases += try comparison(with: baseline) }
        for file in spec.limits { cases += try limits(file) }
        for c in cases where !c.passed { Terminal.write("FAILED \(c.failureLine)\n") }
        if let junit = spec.junit { try ResultsFile.save(CheckCase.junit(cases), to: junit) }
        if let markdown = spec.markdown { try ResultsFile.save(CheckCase.markdown(cases), to: markdown) }
        let failed = cases.filter { !$0.passed }.count
        say("\(cases.count - failed) of \(cases.count) checks hold" + (failed > 0 ? "; \(failed) failed" : ""))
        return cases
    }

    /// The scenarios' expectations over stored results or a fresh run, and the runs cut short.
    private func expectations() async throws -> [CheckCase] {
        let evaluated: (runs: [RunSummary], outcomes: [ExpectationOutcome])
        if let results = spec.results {
            let runs = try ResultsFile.runs(results)
            // Named files are checked whole (an expectation with no run fails); the default scenarios/ only
            // where DIR holds their runs, beside the expectations runs carry themselves (`record --expect`).
            var loaded = spec.scenarios.isEmpty && (try? ScenarioExecution.defaultScenarioDirectory()) == nil
                ? [] : try ScenarioExecution.load(spec.scenarios, cores: spec.cores)
            if spec.scenarios.isEmpty { loaded = loaded.filter { s in runs.contains { $0.scenario == s.name } } }
            let named = Set(loaded.map(\.name))
            var found = ExpectationEvaluator.evaluate(loaded, runs: runs)
            found.outcomes += ExpectationEvaluator.stored(runs.filter { !named.contains($0.scenario) })
            evaluated = found
        } else {
            var run = ScenarioSession.Spec()
            run.scenarios = spec.scenarios
            run.out = spec.out
            run.quick = spec.quick
            run.cores = spec.cores
            run.timeLimitNs = spec.timeLimitNs
            run.executable = spec.executable
            let outcome = try await ScenarioSession(run).run()
            evaluated = (outcome.runs, outcome.outcomes)
        }
        var cases = evaluated.outcomes.map {
            CheckCase(suite: $0.scenario, name: "\($0.config ?? "*"): \($0.text)", passed: $0.passed,
                      detail: $0.detail, failureLine: $0.failureLine)
        }
        // A run cut short (time limit, crash) fails the check as it fails `run` and `record`.
        cases += ScenarioExecution.cutShort(evaluated.runs).map {
            CheckCase(suite: "runs", name: $0, passed: false, detail: $0, failureLine: $0)
        }
        return cases
    }

    /// Each configuration against the baseline, compared once the results are there, read back as `diff` reads them.
    private func comparison(with baseline: String) throws -> [CheckCase] {
        let comparison = try DiffSession.compare(baseline, spec.results ?? spec.out, tolerance: spec.tolerance)
        let regressions = ComparisonReport.regressions(comparison)
        return comparison.configurations.map { conf in
            let line = regressions.first { $0.configuration == conf.name }?.line
            return CheckCase(suite: "baseline \(baseline)", name: conf.name, passed: line == nil,
                             detail: line ?? "\(conf.change.rawValue) against the baseline", failureLine: line ?? "")
        }
    }

    /// A limits file's limits against this machine's figures, each said as it is judged.
    private func limits(_ file: String) throws -> [CheckCase] {
        let service: ServiceLimits
        do { service = try ServiceLimits.load(path: file) } catch { throw HighwaterFailure.badFiles(error.description) }
        let outcomes: [LimitOutcome]
        do { outcomes = try LimitsCheck.evaluate(service, readings: MachineReadings.current) } catch {
            throw HighwaterFailure.couldNotRun("\(error)")
        }
        for o in outcomes {
            say("\(o.passed ? "PASS" : "FAIL") \(o.name): worst case \(Quantity.formatBytes(o.worstCase)), limit \(Quantity.formatBytes(o.capacity)), headroom \(Quantity.formatBytes(o.headroom)). \(o.sentence)")
        }
        return outcomes.map {
            CheckCase(suite: "limits \(file)", name: $0.name, passed: $0.passed,
                      detail: "worst case \(Quantity.formatBytes($0.worstCase)), limit \(Quantity.formatBytes($0.capacity)), headroom \(Quantity.formatBytes($0.headroom)). \($0.sentence)",
                      failureLine: $0.failureLine)
        }
    }
}
