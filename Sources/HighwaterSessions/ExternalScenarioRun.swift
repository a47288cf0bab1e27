import HighwaterHarness
import HighwaterRecords
import HighwaterScenarios
import HighwaterSystem

/// The configurations of scenarios whose target is external, each taken by `RecordSession` as `highwater record`
/// takes one: started, waited for, loaded phase by phase, stopped. Its phases are runs in `DIR/<scenario>/`
/// (`arena2-01-get-work`), carrying their configuration's label and phase, with the scenario's expectations.
package enum ExternalScenarioRun {
    /// Records every external configuration of `scenarios` in turn after the runs `earlier` (kept in DIR/summary.json);
    /// returns the new runs. A configuration that could not be recorded is a run with `run_error`, as a hosted one is.
    package static func run(_ scenarios: [Scenario], quick: Bool, requests: Int?, out: String, timeLimitNs: UInt64?,
                    after earlier: [RunSummary]) async -> [RunSummary] {
        let configurations = scenarios.flatMap { scenario in scenario.external.map { (scenario, $0) } }
        var runs = earlier
        for (n, (scenario, configuration)) in configurations.enumerated() {
            if Interruption.requested { break }
            Terminal.line("[\(n + 1)/\(configurations.count)] \(scenario.name) \(configuration.config): "
                + (configuration.phases.count == 1 ? "1 load phase" : "\(configuration.phases.count) load phases") + " at an external target")
            // The record clears them too, but a first configuration whose target cannot start writes its run before any
            // record does: the scenario's earlier run directories go here, before its first configuration.
            if !runs.contains(where: { $0.scenario == scenario.name }) { RunSession.clearEarlierRuns(ofScenarios: [scenario.name], in: out) }
            runs += await record(configuration, of: scenario, quick: quick, requests: requests, out: out, timeLimitNs: timeLimitNs, after: runs)
        }
        return Array(runs.dropFirst(earlier.count))
    }

    package static func record(_ written: ExternalConfiguration, of scenario: Scenario, quick: Bool, requests: Int?, out: String,
                       timeLimitNs: UInt64?, after earlier: [RunSummary]) async -> [RunSummary] {
        var options = RecordSession.Options()
        let configuration: ExternalConfiguration
        do {
            configuration = written.usesPort ? written.onPort(try LoopbackPort.free()) : written
            options.loads = try configuration.phases.map { text in
                var spec = try LoadSpec(parsing: text)
                if let requests { spec.requests = requests } else if quick { spec.requests = Scenario.defaultQuickRequests(spec.requests) }
                return spec
            }
            switch configuration.ready {
            case .immediately: options.readiness = .immediately
            case .url(let url): options.readiness = try Readiness.loopback(url: url)
            case .log(let pattern): options.readiness = .log(pattern: pattern)
            }
            if configuration.agent {
                let started = ProcessEnvironment.current.merging(configuration.environment) { $1 }
                if let refusal = AgentPreload.refusal(environment: started) { throw HighwaterFailure.badInput(refusal) }
                options.agentLibrary = try AgentPreload.library(for: configuration.command, besideExecutable: Executable.current)
            }
        } catch {
            return [notRecorded(written, of: scenario, reason: "\(error)")]
        }
        let environment = configuration.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        Terminal.line("      starting `" + configuration.command.joined(separator: " ") + "`"
            + (environment.isEmpty ? "" : " with " + environment.joined(separator: " ")))
        options.command = configuration.command
        options.environment = configuration.environment
        options.readyTimeoutNs = configuration.readyTimeoutNs
        options.watchDirs = configuration.watchDirs
        options.intervalNs = configuration.sampleIntervalNs
        options.timeLimitNs = configuration.timeLimitNs ?? timeLimitNs
        options.graceNs = configuration.graceNs
        options.outDirectory = out
        options.name = scenario.name
        options.phasePrefix = configuration.phasePrefix
        options.filedUnder = configuration.config
        options.earlierRuns = earlier
        options.version = HighwaterVersion.current

        let session = RecordSession(options: options)
        var outcome: RecordSession.Outcome
        do {
            outcome = try await session.run { Terminal.line("      " + $0) }
        } catch {
            return [notRecorded(written, of: scenario, reason: error.description)]
        }
        for i in outcome.summaries.indices {
            outcome.summaries[i].expectations = scenario.evaluate(outcome.summaries[i])
        }
        do { try session.store(outcome.summaries) } catch {
            // Measured but not stored: each phase says so as a run error, and the run exits 3 as for one not recorded.
            for i in outcome.summaries.indices { outcome.summaries[i].run_error = error.description }
            Terminal.line("      " + error.description)
        }
        // What `record` says of a crash, said here too: its phase's expectations then fail for want of data.
        if let ended = outcome.targetEnded, !ended.succeeded {
            Terminal.line("      the target ended with \(ended) before it was stopped"
                + (outcome.summaries.last?.stderr_tail.map { "; its output ended with:\n" + $0 } ?? ""))
        }
        return outcome.summaries
    }

    /// A configuration whose target would not start or never became ready: a run that says why (exit 3).
    package static func notRecorded(_ configuration: ExternalConfiguration, of scenario: Scenario, reason: String) -> RunSummary {
        let first = configuration.phases.first.flatMap { try? LoadSpec(parsing: $0.replacing("{port}", with: "1")) }
        let label = configuration.phasePrefix + "01-" + (first?.label ?? "observe")
        var summary = RunSummary(scenario: scenario.name, run_id: label, config: label)
        summary.configuration = RunConfiguration(target: configuration.command.joined(separator: " "), config: configuration.config)
        summary.run_error = reason
        summary.note(.notRecorded(reason))
        Terminal.line("      could not record: \(reason)")
        return summary
    }
}
