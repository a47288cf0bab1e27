@preconcurrency import Glibc
import HighwaterAnalysis
import HighwaterProbes
import HighwaterRecords
import HighwaterSystem

/// `highwater record`: a server Highwater did not build, started (or attached to), waited for, loaded phase by
/// phase and sampled with its descendants, each phase written as a run directory that `run` would write
/// (`DIR/<name>/NN-<phase>/{plan.json, samples.jsonl, requests.jsonl, summary.json}` and `DIR/summary.json`),
/// so `highwater report` and `check --results` read it as they read a run.
///
/// A phase's summary is final only once the target has stopped (its exit, a kill after the grace period) and the
/// agent's events are whole (they are written as the target exits), so `run` returns the summaries and the caller,
/// having added the expectations, stores them once (`store`). While the record goes on, `DIR/summary.json` is the
/// index of the phases so far, as a hosted run's is after each run, so a record killed outright keeps them listed.
package struct RecordSession: Sendable {
    package struct Options: Sendable {
        package var command: [String] = []
        package var pid: Int32?
        package var environment: [String: String] = [:]
        package var readiness: Readiness = .immediately
        package var readyTimeoutNs: UInt64 = 30_000_000_000
        package var loads: [LoadSpec] = []
        package var watchDirs: [String] = []
        package var intervalNs: UInt64 = 10_000_000
        package var timeLimitNs: UInt64?
        package var graceNs: UInt64 = 5_000_000_000
        /// How often glibc's arenas are counted from /proc/PID/smaps; nil: never.
        package var censusIntervalNs: UInt64? = 200_000_000
        /// The allocation agent to preload into the command (`--agent`); nil: none.
        package var agentLibrary: String?
        /// Where the agents of the target and its descendants map their live files (made by the session with --agent).
        package var agentLiveDirectory: String?
        package var outDirectory = "results"
        package var name = "record"
        /// Put before each phase's name: a scenario's configuration (`arena2-01-get-work`).
        package var phasePrefix = ""
        /// The configuration the phases are filed under (a scenario's external configuration, `record --name`).
        package var filedUnder: String?
        /// Runs this session made before the record (a scenario's earlier configurations): kept in DIR/summary.json
        /// before the record's own, and their run directories are not cleared.
        package var earlierRuns: [RunSummary] = []
        package var version = ""
        package init() {}
    }

    /// How the record ended, for the exit code and the closing lines.
    package struct Outcome: Sendable {
        package var summaries: [RunSummary] = []
        /// A started target that ended on its own before the record stopped it (a crash, or an exit mid-load).
        package var targetEnded: Termination?
        /// An attached process that exited while it was recorded.
        package var attachedExited = false
        package var timedOut = false
        package var interrupted = false
        /// The started target ignored SIGTERM and was killed after the grace period.
        package var killedAfterGrace = false
    }

    package let options: Options

    package init(options: Options) { self.options = options }

    package var scenarioDirectory: String { options.outDirectory + "/" + options.name }

    /// Where the target's output and the agent's profiles go: the record's directory, or a configuration's of its own
    /// when a scenario records several (`DIR/SCENARIO/arena2/`), so one configuration's do not overwrite another's.
    package var targetDirectory: String {
        let configuration = options.phasePrefix.hasSuffix("-") ? String(options.phasePrefix.dropLast()) : options.phasePrefix
        return configuration.isEmpty ? scenarioDirectory : scenarioDirectory + "/" + configuration
    }

    package func run(progress: @escaping @Sendable (String) -> Void = { _ in }) async throws(RecordError) -> Outcome {
        Leftovers.sweep()
        do { try FileTree.createDirectory(targetDirectory) } catch { throw .couldNotRun("cannot create \(targetDirectory): \(error)") }
        let plans = phasePlans()
        if !self.options.earlierRuns.contains(where: { $0.scenario == self.options.name }) {
            RunSession.clearEarlierRuns(ofScenarios: Set(plans.map(\.scenario)), in: self.options.outDirectory)
        }
        let target: ExternalTarget
        var options = self.options
        defer { if let live = options.agentLiveDirectory { FileTree.removeTree(live) } }
        if let pid = options.pid {
            guard ExternalTarget.isAlive(pid) else { throw .couldNotRun("no live process has PID \(pid)") }
            target = ExternalTarget(attachingTo: pid)
        } else {
            var environment = ProcessEnvironment.current
            for (k, v) in options.environment { environment[k] = v }
            if let library = options.agentLibrary {
                AllocationOutputs.clear(targetDirectory)
                options.agentLiveDirectory = AgentPreload.preloadWatched(library, into: &environment, eventsIn: targetDirectory)
            }
            do {
                target = try ExternalTarget(command: options.command, environment: environment, directory: targetDirectory,
                                            graceNs: options.graceNs)
            } catch {
                throw .couldNotRun("could not start \(options.command.joined(separator: " ")): \(error)")
            }
        }
        let started = MonotonicClock.nanoseconds()
        switch await options.readiness.wait(for: target, timeoutNs: options.readyTimeoutNs) {
        case .ready:
            progress("target PID \(target.pid) ready (\(options.readiness.description)) after \(Quantity.format(Double(MonotonicClock.nanoseconds() - started) / 1e9)) s")
        case .ended:
            let how = target.termination.map { "ended with \($0)" } ?? "exited"
            throw .notReady("the target \(how) before it was ready (\(options.readiness.description))" + Self.tailText(target))
        case .interrupted:
            await target.stop(graceNs: options.graceNs)
            throw .notReady("interrupted before the target was ready")
        case .timedOut:
            let stopped = await target.stop(graceNs: options.graceNs)
            throw .notReady("the target was not ready \(options.readiness.description) within \(Quantity.format(Double(options.readyTimeoutNs) / 1e9)) s; "
                            + "it was stopped (\(stopped.termination.map(\.description) ?? "attached, left running"))" + Self.tailText(target))
        }

        var outcome = Outcome()
        let deadline = options.timeLimitNs.map { started &+ $0 }
        let pastDeadline = { @Sendable () -> Bool in deadline.map { MonotonicClock.nanoseconds() >= $0 } ?? false }
        for (k, plan) in plans.enumerated() {
            let spec = k < options.loads.count ? options.loads[k] : nil
            let phase = RecordPhase(plan: plan, spec: spec, directory: scenarioDirectory + "/" + plan.config,
                                    target: target, options: options)
            var summary: RunSummary
            do {
                summary = try await phase.run(stop: { target.hasEnded || pastDeadline() })
            } catch {
                if outcome.summaries.isEmpty && !target.hasEnded {
                    await target.stop(graceNs: options.graceNs)
                    throw error
                }
                break
            }
            let ended = target.hasEnded
            if ended {
                if let t = target.termination {
                    outcome.targetEnded = t
                    summary.child_exit = t.description
                    summary.stderr_tail = target.outputTail()
                    summary.note(.targetEnded(t.description, load: spec != nil ? (summary.requests, plan.load.requests) : nil))
                    if spec != nil || !t.succeeded, summary.growth.classification != .notRun { summary.growth.classification = .crashed }
                } else {
                    outcome.attachedExited = true
                    summary.note(.attachedExited(pid: target.pid))
                }
            }
            // Without load, the time limit is how long to watch: reaching it is the normal end.
            if pastDeadline() && !ended && spec != nil, let limit = options.timeLimitNs {
                outcome.timedOut = true
                summary.timed_out_after_s = Double(limit) / 1e9
                summary.note(.timedOut(limitSeconds: Double(limit) / 1e9))
            }
            if Interruption.requested { outcome.interrupted = true }
            // Said once the phase's verdict is final (a crash overrides it), so the terminal and summary.json agree.
            progress("\(plan.config): " + RunSession.oneLineForRecord(summary))
            // What a user came for, on the terminal too: the arenas, where uploads broke, who filled the temp dir.
            for finding in [summary.arena_census?.finding, summary.notes(.uploadBoundary).first,
                            summary.temp_dir_finding].compactMap({ $0 }) {
                progress("      " + finding)
            }
            outcome.summaries.append(summary)
            checkpoint(outcome.summaries)
            if ended || outcome.timedOut || outcome.interrupted { break }
        }

        // A target that ended before a phase could start (a crash between phases) is news too; one that ended before
        // the first, even with exit 0, left nothing recorded: the record did not happen.
        if let t = target.termination, outcome.targetEnded == nil, !t.succeeded || outcome.summaries.isEmpty {
            outcome.targetEnded = t
            if outcome.summaries.isEmpty {
                let stopped = await target.stop(graceNs: options.graceNs)
                let daemon = t.succeeded
                    ? "; a server that daemonizes (forks and exits) must run in the foreground under record (its --foreground or --no-daemon option)"
                        + (stopped.escaped.isEmpty ? "" : "; the \(stopped.escaped.count) processes it left running (PIDs \(stopped.escaped.map(String.init).joined(separator: ", "))) were ended with it")
                    : ""
                throw .couldNotRun("the target ended with \(t) before the first phase could start, so no request was sent\(daemon)" + Self.tailText(target))
            }
        }
        if target.process != nil {
            let endedBefore = target.hasEnded
            let stopped = await target.stop(graceNs: options.graceNs)
            if var last = outcome.summaries.popLast() {
                if !endedBefore { last.child_exit = stopped.termination?.description }
                if stopped.killed {
                    outcome.killedAfterGrace = true
                    last.stderr_tail = target.outputTail()
                    last.note(.killedAfterGrace(graceSeconds: Double(options.graceNs) / 1e9))
                }
                if !stopped.escaped.isEmpty {
                    last.note(.escapedProcesses(stopped.escaped, keptIn: target.container?.description ?? "its process group"))
                }
                if !stopped.leftBehind.isEmpty {
                    last.note(.leftBehind(stopped.leftBehind))
                }
                outcome.summaries.append(last)
            }
        }
        // The agent writes its events as the target exits: only now are they whole.
        if options.agentLibrary != nil {
            RecordAgent.finish(directory: targetDirectory, phases: scenarioDirectory, summaries: &outcome.summaries)
        }
        return outcome
    }

    /// One plan per phase (or one `observe` phase without --load), so each is a run as `run` lays them out.
    func phasePlans() -> [PhasePlan] {
        let specs: [LoadSpec?] = options.loads.isEmpty ? [nil] : options.loads
        let target = options.pid.map { "PID \($0)" } ?? options.command.joined(separator: " ")
        return specs.enumerated().map { k, spec in
            let number = k + 1 < 10 ? "0\(k + 1)" : "\(k + 1)"
            let phase = number + "-" + (spec?.label ?? "observe")
            var plan = PhasePlan(scenario: options.name, config: options.phasePrefix + phase,
                                 target: target, loadSpec: spec?.text,
                                 load: .init(requests: spec?.requests ?? 0, concurrency: spec?.concurrency ?? 0, rate: spec?.rate),
                                 environment: options.environment, warmup: spec == nil ? 0 : 1, sampleIntervalNs: options.intervalNs,
                                 timeLimitNs: options.timeLimitNs, tempDir: options.watchDirs.first)
            if let label = options.filedUnder { plan.filedUnder = label; plan.phase = phase }
            return plan
        }
    }

    /// The record's results, once they are final: each phase's summary.json and DIR/summary.json (after the runs kept
    /// from before). A summary that cannot be written fails the record (exit 3), as a hosted run's does.
    package func store(_ summaries: [RunSummary]) throws(RecordError) {
        for summary in summaries {
            let path = scenarioDirectory + "/" + summary.run_id + "/summary.json"
            do { try FileTree.writeAtomically(try RecordCoding.document(summary), to: path) } catch {
                throw .couldNotRun("cannot write \(path): \(error)")
            }
        }
        do { try index(summaries) } catch { throw .couldNotRun("cannot write \(options.outDirectory)/summary.json: \(error)") }
    }

    /// DIR/summary.json listing the phases so far; a failure here is not the record's (`store` says it at the end).
    func checkpoint(_ summaries: [RunSummary]) {
        try? index(summaries)
    }

    private func index(_ summaries: [RunSummary]) throws {
        try RunSession(outDirectory: options.outDirectory, executable: "", showProgress: false, version: options.version)
            .store(options.earlierRuns + summaries)
    }

    /// Why a `body=@FILE` cannot be sent, before anything starts; nil when it can (a regular file within the limit).
    package static func fileBodyProblem(_ path: String) -> String? {
        let fd: Int32
        do { fd = try FileTree.openRegularFile(path) } catch { return error.reason }
        defer { Syscall.close(fd) }
        guard let size = try? Syscall.status(descriptor: fd, path: path).st_size else { return nil }
        if UInt64(size) > LoadSpec.maxFileBodyBytes {
            return "it is \(Quantity.formatBytes(UInt64(size))), larger than \(Quantity.formatBytes(LoadSpec.maxFileBodyBytes)), the most a body=@FILE may be (every request sends it from memory)"
        }
        return nil
    }

    static func tailText(_ target: ExternalTarget) -> String {
        target.outputTail().map { "; its output ended with:\n" + $0 } ?? "; it wrote nothing to stdout or stderr"
    }
}

package enum RecordError: Error, CustomStringConvertible {
    /// Set-up failed: the command would not start, the PID is not there, the directory cannot be written.
    case couldNotRun(String)
    /// The target never became ready, or ended first.
    case notReady(String)

    package var description: String {
        switch self {
        case .couldNotRun(let m), .notReady(let m): return m
        }
    }
}

extension RunSession {
    /// The one-line summary `run` prints, for a phase of `record`.
    static func oneLineForRecord(_ s: RunSummary) -> String {
        RunSession(outDirectory: "", executable: "", showProgress: false, version: "").oneLine(s, planned: s.requests)
    }
}
