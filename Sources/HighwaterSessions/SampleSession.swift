@preconcurrency import Glibc
import HighwaterAnalysis
import HighwaterHarness
import HighwaterProbes
import HighwaterRecords
import HighwaterSystem

/// `highwater sample`: another process sampled until it ends (or a command started, sampled and stopped), the
/// samples in DIR/samples.jsonl, its verdict over time in DIR/summary.json (read by `report` and `check --results`
/// as a run's), and with the agent its allocation profiles.
package struct SampleSession {
    /// What is sampled: a running process, left running, or a command started for the sample and stopped with it.
    package enum Target: Sendable {
        case pid(Int32)
        case command([String])
    }

    package struct Spec: Sendable {
        package var target: Target
        package var intervalNs: UInt64 = 10_000_000
        /// Nil: until the command exits, or 5 s for a PID.
        package var durationNs: UInt64?
        package var out = "results"
        /// A directory whose filesystem's use is sampled as `tmp_used`.
        package var watchDir: String?
        package var watchIntervalNs: UInt64 = 1_000_000
        package var censusIntervalNs: UInt64 = 200_000_000
        /// The start whose growth does not count in the verdict.
        package var warmupNs: UInt64 = SampleSummarizer.defaultWarmupNs
        /// The allocation agent preloaded into the command.
        package var agent = false

        package init(target: Target) { self.target = target }

        /// What is wrong with the spec before anything starts, first problem first (bad usage: exit 2).
        package func problems() -> [String] {
            var found: [String] = []
            if agent, case .pid = target { found.append("--agent preloads into a command Highwater starts; give one after `--`.") }
            if case .pid(let pid) = target {
                if pid <= 0 {
                    found.append("--pid \(pid) is not a process ID; give the PID of a running process (greater than 0).")
                } else if !Syscall.processExists(pid) {
                    found.append("No process has PID \(pid).")
                }
            }
            if let watchDir, !FileTree.isDirectory(watchDir) {
                found.append("--watch-dir '\(watchDir)' is not a directory; give the directory the command writes its temporary files to (e.g. /tmp).")
            }
            if agent, let refusal = AgentPreload.refusal(environment: ProcessEnvironment.current) { found.append(refusal) }
            return found
        }

        /// The name the verdict goes by: `pid 1234`, or the command.
        var name: String {
            switch target {
            case .pid(let pid): "pid \(pid)"
            case .command(let command): command.joined(separator: " ")
            }
        }
    }

    /// What the sample found, beside the lines it said.
    package struct Outcome {
        package var pid: Int32
        package var totals: Sampler.Totals
        /// Why sampling ended: the duration passed, the command exited, the process exited, interrupted.
        package var reason: String
        package var summary: RunSummary
    }

    package let spec: Spec
    /// Where the session's lines go (stdout for the command).
    private let say: (String) -> Void

    package init(_ spec: Spec, say: @escaping (String) -> Void = { print($0) }) {
        self.spec = spec
        self.say = say
    }

    private var out: String { spec.out }
    private var samplesPath: String { out + "/samples.jsonl" }

    /// Samples until the process ends, the duration passes or Ctrl-C; writes the verdict and says it.
    /// Throws `HighwaterFailure.couldNotRun` (exit 3) when the command cannot start or the samples cannot be written.
    @discardableResult
    package func run() throws -> Outcome {
        Leftovers.sweep()
        try ResultsDirectory.create(out)
        _ = truncate(samplesPath, 0)
        // A summary left by an earlier sample into the same directory would otherwise outlive these samples.
        Syscall.unlinkIfPresent(out + "/summary.json")
        // Started as record starts its target: in a process group and cgroup of its own, with a keeper that ends
        // them if Highwater is killed outright, so the command never outlives the sample.
        var child: ExternalTarget?
        let target: Int32
        var liveDirectory: String?
        defer { if let liveDirectory { FileTree.removeTree(liveDirectory) } }
        switch spec.target {
        case .pid(let pid):
            target = pid
        case .command(let command):
            do {
                var environment = ProcessEnvironment.current
                if let library = try agentLibrary(for: command) {
                    liveDirectory = AgentPreload.preloadWatched(library, into: &environment, eventsIn: out)
                }
                let started = try ExternalTarget(command: command, environment: environment, directory: nil, graceNs: 2_000_000_000)
                child = started
                target = started.pid
            } catch {
                throw HighwaterFailure.couldNotRun("could not start \(command.joined(separator: " ")): \(error)")
            }
        }
        let sampler: Sampler?
        do {
            var options = Sampler.Options(intervalNs: spec.intervalNs, pid: target, tmpDir: spec.watchDir,
                                          watchIntervalNs: spec.watchIntervalNs)
            options.censusIntervalNs = spec.censusIntervalNs
            options.agentLiveDirectory = liveDirectory
            sampler = try Sampler(options: options, appendingTo: samplesPath)
        } catch {
            // A command that ended before its first reading (a zombie's status has no VmRSS, on a busy machine even
            // a `sleep 0.2`) was sampled for no time at all: said so below, with its verdict of nothing.
            guard child?.termination != nil else {
                child?.stop(graceNs: 2_000_000_000)
                throw HighwaterFailure.couldNotRun("cannot sample PID \(target): \(error)")
            }
            sampler = nil
        }
        // Read while the target lives: once it has ended, /proc/PID/environ is gone and the default would be said.
        let arenaLimit = ProcessEnviron.arenaLimit(pid: target)
        let arenaSetting = (try? ProcessEnviron.read(pid: target))?["MALLOC_ARENA_MAX"]
        sampler?.start()
        let reason = waitForEnd(of: sampler, child: child)
        let totals = sampler?.stop() ?? Sampler.Totals()
        child?.stop(graceNs: 2_000_000_000)
        // A full disk loses samples: say so and exit 3, rather than name a file that does not hold them.
        if let sampler, sampler.lost.records > 0 {
            throw HighwaterFailure.couldNotRun("\(sampler.lost.records) of \(totals.samples) samples could not be written to \(samplesPath)\(sampler.lost.firstError.map { " (\($0))" } ?? ""); free space where --out points and sample again")
        }
        let peak = totals.peakSource == "VmHWM"
            ? "peak RSS \(Quantity.formatBytes(totals.peak)) (the kernel's VmHWM; the samples saw \(Quantity.formatBytes(totals.peakRSS)))"
            : "peak RSS \(Quantity.formatBytes(totals.peak)) (sampled)"
        if sampler == nil {
            say("sampled PID \(target): it ended before its first sample (\(reason)) -> \(samplesPath)")
        } else {
            say("sampled PID \(target): \(peak), peak threads \(totals.peakThreads), "
                + "\(totals.samples) samples over \(Quantity.formatDuration(nanoseconds: Double(totals.durationNs))) "
                + "(\(reason)) -> \(samplesPath)")
        }
        if totals.peakArenas > 0 {
            say("glibc arenas (census of /proc/PID/smaps): \(totals.peakArenas) at most; its limit \(arenaLimit.limit) (\(arenaLimit.source))")
        }
        let summary = try writeVerdict(arenaLimit: arenaLimit, environment: arenaSetting.map { ["MALLOC_ARENA_MAX": $0] } ?? [:])
        if liveDirectory != nil {
            say(Self.liveHeapLine(totals))
        }
        if spec.agent, child != nil { sayAllocationProfiles() }
        for w in totals.watched {
            let state = w.wasFull ? WatchedFilesystem.fullSentence(w, name: w.path) : "\(w.path) never full"
            say("\(state); capacity \(Quantity.formatBytes(w.capacity)), peak use \(Quantity.formatBytes(w.peak_used)), "
                + "\(w.readings) readings every \(Quantity.formatDuration(nanoseconds: Double(w.interval_ns)))")
        }
        return Outcome(pid: target, totals: totals, reason: reason, summary: summary)
    }

    /// Waits for the end of the sample and says what ended it.
    private func waitForEnd(of sampler: Sampler?, child: ExternalTarget?) -> String {
        let limit = spec.durationNs ?? (child == nil ? 5_000_000_000 : nil)
        let started = MonotonicClock.nanoseconds()
        while true {
            if let t = child?.termination {
                switch t {
                case .exited(let status): return "the command exited (status \(status))"
                case .signaled: return "the command was killed by \(t)"
                }
            }
            if let sampler, !sampler.isRunning { return sampler.totals.ended ?? "the process exited" }
            if Interruption.requested { return "interrupted" }
            if let limit, MonotonicClock.nanoseconds() - started >= limit { return "duration passed" }
            // Coarse on purpose: this thread only watches for the end; a wake-up every 2 ms cost as much as sampling.
            MonotonicClock.sleep(nanoseconds: 20_000_000)
        }
    }

    /// The verdict over the samples, as DIR/summary.json (one run, read by `report` and `check --results` as a
    /// run's), and its line.
    private func writeVerdict(arenaLimit: (limit: Int, source: String), environment: [String: String]) throws -> RunSummary {
        let samples = RecordCoding.lines(SampleRecord.self, from: (try? FileTree.readBytes(samplesPath)) ?? [])
        let summary = SampleSummarizer.summarize(name: spec.name, samples: samples, warmupNs: spec.warmupNs, arenaLimit: arenaLimit,
                                                 cores: SystemFacts.onlineCPUs, environment: environment)
        let all = ResultsSummary(highwater_version: HighwaterVersion.current, created_ns: MonotonicClock.nanoseconds(), runs: [summary])
        do {
            try FileTree.writeAtomically(try RecordCoding.document(all), to: out + "/summary.json")
        } catch {
            throw HighwaterFailure.couldNotRun("cannot write \(out)/summary.json: \(error)")
        }
        say("verdict: \(summary.growth.label ?? summary.growth.classification.rawValue) -> \(out)/summary.json")
        if let finding = summary.growth.finding { say(finding) }
        return summary
    }

    /// The agent's events, once the command has exited, as DIR's allocation profiles, and what they hold.
    private func sayAllocationProfiles() {
        let written = AllocationOutputs.write(directory: out, requests: 0)
        if let note = written.note {
            say(note.text)
        } else if !written.sites.isEmpty {
            say("allocation profiles -> \(out)/alloc-sites.jsonl, alloc.folded, retained.folded, profile.pb.gz")
            let top = written.sites.prefix(3).map { "\($0.site) \(Quantity.formatBytes(Double($0.retained_bytes)))" }
            let held = written.sites.reduce(0.0) { $0 + Double($1.retained_bytes) }
            let how = written.everyAllocation ? "every allocation recorded" : "estimated from sampled allocations"
            say("heap: peak \(Quantity.formatBytes(written.peakLiveBytes ?? 0)) live, \(Quantity.formatBytes(held)) held at exit (\(how))")
            say("held at exit, most first: " + top.joined(separator: ", "))
            if let note = written.probeNote { say(note.text) }
        }
    }

    /// "live heap (read from inside it while it ran): peak 12 MiB, 3 MiB at the last sample", from the samples.
    static func liveHeapLine(_ totals: Sampler.Totals) -> String {
        guard let last = totals.lastHeapInUse else {
            return "live heap: the agent's live file never appeared (the command did not load the agent, or ended first)"
        }
        return "live heap (read from inside it while it ran, \(totals.heapSamples) samples): peak \(Quantity.formatBytes(Double(totals.peakHeapInUse))), "
            + "\(Quantity.formatBytes(Double(last))) at the last sample"
    }

    /// The agent to preload, when the spec asks and the command can take it.
    private func agentLibrary(for command: [String]) throws -> String? {
        guard spec.agent else { return nil }
        AllocationOutputs.clear(out)
        do {
            return try AgentPreload.library(for: command, besideExecutable: Executable.current)
        } catch {
            throw HighwaterFailure.couldNotRun(error.description)
        }
    }
}
