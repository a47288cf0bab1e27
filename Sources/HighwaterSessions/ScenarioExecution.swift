@preconcurrency import Glibc
import HighwaterRecords
import HighwaterHarness
import HighwaterProbes
import HighwaterReports
import HighwaterScenarios
import HighwaterSystem

/// What `run` and `check` share: load scenario files, run their plans each in a child (and record their external
/// targets), evaluate the expectations, store the summary and render the report.
package enum ScenarioExecution {
    /// The default scenarios: `scenarios/` here, or beside the checkout this executable was built in.
    package static func defaultScenarioDirectory() throws -> String {
        if isDirectory("scenarios") { return "scenarios" }
        // .build/<config>/highwater → the package root's scenarios/
        var path = Executable.current
        for _ in 0..<4 {
            guard let slash = path.lastIndex(of: "/") else { break }
            path = String(path[..<slash])
            if isDirectory(path + "/scenarios") { return path + "/scenarios" }
        }
        throw HighwaterFailure.badInput("no scenario files given and no scenarios/ directory here; pass files, e.g. `highwater run scenarios/threadpool-growth.yaml`")
    }

    package static func load(_ paths: [String], cores: Int) throws -> [Scenario] {
        let targets = paths.isEmpty ? [try defaultScenarioDirectory()] : paths
        do {
            let scenarios = try ScenarioLoader(cores: cores).load(paths: targets)
            if Interruption.requested { throw HighwaterFailure.couldNotRun("interrupted while planning the scenarios: nothing ran") }
            if scenarios.isEmpty { throw HighwaterFailure.badInput("no scenario files in \(targets.joined(separator: ", "))") }
            for scenario in scenarios where scenario.configurationCount > Scenario.noticeConfigurations {
                Terminal.write("highwater: \(scenario.file): \(scenario.name) has \(scenario.configurationCount) configurations (the most accepted is \(Scenario.maxConfigurations)); each runs in turn, so this takes a while; Ctrl-C stops it\n")
            }
            return scenarios
        } catch let failure as HighwaterFailure {
            throw failure
        } catch let error as ScenarioLoadError {
            // A plan cut short by Ctrl-C can read as wrong; the interruption is what happened.
            if Interruption.requested { throw HighwaterFailure.couldNotRun("interrupted while planning the scenarios: nothing ran") }
            throw HighwaterFailure.badFiles(error.description)
        } catch {
            throw HighwaterFailure.badInput("\(error)")
        }
    }

    /// Runs every plan, evaluates expectations, writes DIR/summary.json and the report.
    /// - Parameter timeLimitNs: `--time-limit`, for the plans whose scenario gives none.
    /// - Parameter executable: the `highwater` that serves hosted plans as `highwater host` (a test's own process is not it).
    package static func run(_ scenarios: [Scenario], quick: Bool, requests: Int?, out: String, timeLimitNs: UInt64? = nil,
                            executable: String = Executable.current) async throws
        -> (runs: [RunSummary], outcomes: [ExpectationOutcome])
    {
        var plans = scenarios.flatMap { $0.plans(quick: quick) }
        if let timeLimitNs {
            for i in plans.indices where plans[i].timeLimitNs == nil { plans[i].timeLimitNs = timeLimitNs }
        }
        if let requests {
            for i in plans.indices {
                plans[i].load.requests = requests
                plans[i].warmup = min(plans[i].warmup, max(requests - 1, 0))
            }
        }
        let byName = Dictionary(scenarios.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let session = RunSession(outDirectory: out, executable: executable, version: HighwaterVersion.current)
        var runs: [RunSummary]
        do {
            runs = try await session.run(plans) { _, summary in
                if let scenario = byName[summary.scenario] { summary.expectations = scenario.evaluate(summary) }
            }
        } catch {
            throw HighwaterFailure.couldNotRun("the scenarios could not be run: \(error)")
        }
        runs += await ExternalScenarioRun.run(scenarios, quick: quick, requests: requests, out: out, timeLimitNs: timeLimitNs, after: runs)
        let evaluated = ExpectationEvaluator.evaluate(scenarios, runs: runs)
        do {
            try session.store(evaluated.runs)
            _ = try ReportWriter.write(resultsDirectory: out)
        } catch {
            throw HighwaterFailure.couldNotRun("cannot write the results in \(out): \(error)")
        }
        Terminal.line("wrote \(out)/summary.json, \(out)/index.html, \(out)/report.md, \(out)/junit.xml (\(runs.count) runs)")
        let short = runs.filter { ($0.records_lost ?? 0) > 0 }
        if !short.isEmpty {
            let lines = short.map { "\($0.scenario)/\($0.config): \($0.notes(.recordsLost).last ?? "records lost")" }
            throw HighwaterFailure.couldNotRun("\(short.count) of \(runs.count) runs lost records, so their results are incomplete "
                + "(free space where --out points and run again):\n  " + lines.joined(separator: "\n  "))
        }
        let notRun = runs.filter { $0.run_error != nil }
        if !notRun.isEmpty {
            let lines = notRun.map { "\($0.scenario)/\($0.config): \($0.run_error!)" }
            throw HighwaterFailure.couldNotRun("\(notRun.count) of \(runs.count) runs could not be carried out:\n  " + lines.joined(separator: "\n  "))
        }
        return evaluated
    }

    package static func isDirectory(_ path: String) -> Bool { FileTree.isDirectory(path) }

    /// One line per run that did not run to its end: stopped at its time limit, or its child or target crashed.
    /// `run`, `check` and `record` all exit 1 for these, whatever the expectations say.
    package static func cutShort(_ runs: [RunSummary]) -> [String] {
        runs.compactMap { run in
            if let limit = run.timed_out_after_s { return "\(run.scenario)/\(run.config): timed out after \(Quantity.format(limit)) s" }
            guard run.growth.classification == .crashed, run.run_error == nil else { return nil }
            return "\(run.scenario)/\(run.config): crashed (\(run.child_exit ?? "ended early")) before the run finished"
        }
    }
}
