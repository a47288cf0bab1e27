@preconcurrency import Glibc
import HighwaterAnalysis
import HighwaterHarness
import HighwaterRecords
import HighwaterReports
import HighwaterScenarios
import HighwaterSystem

/// `highwater record`: a `RecordSession` and what the command adds around it — the runs kept beside it in DIR, the
/// agent's findings said on the terminal, a named record's configuration, the expectations, the report, and the
/// outcome as a failure with its exit status.
package struct RecordRun {
    /// The session's options as the command gave them (command or PID, readiness, loads, sampling, DIR).
    package var options: RecordSession.Options
    /// `--name`: the configuration this record is filed as, beside the others in DIR.
    package var name: String?
    package var agent: Bool
    package var expectations: [Expectation]

    package init(options: RecordSession.Options, name: String?, agent: Bool, expectations: [Expectation]) {
        self.options = options; self.name = name; self.agent = agent; self.expectations = expectations
    }

    private var out: String { options.outDirectory }

    /// The scenario every record is filed under: its configurations are the records' names.
    package static let scenario = "record"

    /// The runs already in DIR that this record keeps: all but an earlier record of the same name (or the earlier
    /// unnamed one), whose run directories are removed here, with a notice.
    func keptRuns() throws -> [RunSummary] {
        guard Syscall.canAccess(out + "/summary.json", F_OK) else { return [] }
        let earlier: [RunSummary]
        do { earlier = try ResultsFile.runs(out) } catch {
            throw HighwaterFailure.badInput("\(out) holds a summary.json that is not a results summary; give another --out, or remove it (\(error))")
        }
        let replaced = earlier.filter { $0.scenario == Self.scenario && $0.configuration?.config == name }
        guard !replaced.isEmpty else { return earlier }
        Terminal.line("replacing the record " + (name.map { "named \($0)" } ?? "without a name") + " in \(out) (\(replaced.count) phase\(replaced.count == 1 ? "" : "s")); "
            + "\(earlier.count - replaced.count) other run\(earlier.count - replaced.count == 1 ? "" : "s") kept")
        for run in replaced { FileTree.removeTree(out + "/" + Self.scenario + "/" + run.run_id) }
        return earlier.filter { run in !replaced.contains { $0.run_id == run.run_id && $0.scenario == run.scenario } }
    }

    package func run() async throws {
        var options = self.options
        if agent {
            do { options.agentLibrary = try AgentPreload.library(for: options.command, besideExecutable: Executable.current) } catch {
                throw HighwaterFailure.couldNotRun(error.description)
            }
        }
        options.name = Self.scenario
        options.phasePrefix = name.map { $0 + "-" } ?? ""
        // Named, the phases carry their configuration as a scenario's external configurations do, so the report and
        // `check` read two records of one server as two configurations of a sweep.
        options.filedUnder = name
        options.earlierRuns = try keptRuns()
        options.version = HighwaterVersion.current
        let session = RecordSession(options: options)
        var outcome: RecordSession.Outcome
        do {
            outcome = try await session.run { Terminal.line($0) }
        } catch {
            throw HighwaterFailure.couldNotRun(error.description)
        }
        // The agent's findings come once the target has exited, after the phases' lines: say them on the terminal too.
        if agent {
            for summary in outcome.summaries {
                var said = summary.notes(.liveHeap)
                if let finding = summary.growth.finding, let leak = finding.range(of: AllocationFinding.leakOpening) {
                    said.append(String(finding[leak.lowerBound...]))
                }
                for line in said { Terminal.line("\(summary.config): \(line)") }
            }
        }
        var failedExpectations = 0, checkedExpectations = 0
        if !expectations.isEmpty {
            let parsed = expectations
            for i in outcome.summaries.indices where outcome.summaries[i].configuration?.loadSpec != nil {
                let phase = outcome.summaries[i].configuration?.phase ?? outcome.summaries[i].config
                let held = parsed.filter { $0.applies(to: outcome.summaries[i], setting: { $0 == RunConfiguration.Key.phase ? phase : nil }) }
                outcome.summaries[i].expectations = held.map { $0.evaluate(outcome.summaries[i]) }
                checkedExpectations += held.count
                for e in outcome.summaries[i].expectations where !e.passed {
                    failedExpectations += 1
                    Terminal.write("FAILED \(outcome.summaries[i].config): \(e.text) (observed \(e.observed))\n")
                }
            }
        }
        do { try session.store(outcome.summaries) } catch { throw HighwaterFailure.couldNotRun(error.description) }
        // "wrote" only once written: a full disk is an error (exit 3), not a line naming files that are not there.
        do { _ = try ReportWriter.write(resultsDirectory: out) } catch {
            throw HighwaterFailure.couldNotRun("cannot write the results in \(out): \(error); check that it is writable and its disk has room")
        }
        Terminal.line("wrote \(out)/summary.json, \(out)/index.html, \(out)/report.md (\(outcome.summaries.count) phases)")
        let lost = outcome.summaries.reduce(0) { $0 + ($1.records_lost ?? 0) }
        if lost > 0 {
            throw HighwaterFailure.couldNotRun("\(lost) records could not be written, so the results are incomplete (free space where --out points and record again)")
        }
        if outcome.interrupted { throw HighwaterFailure.couldNotRun("interrupted: the phases so far are kept in \(out)") }
        if let ended = outcome.targetEnded, !ended.succeeded || outcome.summaries.last?.growth.classification == .crashed {
            throw HighwaterFailure.failed("the target ended with \(ended) before the record stopped it" + (outcome.summaries.last?.stderr_tail.map { "; its output ended with:\n" + $0 } ?? ""))
        }
        if outcome.timedOut { throw HighwaterFailure.failed("the time limit was reached: the load was cut short") }
        // An expectation about load that no phase sent: not a pass. A phase that sent nothing did not run.
        if !expectations.isEmpty {
            let unsent = outcome.summaries.filter { $0.configuration?.loadSpec != nil && $0.requests == 0 }.map(\.config)
            if !unsent.isEmpty {
                throw HighwaterFailure.failed("no request was sent in \(unsent.joined(separator: ", ")) (not-run), so its expectations could not be checked; they do not hold")
            }
            if checkedExpectations == 0 {
                throw HighwaterFailure.failed("no phase with load (--load) matched the expectations, so none was checked; they do not hold")
            }
        }
        if failedExpectations > 0 { throw HighwaterFailure.failed("\(failedExpectations) of \(checkedExpectations) expectations failed (FAILED above); `highwater check --results \(out)` checks them again") }
    }
}
