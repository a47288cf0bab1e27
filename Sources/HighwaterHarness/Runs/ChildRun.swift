@preconcurrency import Glibc
import FoundationEssentials
import HighwaterAnalysis
import HighwaterRecords
import HighwaterProbes
import HighwaterSystem
import HighwaterWorkloads

/// One configuration in its own child process (`highwater host`), so no configuration's heap
/// pollutes another's: start it, wait for its port, drive the load, stop it, summarize.
package struct ChildRun: Sendable {
    package var plan: RunPlan
    package var runID: String
    package var directory: String
    /// The `highwater` executable to start as the child.
    package var executable: String
    package var showProgress: Bool

    package init(plan: RunPlan, runID: String, directory: String, executable: String, showProgress: Bool) {
        self.plan = plan; self.runID = runID; self.directory = directory; self.executable = executable
        self.showProgress = showProgress
    }

    package func execute() async throws -> RunSummary {
        try Preload.check(plan.environment)
        try FileTree.createDirectory(directory)
        for name in ["samples.jsonl", "requests.jsonl", "port", "host.log", "lost.json", "nginx-samples.jsonl", "arenas.json", "watch.json"] {
            Syscall.unlinkIfPresent(directory + "/" + name)
        }
        AllocationOutputs.clear(directory)
        let planPath = directory + "/plan.json"

        let logPath = directory + "/host.log"
        let storage = try RunStorage(plan: plan, runDirectory: directory)
        defer { storage.removeAll() }
        let companions = try RunCompanions(plan: storage.plan, runDirectory: directory)
        defer { companions.stop() }
        let plan = companions.plan
        try FileTree.writeAtomically(try RecordCoding.document(plan), to: planPath)
        let upload = plan.isUpload ? try UploadWorkload(plan: plan) : nil
        // A scenario's own host instead of `highwater host`; the agent is still found beside Highwater.
        var executable = self.executable
        if let own = plan.host { executable = try await UserHost.executable(for: own) }
        let host = try HostedChild(plan: plan, planPath: planPath, directory: directory, executable: executable,
                                   extraArguments: storage.hostArguments, commandPrefix: storage.commandPrefix)
        let child = host.process
        // Before the mount points go: the child holds its tmpfs until it ends.
        defer { if child.poll() == nil { _ = child.terminate() as Termination } }
        let watchdog = plan.timeLimitNs.map { RunWatchdog(child: child, limitNs: $0) }

        let client: RunSummarizer.ClientSide
        var childExit: Termination?
        var notSent = 0
        var firstError: String?
        var readings: DownloadFigures.Readings?
        var settledNote: Finding?
        if let port = await host.waitForPort() {
            let front: Int
            do { front = try companions.front(hostPort: port) } catch {
                _ = await host.stop(port: port)
                throw error
            }
            let driver = LoadDriver(port: front, route: plan.route, load: plan.load, warmup: plan.warmup,
                                    body: upload.map { UploadLoad.body(load: plan.load, encoding: $0.encoding) } ?? HandlerLoad.body(plan: plan))
            let label = "\(plan.scenario)/\(plan.config)"
            let total = plan.load.requests
            let pid = child.pid
            let progress: (@Sendable (Int, UInt64) -> Void)?
            if showProgress {
                progress = { @Sendable (done: Int, ns: UInt64) -> Void in
                    let rss = Self.residentText(pid: pid)
                    let rate = ns > 0 ? Double(done) / (Double(ns) / 1e9) : 0
                    Terminal.status("\(label): \(done)/\(total) requests, \(Quantity.format(rate)) req/s, RSS \(rss)")
                }
            } else {
                progress = nil
            }
            let hostCPU = ProcessCPU.read([pid])
            let nginxCPU = companions.nginxCPU()
            let verdictWatch = plan.load.untilSettled ? VerdictWatch(plan: plan, directory: directory, arenaLimit: arenaLimit, cores: Self.cores) : nil
            let watching = verdictWatch.map { w in Task { await w.watch() } }
            let enough: (@Sendable () -> Bool)? = verdictWatch.map { w in { @Sendable in w.stopped } }
            let result = await driver.run(progress: progress, stop: { child.poll() != nil || watchdog?.fired == true },
                                          enough: enough)
            watching?.cancel()
            settledNote = verdictWatch?.note
            if showProgress { Terminal.clearStatus() }
            if plan.isDownload || plan.isDownstream {
                readings = .init(load: result, hostCPU: ProcessCPU.read([pid]) - hostCPU,
                                 nginxCPU: companions.nginxCPU().map { $0 - (nginxCPU ?? .init()) })
                readings?.downstream = companions.downstream?.counts
            }
            // Errors: answers that were not 2xx and requests with no answer. Requests never sent (Ctrl-C, the time
            // limit) are not errors: nothing failed, they did not happen; a note says how many.
            let unanswered = result.statuses[0, default: 0]
            // Under `until: settled` the requests not sent after the verdict settled were never meant to be.
            notSent = verdictWatch?.stopped == true ? 0 : max(0, total - result.latenciesMs.count - unanswered)
            client = .init(latenciesMs: result.latenciesMs, errors: result.errors, wallNs: result.wallNs)
            firstError = result.firstError
            if watchdog?.fired == true {
                // Stopping at its limit: the watchdog ends it; asking its closed port to stop would only wait.
                childExit = await watchdog?.ended()
            } else {
                childExit = await host.stop(port: port)
            }
        } else {
            childExit = await child.terminate()
            client = .init(latenciesMs: [], errors: 0, wallNs: 0)
            // It ended (or hung) before it listened: no request was sent, so this run was not carried out, and its
            // own words say why (a private mount refused, a plan it could not read).
            if !Interruption.requested {
                _ = await watchdog?.finish()
                let said = FileTree.tail(logPath, lines: 3).map { ": " + $0.split(separator: "\n").joined(separator: " | ") } ?? ""
                let how = childExit.map { "ended with \($0)" } ?? "ended"
                if let own = plan.host {
                    // Its name first: a program that is not a Highwater host exits at once or never publishes its port.
                    let never = childExit == .signaled(SIGTERM) || childExit == .signaled(SIGKILL)
                    throw HostedChild.NotListening(reason: "the host \(own.described) \(never ? "did not answer the plan within \(HostedChild.listenTimeoutNs / 1_000_000_000) s (stopped)" : how) before it listened\(said); a host is a program built on HighwaterHost's Host.main, started as `PROGRAM host --plan PLAN --out DIR`")
                }
                throw HostedChild.NotListening(reason: "the hosted child \(how) before it listened\(said)")
            }
        }

        let timedOut = await watchdog?.finish() ?? false
        let requests = RecordCoding.lines(RequestRecord.self, from: (try? FileTree.readBytes(directory + "/requests.jsonl")) ?? [])
        let samples = RecordCoding.lines(SampleRecord.self, from: (try? FileTree.readBytes(directory + "/samples.jsonl")) ?? [])
        let allocator = try? RecordCoding.decode(AllocatorReport.self, from: FileTree.readBytes(directory + "/arenas.json"))
        var summary = RunSummarizer.summarize(plan: plan, runID: runID, requests: requests, samples: samples,
                                              client: client, arenaLimit: arenaLimit, cores: Self.cores, allocator: allocator)
        summary.temp_dir = (try? RecordCoding.decode([WatchedFilesystem].self, from: FileTree.readBytes(directory + "/watch.json")))?.first
        if let upload {
            UploadFigures.add(to: &summary, plan: plan, upload: upload, requests: requests, samples: samples)
        }
        if var readings {
            companions.stop()
            readings.nginxSamples = RecordCoding.lines(SampleRecord.self, from: (try? FileTree.readBytes(directory + "/nginx-samples.jsonl")) ?? [])
            DownloadFigures.add(to: &summary, plan: plan, readings: readings, requests: requests, samples: samples)
        }
        if notSent > 0 {
            let why: Finding.LoadStop = Interruption.requested ? .interrupted : timedOut ? .timeLimit : .childEnded
            summary.note(.loadStopped(why, sent: plan.load.requests - notSent, planned: plan.load.requests))
        }
        if let settledNote { summary.note(settledNote) }
        if client.errors > 0, let firstError {
            summary.note(.firstFailedRequest(firstError))
        }
        if let losses = try? RecordCoding.decode(RecordLosses.self, from: FileTree.readBytes(directory + "/lost.json")) {
            summary.records_lost = losses.total
            summary.note(.recordsLost(losses))
        }
        if timedOut, let limit = plan.timeLimitNs {
            let seconds = Double(limit) / 1e9
            summary.timed_out_after_s = seconds
            summary.note(.timedOut(seconds: seconds, graceSeconds: UInt64(RunWatchdog.graceNs / 1_000_000_000)))
        }
        if let childExit {
            summary.child_exit = childExit.description
            if !childExit.succeeded || timedOut {
                summary.stderr_tail = FileTree.tail(logPath, lines: 20) ?? (timedOut ? "" : nil)
                summary.note(.childEnded(childExit.description))
                // A run whose child died has no verdict on its memory, whatever the requests before showed. One the
                // time limit stopped did not crash: it is labelled timed out (timed_out_after_s), its data judged as far as it went.
                if summary.growth.classification != .notRun && !timedOut { summary.growth.classification = .crashed }
                GrowthExplanation.explain(&summary, plan: plan, arenaLimit: arenaLimit, cores: Self.cores,
                                          lastSample: samples.last)
            }
        }
        if Interruption.requested {
            // Naming every sampled stack reads the symbol tables of every library the child mapped: a second or more
            // on a busy machine, which Ctrl-C should not wait for. The raw events stay beside the run.
            if Syscall.canAccess(directory + "/" + AgentPreload.eventsFile, F_OK) {
                summary.note(.profilesInterrupted(eventsFile: AgentPreload.eventsFile))
            }
        } else {
            let allocations = AllocationOutputs.write(directory: directory, requests: requests.count)
            for finding in [allocations.note, allocations.probeNote].compactMap({ $0 }) { summary.note(finding) }
            AllocationFinding.apply(to: &summary, sites: allocations.sites)
        }
        try FileTree.writeAtomically(try RecordCoding.document(summary), to: directory + "/summary.json")
        return summary
    }

    static func residentText(pid: Int32) -> String {
        guard let probe = try? ProcessProbe(pid: pid), let status = try? probe.status() else { return "?" }
        return Quantity.formatBytes(status.vmRSS)
    }

    static var cores: Int { SystemFacts.onlineCPUs }

    /// glibc's cap for the child, by the one rule `record` uses too (GLIBC_TUNABLES' arena_max, then
    /// MALLOC_ARENA_MAX, else 8 x online CPUs), read from the environment the child is given.
    var arenaLimit: Int {
        AllocatorProbe.arenaLimit(environment: HostedChild.environment(for: plan), onlineCPUs: Self.cores).limit
    }

}

