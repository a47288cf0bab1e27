import HighwaterRecords
import HighwaterScenarios
import HighwaterSystem

/// `highwater run` (and the run `check` makes): scenario files loaded, each configuration run in its own child or
/// recorded at its external target, the expectations evaluated, the results stored and reported.
package struct ScenarioSession {
    package struct Spec: Sendable {
        /// Scenario files or directories; empty: the default scenarios/.
        package var scenarios: [String] = []
        package var out = "results"
        package var quick = false
        /// The CPUs `cores` means in scenario sizes.
        package var cores = SystemFacts.onlineCPUs
        /// Requests per configuration (or per load phase of an external target), over the files' own.
        package var requests: Int?
        /// The longest one run may take where its scenario gives no time limit.
        package var timeLimitNs: UInt64?
        /// The `highwater` that serves hosted configurations (`highwater host`): this one, unless a test drives the session.
        package var executable = Executable.current

        package init() {}

        /// What is wrong with the spec before anything runs (bad usage: exit 2).
        package func problems() -> [String] { CommandLineBounds.problems(requests: requests, cores: cores) }
    }

    /// The runs and their expectations, as stored in DIR/summary.json.
    package struct Outcome: Sendable {
        package var runs: [RunSummary]
        package var outcomes: [ExpectationOutcome]

        /// What failed: each failed expectation, then each run cut short (time limit, crash), which fails whatever
        /// the expectations say.
        package var failureLines: [String] {
            outcomes.filter { !$0.passed }.map(\.failureLine) + ScenarioExecution.cutShort(runs)
        }
    }

    package let spec: Spec

    package init(_ spec: Spec) { self.spec = spec }

    /// Runs every configuration; a run cut short by Ctrl-C proves nothing either way, so it is a run not carried out
    /// (exit 3), not a failed expectation.
    package func run() async throws -> Outcome {
        if let problem = spec.problems().first { throw HighwaterFailure.badInput(problem) }
        let loaded = try ScenarioExecution.load(spec.scenarios, cores: spec.cores)
        let (runs, outcomes) = try await ScenarioExecution.run(loaded, quick: spec.quick, requests: spec.requests, out: spec.out,
                                                               timeLimitNs: spec.timeLimitNs, executable: spec.executable)
        if Interruption.requested { throw HighwaterFailure.couldNotRun("interrupted; the finished runs are in \(spec.out)") }
        return Outcome(runs: runs, outcomes: outcomes)
    }
}

/// The numbers `run` and `check` take on the command line, within the bounds scenario files have.
package enum CommandLineBounds {
    package static func problems(requests: Int?, cores: Int?) -> [String] {
        var found: [String] = []
        if let requests, !(1...InputLimits.maxRequests).contains(requests) {
            found.append("--requests must be between 1 and \(InputLimits.maxRequests), the largest accepted.")
        }
        if let cores, !(1...InputLimits.maxCores).contains(cores) {
            found.append("--cores must be between 1 and \(InputLimits.maxCores) (Linux's largest NR_CPUS), the largest accepted.")
        }
        return found
    }
}
