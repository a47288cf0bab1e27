import ArgumentParser
import HighwaterSessions
@preconcurrency import Glibc
import HighwaterRecords
import HighwaterHarness
import HighwaterProbes
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
        try CommandLineBounds.check(requests: requests, cores: nil)
    }

    func run() async throws {
        Interruption.install()
        let out = options.out
        let loaded = try ScenarioExecution.load(scenarios, cores: options.cpuCount)
        let (runs, outcomes) = try await ScenarioExecution.run(loaded, quick: options.quick, requests: requests, out: out,
                                                               timeLimitNs: options.timeLimit?.nanoseconds)
        if Interruption.requested { throw HighwaterFailure.couldNotRun("interrupted; the finished runs are in \(out)") }
        let failed = outcomes.filter { !$0.passed }
        for f in failed { Terminal.write("FAILED \(f.failureLine)\n") }
        let cutShort = ScenarioExecution.cutShort(runs)
        for line in cutShort { Terminal.write("FAILED \(line)\n") }
        if !failed.isEmpty || !cutShort.isEmpty { throw ExitStatus.failed }
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
        try CommandLineBounds.check(requests: nil, cores: cores)
    }

    var cpuCount: Int { cores ?? SystemFacts.onlineCPUs }
}

/// The numbers `run` and `check` take on the command line, within the bounds scenario files have.
enum CommandLineBounds {
    static func check(requests: Int?, cores: Int?) throws {
        if let requests, !(1...InputLimits.maxRequests).contains(requests) {
            throw ValidationError("--requests must be between 1 and \(InputLimits.maxRequests), the largest accepted.")
        }
        if let cores, !(1...InputLimits.maxCores).contains(cores) {
            throw ValidationError("--cores must be between 1 and \(InputLimits.maxCores) (Linux's largest NR_CPUS), the largest accepted.")
        }
    }
}
