import ArgumentParser
import HighwaterAnalysis
import HighwaterSessions
import HighwaterSystem

struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Sample another process's memory, threads and file descriptors into DIR/samples.jsonl, and judge its growth (DIR/summary.json).",
        discussion: """
            Give a PID, or a command after `--` to start and sample until it exits. Sampling ends when the \
            process exits, when --duration passes, or on Ctrl-C; the file is complete in every case, and a \
            command Highwater started is stopped with it.

            Examples:
              highwater sample --pid 1234 --duration 30s
              highwater sample --interval 1ms -- python3 -c 'x = bytearray(64 << 20)'
              highwater sample --agent -- ./server     (allocation profiles too: DIR/alloc-sites.jsonl, …)

            With --agent, the command runs with the allocation agent preloaded (libHighwaterAgent.so beside \
            highwater; HIGHWATER_AGENT_SAMPLE_BYTES sets its sampling): every sample carries its live heap, read \
            from inside it while it runs (heap_in_use; heap_free and heap_system from its mallinfo2 every 200 ms \
            or at --census-interval), and, once it exits, DIR gets alloc-sites.jsonl, alloc.folded, \
            retained.folded and profile.pb.gz. A statically linked command \
            cannot take a preload: it is sampled without them, and said so.
            """
    )

    @Option(help: "Time between samples (e.g. 10ms, 1ms, 0.5s). (default: 10ms)", transform: DurationArgument.parse)
    var interval = DurationArgument(nanoseconds: 10_000_000)

    @Option(help: "Stop after this long (e.g. 5s, 2min). Default: until the process exits, or 5s with --pid.", transform: DurationArgument.parse)
    var duration: DurationArgument?

    @Option(help: "Directory for samples.jsonl.")
    var out = "results"

    @Option(help: "The process to sample.")
    var pid: Int32?

    @Option(name: .customLong("watch-dir"), help: "A directory whose filesystem is watched: its use is sampled as tmp_used, and when it fills is told.")
    var watchDir: String?

    @Option(name: .customLong("watch-interval"), help: "Time between readings of --watch-dir (statvfs, about a microsecond each). (default: 1ms)", transform: DurationArgument.parse)
    var watchInterval = DurationArgument(nanoseconds: 1_000_000)

    @Option(name: .customLong("census-interval"), help: "Count glibc's arenas from /proc/PID/smaps this often (default 200ms; the kernel walks every mapping, so keep it slow): samples carry arenas, and the readings arena_heaps, arena_heap_resident, main_heap_resident; the verdict weighs the arenas beside the threads.", transform: DurationArgument.parse)
    var censusInterval = DurationArgument(nanoseconds: 200_000_000)

    @Option(help: "The start of the process whose growth does not count in the verdict (loading its code, its imports). (default: 1s)", transform: DurationArgument.parse)
    var warmup = DurationArgument(nanoseconds: SampleSummarizer.defaultWarmupNs)

    @Flag(help: "Preload the allocation agent into the command: allocation counts and sampled stacks, profiled at its exit.")
    var agent = false

    @Argument(parsing: .postTerminator, help: "A command to start and sample.")
    var command: [String] = []

    func validate() throws {
        if pid == nil && command.isEmpty { throw ValidationError("Give --pid PID, or a command after `--`.") }
        if pid != nil && !command.isEmpty { throw ValidationError("Give either --pid or a command, not both.") }
        if let problem = spec.problems().first { throw ValidationError(problem) }
    }

    var spec: SampleSession.Spec {
        var spec = SampleSession.Spec(target: pid.map { .pid($0) } ?? .command(command))
        spec.intervalNs = interval.nanoseconds
        spec.durationNs = duration?.nanoseconds
        spec.out = out
        spec.watchDir = watchDir
        spec.watchIntervalNs = watchInterval.nanoseconds
        spec.censusIntervalNs = censusInterval.nanoseconds
        spec.warmupNs = warmup.nanoseconds
        spec.agent = agent
        return spec
    }

    func run() throws {
        Interruption.install()
        try SampleSession(spec).run()
    }
}
