import ArgumentParser
import HighwaterAnalysis
import HighwaterRecords
import HighwaterHarness
import HighwaterProbes
import HighwaterReports
import HighwaterSynthetic
import HighwaterSystem
import HighwaterHost

@main
struct HighwaterBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "highwater bench",
        abstract: "Measure Highwater's own costs; ratios come from one run, as the machine is shared.",
        discussion: """
            Built apart from the product: swift build -c release --product highwater-bench \
            (or `make bench`); `highwater bench …` runs it when it sits beside `highwater`.
            """,
        subcommands: [SamplerBench.self, HostBench.self, RequestPathBench.self, ReportBench.self, AgentBench.self, RecordBench.self, WatchBench.self]
    )
}

struct SamplerBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sampler",
        abstract: "What sampling costs: this process (default), or another one beside psrecord and a bare timer.",
        discussion: """
            With --pid PID or --external, samples that process (--external starts a python3 child with 21 \
            threads that has touched 50 MiB) with Highwater's sampler, psrecord (from .venv/, `make bench` \
            installs it) and a thread that only wakes at the same rate, all at once, at each --intervals; \
            then times one sample against targets with 1, 20 and 200 threads. \
            Targets: at 10 ms at most 1% of a core; at 1 ms within 2 points of the bare timer, 99% on time; \
            a sample's cost does not grow with the target's threads.
            """
    )

    @Option(help: "Samples to time one by one.")
    var iterations = 20_000

    @Option(help: "Sampling rate for the CPU-share measurement of this process, in Hz.")
    var rate = 1000.0

    @Option(help: "How long each CPU-share measurement samples, in seconds.")
    var seconds = 5.0

    @Option(help: "Sample this process, beside psrecord and a bare timer.")
    var pid: Int32?

    @Flag(help: "Start a python3 child with 21 threads and 50 MiB, and sample it as with --pid.")
    var external = false

    @Option(help: "Intervals for --pid and --external, comma-separated.")
    var intervals = "10ms,1ms"

    @Option(name: .customLong("thread-counts"), help: "Target thread counts for the cost of one sample, comma-separated.")
    var threadCounts = "1,20,200"

    func run() throws {
        if pid != nil || external {
            try runExternal()
            return
        }
        let r = try SamplerBenchmark.run(iterations: iterations, rateHz: rate, seconds: seconds, scratch: "/tmp")
        print("one sample (statm + status + task count): \(Quantity.formatDuration(nanoseconds: r.minimalSampleNs)) median")
        print("one timeline record of this process (statm + stat + fds + mallinfo2 + malloc_info): \(Quantity.formatDuration(nanoseconds: r.fullSampleNs)) median")
        print("sampler at \(Int(r.rate)) Hz: \(Quantity.format(r.cpuShare * 100, significant: 3))% of one core "
              + "(\(r.samplesTaken) samples in \(Int(seconds)) s, \(r.lateSamples) late); "
              + "a thread that only wakes at that rate: \(Quantity.format(r.wakeupFloorShare * 100, significant: 3))%")
    }

    private func runExternal() throws {
        let steps = intervals.split(separator: ",").map { Quantity.nanoseconds(String($0)) }
        guard !steps.isEmpty, steps.allSatisfy({ ($0 ?? 0) > 0 }) else {
            throw ValidationError("--intervals: expected durations such as 10ms,1ms; got \(intervals)")
        }
        let counts = threadCounts.split(separator: ",").map { Int($0) }
        guard counts.allSatisfy({ ($0 ?? 0) > 0 }) else { throw ValidationError("--thread-counts: expected counts such as 1,20,200") }
        let python = Executable.find("python3")
        var target: ChildProcess?
        defer { target?.terminate(grace: 200_000_000) }
        let sampled: Int32
        if let pid {
            sampled = pid
        } else {
            guard let python else { throw ValidationError("--external starts a python3 child, and python3 is not on PATH") }
            target = try ExternalSamplerBenchmark.startTarget(python: python, threads: 21, bytes: 50 << 20)
            sampled = target!.pid
        }
        let probe = try ProcessProbe(pid: sampled)
        let status = try probe.status()
        print("target PID \(sampled): \(status.threads) threads, RSS \(Quantity.formatBytes(status.vmRSS)); \(Int(seconds)) s per interval")
        let rounds = try ExternalSamplerBenchmark.compare(pid: sampled, intervalsNs: steps.map { $0! }, seconds: seconds,
                                                          psrecordPython: ExternalSamplerBenchmark.venvPython(with: "psrecord"), scratch: "/tmp")
        for round in rounds {
            print("interval \(Quantity.formatDuration(nanoseconds: Double(round.intervalNs))):")
            for c in round.contenders {
                print("  \(c.name.padding(12)) \(Quantity.format(c.cpuShare * 100, significant: 3))% of a core, "
                      + "\(Quantity.format(c.onTime * 100, significant: 4))% of samples on time (\(c.samples) of \(c.expected))")
            }
            if let note = round.psrecordNote { print("  psrecord: \(note)") }
        }
        guard let python else { print("cost per sample against thread count: skipped, python3 is not on PATH"); return }
        let per = try ExternalSamplerBenchmark.perThreads(python: python, counts: counts.map { $0! }, iterations: min(iterations, 3_000))
        print("one sample of an external process, 1 ms apart, by its thread count (stat, read once a 10 ms tick, alone):")
        for p in per {
            print("  \(p.threads) threads: \(Quantity.formatDuration(nanoseconds: p.medianNs)) median, "
                  + "\(Quantity.formatDuration(nanoseconds: p.p99Ns)) p99 (stat alone \(Quantity.formatDuration(nanoseconds: p.statMedianNs)))")
        }
    }
}

private extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}

extension SamplerBenchmark.Result {
    var rate: Double { rateHz }
}

struct RecordBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record",
        abstract: "What record's sampling costs the target: its throughput sampled at --interval-ms against all but unsampled.",
        discussion: """
            Starts a python3 server (a handler that builds and drops about 1 MiB of objects) under `record` in \
            rounds, each the same load sampled (at --interval-ms, the arena census every 200 ms) and then \
            unsampled (one sample an hour, no census). Target: the ratio of the medians at least 0.98.
            """
    )

    @Option(help: "Rounds, each one sampled and one unsampled record.")
    var rounds = 5

    @Option(help: "Requests per record (rounds of about 6 s: at 2000, a second each, single rounds swung 3100-3900 req/s either way).")
    var requests = 20_000

    @Option(help: "Requests in flight.")
    var concurrency = 8

    @Option(help: "Sampling interval, in milliseconds.")
    var intervalMs = 10

    func run() async throws {
        let results = try await RecordBenchmark.run(rounds: rounds, requests: requests, concurrency: concurrency,
                                                    intervalNs: UInt64(intervalMs) * 1_000_000)
        for (k, r) in results.enumerated() {
            print("round \(k + 1): sampled \(Quantity.format(r.sampledRPS)) req/s, unsampled \(Quantity.format(r.unsampledRPS)) req/s")
        }
        let sampled = Percentiles.of(results.map(\.sampledRPS)).p50, unsampled = Percentiles.of(results.map(\.unsampledRPS)).p50
        print("median: sampled at \(intervalMs) ms \(Quantity.format(sampled)) req/s, unsampled \(Quantity.format(unsampled)) req/s, "
              + "ratio \(Quantity.format(unsampled > 0 ? sampled / unsampled : 0)) (target at least 0.98)")
    }
}

struct WatchBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "What `highwater watch` costs: its CPU share and RSS watching --targets processes at 1 s, scraped every second, for --seconds.",
        discussion: """
            Starts --targets idle python3 processes (4 threads, 8 MiB each) and `highwater watch --match` on them at 1 s \
            with --watch-dir /tmp, scrapes /metrics every second, and restarts one target every --restart-every \
            seconds (its series go and come back). Says watch's CPU time over wall time and its RSS every \
            --report-every seconds; with --seconds past a minute, the RSS at the first minute beside the last and \
            the slope between them per hour (a soak of that length, bounded).
            """
    )

    @Option(help: "Processes watched.")
    var targets = 10

    @Option(help: "How long watch runs, in seconds.")
    var seconds = 360.0

    @Option(name: .customLong("restart-every"), help: "Seconds between restarts of one target.")
    var restartEvery = 30.0

    @Option(name: .customLong("report-every"), help: "Seconds between readings of watch's CPU and RSS.")
    var reportEvery = 30.0

    func run() async throws {
        let readings = try await WatchBenchmark.run(highwater: HighwaterBench.highwater, targets: targets, seconds: seconds,
                                                    restartEveryS: restartEvery, reportEveryS: reportEvery) { r in
            print("t=\(Int(r.seconds)) s: RSS \(Quantity.formatBytes(Double(r.rss))), CPU \(Quantity.format(r.cpuShare * 100))% of a core since the start, \(r.series) series")
        }
        guard let last = readings.last else { return }
        print("watch at 1 s on \(targets) processes: CPU \(Quantity.format(last.cpuShare * 100))% of a core over \(Int(last.seconds)) s, RSS \(Quantity.formatBytes(Double(last.rss))) at the end")
        if let minute = readings.first(where: { $0.seconds >= 60 }), last.seconds > minute.seconds {
            // Over the second half too: a step while the allocator settles, then flat, is not a rate to extrapolate.
            let half = readings.first { $0.seconds >= last.seconds / 2 } ?? minute
            func perHour(_ a: WatchBenchmark.Reading) -> String {
                let rate = (Double(last.rss) - Double(a.rss)) / max(1, last.seconds - a.seconds) * 3600
                return (rate >= 0 ? "+" : "-") + Quantity.formatBytes(abs(rate)) + " per hour"
            }
            print("soak (\(Int(last.seconds)) s, bounded): RSS \(Quantity.formatBytes(Double(minute.rss))) at \(Int(minute.seconds)) s, "
                  + "\(Quantity.formatBytes(Double(last.rss))) at \(Int(last.seconds)) s (\(perHour(minute))); "
                  + "over the second half, from \(Int(half.seconds)) s (\(Quantity.formatBytes(Double(half.rss)))): \(perHour(half))")
        }
    }
}