/// A `highwater host` child serving one plan: started, waited for, stopped.
package struct HostedChild: Sendable {
    /// The child never published its port: the run did not happen.
    package struct NotListening: Error, CustomStringConvertible {
        package var reason: String
        package var description: String { reason }
    }

    package let process: ChildProcess
    package let directory: String

    /// - Parameter commandPrefix: what the child starts under (`unshare --mount …` for a private tmpfs).
    package init(plan: RunPlan, planPath: String, directory: String, executable: String, extraArguments: [String] = [],
                commandPrefix: [String] = []) throws {
        var environment = Self.environment(for: plan)
        AgentPreload.add(to: &environment, plan: plan, executable: executable, directory: directory)
        self.directory = directory
        Syscall.unlinkIfPresent(directory + "/port")
        process = try ChildProcess(commandPrefix + [executable, "host", "--plan", planPath, "--out", directory] + extraArguments,
                                   environment: environment, stdout: .file(directory + "/host.log.out"),
                                   stderr: .file(directory + "/host.log"), lifeline: true)
    }

    /// The child's environment: this process's, with the plan's settings over it (`unset` removes one).
    static func environment(for plan: RunPlan) -> [String: String] {
        var environment = ProcessEnvironment.current
        // Swift's crash backtracer can take minutes to symbolize a debug build; a crashed child is
        // reported by its signal and stderr tail instead, unless the user asked for backtraces.
        if environment["SWIFT_BACKTRACE"] == nil { environment["SWIFT_BACKTRACE"] = "enable=no" }
        for (k, v) in plan.environment {
            if v == "unset" { environment[k] = nil } else { environment[k] = v }
        }
        return environment
    }

    /// How long a child may take to publish its port.
    package static let listenTimeoutNs: UInt64 = 30_000_000_000

    /// The port the child publishes once it listens; nil if it ended, was interrupted or took over 30 s.
    /// Polls with `Task.sleep`, so no pool thread is held while a slow child starts.
    package func waitForPort() async -> Int? {
        let deadline = MonotonicClock.nanoseconds() + Self.listenTimeoutNs
        while true {
            // The file first: a task the pool left unscheduled past the deadline still sees a child that started.
            if let text = try? FileTree.readText(directory + "/port"), let port = Int(text.filter(\.isNumber)) { return port }
            if process.poll() != nil || Interruption.requested || MonotonicClock.nanoseconds() >= deadline { return nil }
            try? await Task.sleep(nanoseconds: 5_000_000)
        }
    }

    /// Asks the child to stop over HTTP; SIGTERM and SIGKILL if it does not within 10 s.
    package func stop(port: Int) async -> Termination {
        // Already ended (stopped at its time limit, crashed): nothing listens, and asking would only wait.
        if let ended = process.poll() { return ended }
        // After Ctrl-C the driver sends nothing more: end the child with a signal, within the second Ctrl-C allows.
        if Interruption.requested { return await process.terminate(grace: 500_000_000) }
        let driver = LoadDriver(port: port, route: "/_highwater/shutdown", load: .init(requests: 1))
        _ = await driver.run()
        if let ended = await process.exit(timeoutNs: 10_000_000_000) { return ended }
        return await process.terminate()
    }
}
