import ArgumentParser
import HighwaterSessions
import HighwaterSystem

struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Fail a CI job when a scenario's expectation or a configuration limit is crossed.",
        discussion: """
            check SCENARIO…        run the scenarios and evaluate their `expect` blocks
            check --results DIR    evaluate DIR/summary.json against the scenarios' `expect` blocks (no run)
            check --limits FILE    check a service's configuration (memory, pool, temp dir) without running
            check --results DIR --baseline BASE [--tolerance 10%]
                                   fail when a configuration's memory (steady RSS, growth, peak, threads, arenas, live heap)
                                   got worse than in BASE beyond the tolerance and the spread of repeats; with scenario
                                   files instead of --results, the fresh run in --out is compared

            A scenario with `target:` guards a server Highwater did not build (any language): each configuration is \
            started and recorded as `highwater record` records it, each load phase a run, e.g.
              highwater check examples/external-python-threadpool.yaml

            Exit codes: 0 all hold; 1 an expectation or limit failed; 2 bad input; 3 could not run (also: a target \
            that would not start or never became ready).
            """
    )

    @Argument(help: "Scenario files or directories (default: scenarios/ when --results is given).")
    var scenarios: [String] = []

    @Option(name: .long, help: "Evaluate the stored results in DIR/summary.json instead of running.")
    var results: String?

    @Option(name: .long, help: "A limits file describing a service (see examples/).")
    var limits: [String] = []

    @Option(name: .long, help: "Write JUnit XML: one test case per expectation or limit.")
    var junit: String?

    @Option(name: .long, help: "Write a Markdown summary fit for a CI job summary.")
    var markdown: String?

    @Option(help: "A results directory to compare with (`highwater diff BASE DIR`): a configuration whose memory got worse fails.")
    var baseline: String?

    @Option(help: "With --baseline: the least change that fails, as a share of the figure.")
    var tolerance = ToleranceArgument(share: 0.10)

    @OptionGroup var options: RunOptions

    func validate() throws {
        if let problem = spec.problems().first { throw ValidationError(problem) }
    }

    var spec: CheckSession.Spec {
        var spec = CheckSession.Spec()
        spec.scenarios = scenarios
        spec.results = results
        spec.limits = limits
        spec.junit = junit
        spec.markdown = markdown
        spec.baseline = baseline
        spec.tolerance = tolerance.share
        spec.out = options.out
        spec.quick = options.quick
        spec.cores = options.cpuCount
        spec.timeLimitNs = options.timeLimit?.nanoseconds
        return spec
    }

    func run() async throws {
        Interruption.install()
        let cases = try await CheckSession(spec).run()
        if cases.contains(where: { !$0.passed }) { throw ExitStatus.failed }
    }
}
