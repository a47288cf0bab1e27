import ArgumentParser
import HighwaterSessions
import HighwaterSystem

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run scenarios, each configuration in its own child process, and write the results and the report.",
        discussion: """
            With no argument, runs every scenario file in scenarios/. Writes DIR/summary.json (every run), \
            per run DIR/<scenario>/<run-id>/ with summary.json, requests.jsonl and samples.jsonl, and \
            DIR/index.html, DIR/report.md, DIR/junit.xml. Ctrl-C stops after the request in flight and \
            keeps what finished. A scenario's runs replace its earlier run directories in DIR. Exits 1 when an expectation fails.

            A scenario with `target:` describes a server Highwater did not build (any language): each configuration \
            starts its command and records it as `highwater record` does, each load phase a run \
            (DIR/<scenario>/<config>-NN-<phase>/); exits 3 when it would not start or never became ready.

            Examples:
              highwater run
              highwater run --quick scenarios/threadpool-growth.yaml
              highwater run examples/external-python-threadpool.yaml
              highwater run --requests 500 --out /tmp/results scenarios/leak-vs-plateau.yaml
            """
    )

    @Argument(help: "Scenario files or directories (default: scenarios/).")
    var scenarios: [String] = []

    @OptionGroup var options: RunOptions

    @Option(help: "Requests per configuration, or per load phase of an external target (overrides the scenario files).")
    var requests: Int?

    func validate() throws {
        if let problem = CommandLineBounds.problems(requests: requests, cores: nil).first { throw ValidationError(problem) }
    }

    func run() async throws {
        Interruption.install()
        var spec = ScenarioSession.Spec()
        spec.scenarios = scenarios
        spec.out = options.out
        spec.quick = options.quick
        spec.cores = options.cpuCount
        spec.requests = requests
        spec.timeLimitNs = options.timeLimit?.nanoseconds
        let failures = try await ScenarioSession(spec).run().failureLines
        for line in failures { Terminal.write("FAILED \(line)\n") }
        if !failures.isEmpty { throw ExitStatus.failed }
    }
}

/// The options `run` and `check` share: where results go, a smoke run, and the CPUs `cores` means.
struct RunOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Where to write results.", valueName: "dir"))
    var out = "results"

    @Flag(help: "Shrink request counts for a smoke run (an external target's phases too: a tenth, at least 20).")
    var quick = false

    @Option(help: "CPUs to resolve `cores` in scenario sizes (default: this machine's online CPUs).")
    var cores: Int?

    @Option(name: .customLong("time-limit"),
            help: "The longest one run may take (e.g. 30s, 2min) where its scenario gives no time_limit; a run past it is stopped and recorded as timed out.", transform: DurationArgument.parse)
    var timeLimit: DurationArgument?

    func validate() throws {
        if let problem = CommandLineBounds.problems(requests: nil, cores: cores).first { throw ValidationError(problem) }
    }

    var cpuCount: Int { cores ?? SystemFacts.onlineCPUs }
}
