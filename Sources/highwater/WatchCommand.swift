import ArgumentParser
import HighwaterSessions
import HighwaterSystem

struct WatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Watch running processes and serve their memory, arena, temp-dir and heap figures to Prometheus (/metrics).",
        discussion: """
            A long-running sampler for a fleet: each target is sampled every --interval and its figures are \
            served on http://--listen/metrics in Prometheus's text format, for Prometheus to scrape and Grafana \
            to chart (prometheus/ in the repository has a scrape config, alert rules and a list of panels).

            Targets: --pid PID (repeatable), --match REGEX over each process's command line (a restarted \
            process is found again under its new PID), or a command after `--` that watch starts and watches \
            until it exits (--agent preloads the allocation agent into it). A target that ends loses its series: \
            Prometheus marks them stale, never zero, and a --match target's come back when it returns.

            Series (labels pid, command, host): process_resident_memory_bytes, process_virtual_memory_bytes, \
            process_open_fds, process_cpu_seconds_total; highwater_resident_memory_bytes{kind=anon|file|shmem}, \
            highwater_resident_memory_peak_bytes (VmHWM), highwater_threads, highwater_glibc_arenas beside \
            highwater_glibc_arena_limit, highwater_glibc_arena_resident_bytes, highwater_glibc_main_arena_resident_bytes; \
            with the agent preloaded (its HIGHWATER_AGENT_SHM), highwater_heap_live_bytes, highwater_heap_free_bytes, \
            highwater_heap_system_bytes; with --watch-dir, highwater_watch_dir_used_bytes, \
            highwater_watch_dir_capacity_bytes and highwater_deleted_file_held_largest_bytes; with --limits, per \
            limit highwater_limit_capacity_bytes, _worst_case_bytes, _used_bytes, _headroom_bytes and highwater_limit_holds.

            Heap profiles: a target with the allocation agent preloaded (--agent -- CMD, or a process started \
            elsewhere with LD_PRELOAD=libHighwaterAgent.so, HIGHWATER_AGENT_SHM=DIR and HIGHWATER_AGENT_OUT=FILE) \
            has its heap profile at /debug/pprof/heap?pid=PID in pprof's format (inuse_space, alloc_space), \
            for `go tool pprof -top URL`, Parca or Pyroscope.

            Examples:
              highwater watch --match 'gunicorn: worker' --watch-dir /tmp
              highwater watch --pid 1234 --pid 1240 --limits limits.yaml
              highwater watch --agent -- ./server
              go tool pprof -top 'http://127.0.0.1:9464/debug/pprof/heap?pid=4321'

            It serves on loopback only unless --allow-remote is given. Ctrl-C ends it; a command it started ends with it.
            """
    )

    @Option(help: "A process to watch (repeat for more).")
    var pid: [Int32] = []

    @Option(help: "Watch every process whose command line matches this regular expression, found again when it restarts.")
    var match: String?

    @Option(help: "A limits file (as for `check --limits`): each limit's headroom against the watched processes' figures.")
    var limits: String?

    @Option(help: "Where /metrics is served: HOST:PORT (port 0: the kernel picks one, printed on stdout).")
    var listen = "127.0.0.1:9464"

    @Flag(name: .customLong("allow-remote"), help: "Serve on an address other than loopback (the figures name processes and their commands).")
    var allowRemote = false

    @Option(help: "Time between samples (e.g. 1s, 500ms).")
    var interval = DurationArgument(nanoseconds: 1_000_000_000)

    @Option(name: .customLong("watch-dir"), help: "A directory whose filesystem is watched (use and capacity), with the largest deleted file each target holds open on it.")
    var watchDir: String?

    @Flag(help: "Preload the allocation agent into the command after `--`: its live heap on /metrics and its heap profile on /debug/pprof/heap.")
    var agent = false

    @Argument(parsing: .postTerminator, help: "A command to start and watch until it exits.")
    var command: [String] = []

    func validate() throws {
        let given = [!pid.isEmpty, match != nil, !command.isEmpty].filter { $0 }.count
        if given == 0 { throw ValidationError("Give --pid PID, --match REGEX, or a command after `--`.") }
        if given > 1 { throw ValidationError("Give one of --pid, --match or a command after `--`, not several.") }
        if let problem = spec.problems().first { throw ValidationError(problem) }
    }

    var spec: WatchSession.Spec {
        var spec = WatchSession.Spec(target: !pid.isEmpty ? .pids(pid) : match.map { .match($0) } ?? .command(command))
        spec.intervalNs = interval.nanoseconds
        spec.listen = listen
        spec.allowRemote = allowRemote
        spec.watchDir = watchDir
        spec.limits = limits
        spec.agent = agent
        return spec
    }

    func run() throws {
        Interruption.install()
        let reason = try WatchSession(spec).run(ready: { Terminal.output("watch: serving http://\($0)/metrics\n") },
                                                stop: { Interruption.requested })
        Terminal.output("watch: ended (\(reason))\n")
    }
}