struct HostBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "host",
        abstract: "Host throughput on a trivial handler with per-request recording on and off (target ratio >= 0.97), and wrk for scale."
    )

    @Option(help: "Requests per round.")
    var requests = 20_000

    @Option(help: "Concurrent connections.")
    var concurrency = 16

    @Option(help: "Rounds of each (recording on, off), alternating.")
    var rounds = 3

    func run() async throws {
        Interruption.install()
        let r = try await HostBenchmark.run(executable: HighwaterBench.highwater, scratch: "/tmp/highwater-bench-host",
                                            requests: requests, concurrency: concurrency, rounds: rounds)
        let on = r.recordedRps.map { Quantity.format($0) }.joined(separator: ", ")
        let off = r.unrecordedRps.map { Quantity.format($0) }.joined(separator: ", ")
        print("recording on:  \(on) req/s")
        print("recording off: \(off) req/s")
        print("ratio (median on / median off): \(Quantity.format(r.ratio, significant: 3))")
        if let wrk = r.wrkRps { print("wrk against the host: \(Quantity.format(wrk)) req/s (\(r.wrkNote))") } else { print(r.wrkNote) }
    }
}

struct RequestPathBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "request",
        abstract: "What the per-request readings cost a handler, with one arena and with a pool's arenas fragmented.",
        discussion: """
            Times RequestRecorder's start and finish, the pair the host runs around every request, in this \
            process: first with one arena, then after --threads threads have each fragmented an arena of their \
            own; and the sampler's CPU time per timeline record of this process in each. Target: the same cost \
            in both (a reading that walks the arenas grows with them). Run it with the allocation agent \
            preloaded (LD_PRELOAD=.build/release/libHighwaterAgent.so), as hosted children are, and without.
            """
    )

    @Option(help: "Start/finish pairs to time in each stage.")
    var iterations = 5_000

    @Option(help: "Threads whose arenas are fragmented.")
    var threads = 40

    func run() throws {
        let stages = try RequestPathBenchmark.run(iterations: iterations, threads: threads, scratch: "/tmp")
        for s in stages {
            print("\(s.label) (\(s.arenas.map { "\($0) arenas" } ?? "arenas not counted")): "
                  + "\(Quantity.formatDuration(nanoseconds: s.medianNs)) median, \(Quantity.formatDuration(nanoseconds: s.p99Ns)) p99 per request; "
                  + "a timeline record of this process \(Quantity.formatDuration(nanoseconds: s.sampleCPUNs)) of the sampler's CPU")
        }
        if stages.count == 2, stages[0].medianNs > 0 {
            print("fragmented over best case: per request \(Quantity.format(stages[1].medianNs / stages[0].medianNs, significant: 3))x, "
                  + "timeline record \(Quantity.format(stages[1].sampleCPUNs / max(stages[0].sampleCPUNs, 1), significant: 3))x")
        }
    }
}

