import ArgumentParser
import HighwaterSessions
@preconcurrency import Glibc
import HighwaterAnalysis
import HighwaterRecords
import HighwaterHarness
import HighwaterProbes
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
        if agent && command.isEmpty { throw ValidationError("--agent preloads into a command Highwater starts; give one after `--`.") }
        if let pid, pid <= 0 { throw ValidationError("--pid \(pid) is not a process ID; give the PID of a running process (greater than 0).") }
        if let pid, !Syscall.processExists(pid) { throw ValidationError("No process has PID \(pid).") }
        if let watchDir, !FileTree.isDirectory(watchDir) {
            throw ValidationError("--watch-dir '\(watchDir)' is not a directory; give the directory the command writes its temporary files to (e.g. /tmp).")
        }
        if agent, let refusal = AgentPreload.refusal(environment: ProcessEnvironment.current) { throw ValidationError(refusal) }
    }

    func run() throws {
        Interruption.install()
        Leftovers.sweep()
        try ResultsDirectory.create(out)
        let path = out + "/samples.jsonl"
        _ = truncate(path, 0)
        // A summary left by an earlier sample into the same directory would otherwise outlive these samples.
        Syscall.unlinkIfPresent(out + "/summary.json")
        // Started as record starts its target: in a process group and cgroup of its own, with a keeper that ends
        // them if Highwater is killed outright, so the command never outlives the sample.
        var child: ExternalTarget?
        let target: Int32
        var liveDirectory: String?
        defer { if let liveDirectory { FileTree.removeTree(liveDirectory) } }
        do {
            if let pid {
                target = pid
            } else {
                var environment = ProcessEnvironment.current
                if let library = try agentLibrary() {
                    liveDirectory = AgentPreload.preloadWatched(library, into: &environment, eventsIn: out)
                }
                child = try ExternalTarget(command: command, environment: environment, directory: nil, graceNs: 2_000_000_000)
                target = child!.pid
            }
        } catch {
            throw HighwaterFailure.couldNotRun("could not start \(command.joined(separator: " ")): \(error)")
        }
        let sampler: Sampler
        do {
            var options = Sampler.Options(intervalNs: interval.nanoseconds, pid: target, tmpDir: watchDir,
                                          watchIntervalNs: watchInterval.nanoseconds)
            options.censusIntervalNs = censusInterval.nanoseconds
            options.agentLiveDirectory = liveDirectory
            sampler = try Sampler(options: options, appendingTo: path)
        } catch {
            child?.stop(graceNs: 2_000_000_000)
            throw HighwaterFailure.couldNotRun("cannot sample PID \(target): \(error)")
        }
        // Read while the target lives: once it has ended, /proc/PID/environ is gone and the default would be said.
        let arenaLimit = ProcessEnviron.arenaLimit(pid: target)
        let arenaSetting = (try? ProcessEnviron.read(pid: target))?["MALLOC_ARENA_MAX"]
        sampler.start()
        let limit = duration?.nanoseconds ?? (pid != nil ? 5_000_000_000 : nil)
        let started = MonotonicClock.nanoseconds()
        var reason = "duration passed"
        while true {
            if let t = child?.termination {
                switch t {
                case .exited(let status): reason = "the command exited (status \(status))"
                case .signaled: reason = "the command was killed by \(t)"
                }
                break
            }
            if !sampler.isRunning { reason = sampler.totals.ended ?? "the process exited"; break }
            if Interruption.requested { reason = "interrupted"; break }
            if let limit, MonotonicClock.nanoseconds() - started >= limit { break }
            // Coarse on purpose: this thread only watches for the end; a wake-up every 2 ms cost as much as sampling.
            MonotonicClock.sleep(nanoseconds: 20_000_000)
        }
        let totals = sampler.stop()
        child?.stop(graceNs: 2_000_000_000)
        // A full disk loses samples: say so and exit 3, rather than name a file that does not hold them.
        if sampler.lost.records > 0 {
            throw HighwaterFailure.couldNotRun("\(sampler.lost.records) of \(totals.samples) samples could not be written to \(path)\(sampler.lost.firstError.map { " (\($0))" } ?? ""); free space where --out points and sample again")
        }
        let peak = totals.peakSource == "VmHWM"
            ? "peak RSS \(Quantity.formatBytes(totals.peak)) (the kernel's VmHWM; the samples saw \(Quantity.formatBytes(totals.peakRSS)))"
            : "peak RSS \(Quantity.formatBytes(totals.peak)) (sampled)"
        print("sampled PID \(target): \(peak), peak threads \(totals.peakThreads), "
              + "\(totals.samples) samples over \(Quantity.formatDuration(nanoseconds: Double(totals.durationNs))) "
              + "(\(reason)) -> \(path)")
        if totals.peakArenas > 0 {
            print("glibc arenas (census of /proc/PID/smaps): \(totals.peakArenas) at most; its limit \(arenaLimit.limit) (\(arenaLimit.source))")
        }
        try writeVerdict(name: pid.map { "pid \($0)" } ?? command.joined(separator: " "), samplesPath: path,
                         arenaLimit: arenaLimit, environment: arenaSetting.map { ["MALLOC_ARENA_MAX": $0] } ?? [:])
        if liveDirectory != nil {
            print(Self.liveHeapLine(totals))
        }
        if agent, child != nil {
            let written = AllocationOutputs.write(directory: out, requests: 0)
            if let note = written.note {
                print(note)
            } else if !written.sites.isEmpty {
                print("allocation profiles -> \(out)/alloc-sites.jsonl, alloc.folded, retained.folded, profile.pb.gz")
                let top = written.sites.prefix(3).map { "\($0.site) \(Quantity.formatBytes(Double($0.retained_bytes)))" }
                let held = written.sites.reduce(0.0) { $0 + Double($1.retained_bytes) }
                let how = written.everyAllocation ? "every allocation recorded" : "estimated from sampled allocations"
                print("heap: peak \(Quantity.formatBytes(written.peakLiveBytes ?? 0)) live, \(Quantity.formatBytes(held)) held at exit (\(how))")
                print("held at exit, most first: " + top.joined(separator: ", "))
                if let note = written.probeNote { print(note) }
            }
        }
        for w in totals.watched {
            let state = w.wasFull ? WatchedFilesystem.fullSentence(w, name: w.path) : "\(w.path) never full"
            print("\(state); capacity \(Quantity.formatBytes(w.capacity)), peak use \(Quantity.formatBytes(w.peak_used)), "
                  + "\(w.readings) readings every \(Quantity.formatDuration(nanoseconds: Double(w.interval_ns)))")
        }
    }

    /// The verdict over the samples, as DIR/summary.json (one run, read by `report` and `check --results` as a
    /// run's), and its line on the terminal.
    func writeVerdict(name: String, samplesPath: String, arenaLimit: (limit: Int, source: String), environment: [String: String]) throws {
        let samples = RecordCoding.lines(SampleRecord.self, from: (try? FileTree.readBytes(samplesPath)) ?? [])
        let summary = SampleSummarizer.summarize(name: name, samples: samples, warmupNs: warmup.nanoseconds, arenaLimit: arenaLimit,
                                                 cores: SystemFacts.onlineCPUs, environment: environment)
        let all = ResultsSummary(highwater_version: Highwater.version, created_ns: MonotonicClock.nanoseconds(), runs: [summary])
        do {
            try FileTree.writeAtomically(try RecordCoding.document(all), to: out + "/summary.json")
        } catch {
            throw HighwaterFailure.couldNotRun("cannot write \(out)/summary.json: \(error)")
        }
        print("verdict: \(summary.growth.label ?? summary.growth.classification.rawValue) -> \(out)/summary.json")
        if let finding = summary.growth.finding { print(finding) }
    }

    /// "live heap (read from inside it while it ran): peak 12 MiB, 3 MiB at the last sample", from the samples.
    static func liveHeapLine(_ totals: Sampler.Totals) -> String {
        guard let last = totals.lastHeapInUse else {
            return "live heap: the agent's live file never appeared (the command did not load the agent, or ended first)"
        }
        return "live heap (read from inside it while it ran, \(totals.heapSamples) samples): peak \(Quantity.formatBytes(Double(totals.peakHeapInUse))), "
            + "\(Quantity.formatBytes(Double(last))) at the last sample"
    }

    /// The agent to preload, when --agent asks and the command can take it.
    func agentLibrary() throws -> String? {
        guard agent else { return nil }
        AllocationOutputs.clear(out)
        do {
            return try AgentPreload.library(for: command, besideExecutable: Executable.current)
        } catch {
            throw HighwaterFailure.couldNotRun(error.description)
        }
    }
}