struct AgentBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "The allocation agent's cost: counters, sampled at 512 KiB, every allocation (targets 1.02x, 1.05x, 1.5x).",
        discussion: """
            Two programs. A C loop of malloc and free (about 6 ns a pair bare, the worst case): bare, with malloc \
            and free only forwarded (the floor any interposer pays), the agent's modes (counters in private memory \
            and in the live file --agent maps), and heaptrack when installed. Then the alloc-churn handler hosted \
            as `highwater run` hosts it (8 MiB in 64 KiB blocks a request): the host's CPU time a request with the \
            agent off and in its three modes. Build the agent beside it: swift build -c release --product \
            HighwaterAgent (make bench does). Last, a real server: a uvicorn + Starlette app from .venv whose sync \
            route allocates 32 x 16 KiB a request, under wrk, alone, under record --agent sampled and recording every \
            allocation, and under heaptrack when installed: requests a second against the server alone.
            """
    )

    @Option(help: "malloc-free pairs per run (every-allocation mode runs --every-pairs).")
    var pairs = 20_000_000

    @Option(name: .customLong("every-pairs"), help: "malloc-free pairs per run in every-allocation mode.")
    var everyPairs = 200_000

    @Option(help: "Rounds of the loop's modes, alternating.")
    var rounds = 5

    @Option(name: .customLong("host-requests"), help: "alloc-churn requests per host round (0: skip the host).")
    var hostRequests = 2_000

    @Option(name: .customLong("host-rounds"), help: "Rounds of the host's modes, alternating.")
    var hostRounds = 5

    @Option(name: .customLong("server-rounds"), help: "Rounds of the uvicorn server's modes, alternating (0: skip the server).")
    var serverRounds = 3

    @Option(name: .customLong("server-seconds"), help: "Seconds of wrk load a server round measures.")
    var serverSeconds = 6

    func run() async throws {
        Interruption.install()
        let results = try AgentBenchmark.run(pairs: pairs, everyPairs: everyPairs, rounds: rounds, scratch: "/tmp/highwater-bench-agent")
        let bare = results[0].median
        print("A malloc-free loop (thread CPU time a pair):")
        for r in results {
            let each = r.nsPerPair.map { Quantity.format($0, significant: 3) }.joined(separator: ", ")
            print("  \(r.name.padding(17)) \(Quantity.format(r.median, significant: 3)) ns a pair (median of \(each)), "
                  + "\(Quantity.format(r.median / bare, significant: 3))x bare")
        }
        if hostRequests > 0 { try await host() }
        if serverRounds > 0 { try await server() }
    }

    func host() async throws {
        let hosted = try await AgentHostBenchmark.run(executable: HighwaterBench.highwater, requests: hostRequests, rounds: hostRounds,
                                                      scratch: "/tmp/highwater-bench-agent-host")
        guard let off = hosted.first?.medianCPU, off > 0 else { return }
        print("The alloc-churn handler, hosted (\(hostRequests) requests a round; the host's CPU time a request):")
        for r in hosted {
            let each = r.cpuNsPerRequest.map { Quantity.formatDuration(nanoseconds: $0) }.joined(separator: ", ")
            print("  \(r.name.padding(17)) \(Quantity.formatDuration(nanoseconds: r.medianCPU)) (median of \(each)), "
                  + "\(Quantity.format(r.medianCPU / off, significant: 3))x bare; \(Quantity.format(r.medianThroughput)) req/s")
        }
    }

    func server() async throws {
        let python = ExternalSamplerBenchmark.venvPython(with: "uvicorn")
        if let missing = AgentServerBenchmark.missing(python: python) {
            print("A uvicorn server: skipped, \(missing)")
            return
        }
        let results = try await AgentServerBenchmark.run(python: python!, highwater: HighwaterBench.highwater, seconds: serverSeconds,
                                                         rounds: serverRounds, scratch: "/tmp/highwater-bench-agent-server")
        guard let alone = results.first, alone.requestsPerSecond.count == serverRounds else { return }
        print("A uvicorn + Starlette server, 32 x 16 KiB a request on anyio's threads (wrk -t1 -c8, \(serverSeconds) s a round):")
        for r in results {
            // Each round against the server alone in the same round: the spread is of those ratios.
            let ratios = zip(r.requestsPerSecond, alone.requestsPerSecond).map { $0 / $1 }
            let each = r.requestsPerSecond.map { Quantity.format($0) }.joined(separator: ", ")
            // Half the range of a mode's own rounds, against its median: the noise a ratio must clear.
            let spread = ((r.requestsPerSecond.max() ?? 0) - (r.requestsPerSecond.min() ?? 0)) / 2 / max(r.median, 1)
            print("  \(r.name.padding(33)) \(Quantity.format(r.median)) req/s ±\(Quantity.format(100 * spread, significant: 2))% "
                  + "(median of \(each)), \(Quantity.format(Percentiles.of(ratios).p50, significant: 3))x alone "
                  + "(rounds \(Quantity.format(ratios.min() ?? 0, significant: 3))-\(Quantity.format(ratios.max() ?? 0, significant: 3))x)")
        }
    }
}

struct ReportBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Render time and size of the report of a synthetic results directory (target: 1,000,000 requests in < 10 s, HTML < 5 MiB)."
    )

    @Option(help: "Requests in the synthetic results.")
    var requests = 1_000_000

    @Option(help: "Where to write the synthetic results.")
    var out = "/tmp/highwater-bench-report"

    func run() throws {
        let r = try ReportBenchmark.run(requests: requests, directory: out)
        print(r.description)
    }
}

extension HighwaterBench {
    /// The `highwater` executable built beside this one: the host benchmark starts it as the hosted child.
    static var highwater: String {
        let me = Executable.current
        return String(me[..<(me.lastIndex(of: "/") ?? me.startIndex)]) + "/highwater"
    }
}
