@preconcurrency import Glibc
import HighwaterHarness
import HighwaterProbes
import HighwaterRecords
import HighwaterScenarios
import HighwaterSystem
import Prometheus

/// `highwater watch`: samples its targets for as long as it runs, one `Sampler` each, and serves what they last
/// read on /metrics. Targets are looked for again every interval: a `--match` finds a restarted process under its
/// new PID, and an ended one's series leave the registry (stale in Prometheus, never zero).
package final class Watch {
    /// Which processes are watched.
    package enum Targets: Sendable {
        case pids([Int32])
        /// A regular expression over each process's command line (arguments joined by spaces).
        case match(String)
        /// A command `watch` starts and watches until it exits; `agent` preloads the allocation agent into it.
        case command([String], agent: String?)
    }

    package struct Configuration: Sendable {
        package var targets: Targets
        package var intervalNs: UInt64 = 1_000_000_000
        package var listen = ListenAddress.default
        package var watchDir: String?
        /// A parsed limits file and its outcomes as `check --limits` evaluates them.
        package var limits: (service: ServiceLimits, outcomes: [LimitOutcome])?

        package init(targets: Targets) { self.targets = targets }
    }

    /// A target as it is watched: its sampler, the series it sets, and its latest sample for the limits.
    private struct Watched {
        let sampler: Sampler
        let metrics: TargetMetrics
        let latest: LatestSample
    }

    private let configuration: Configuration
    private let pattern: Regex<AnyRegexOutput>?
    private let host: String
    private let registry = PrometheusCollectorRegistry()
    private let deletedFiles: HeldDeletedFiles?
    private var watched: [Int32: Watched] = [:]
    /// PIDs given with --pid that have ended: a PID reused by another process is not the one asked for.
    private var ended: Set<Int32> = []
    private var child: ExternalTarget?
    private var agentLiveDirectory: String?
    private var agentEventsDirectory: String?
    private let hostGauges: HostGauges
    private let heapProfiles = HeapProfiles()

    /// Checks what can be checked before serving: the pattern compiles, the watched directory is there.
    package init(_ configuration: Configuration) throws(WatchError) {
        self.configuration = configuration
        if case .match(let text) = configuration.targets {
            do { pattern = try Regex(text) } catch {
                throw WatchError.badInput("--match '\(text)' is not a regular expression: \(error)")
            }
        } else {
            pattern = nil
        }
        host = (try? ProcFile.read("/proc/sys/kernel/hostname"))?.split(separator: "\n").first.map(String.init) ?? "localhost"
        do {
            deletedFiles = try configuration.watchDir.map { try HeldDeletedFiles(directory: $0) }
        } catch {
            throw WatchError.badInput("--watch-dir '\(configuration.watchDir ?? "")' cannot be read: \(error)")
        }
        hostGauges = HostGauges(registry: registry, host: host, watchDir: configuration.watchDir, limits: configuration.limits)
    }

    /// Serves and samples until `stop` says so or a command it started exits; `ready` gets the bound port first.
    /// Returns why it ended.
    package func run(ready: (Int) -> Void, stop: () -> Bool) throws(WatchError) -> String {
        let server: WatchServer
        do {
            server = try WatchServer(address: configuration.listen) { [registry, heapProfiles] path, query in
                switch path {
                case "/metrics": return .init(status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8", body: registry.emitToBuffer())
                case "/debug/pprof/heap": return heapProfiles.response(query: query)
                case "/": return .text(.ok, "highwater watch: /metrics (Prometheus), /debug/pprof/heap?pid=PID (pprof)")
                default: return .text(.notFound, "no such path: \(path); try /metrics")
                }
            }
        } catch {
            throw WatchError.couldNotRun("cannot listen on \(configuration.listen): \(error)")
        }
        defer {
            for pid in Array(watched.keys) { forget(pid) }
            server.close()
            if let child { _ = child.stop(graceNs: 2_000_000_000) }
            if let agentLiveDirectory { FileTree.removeTree(agentLiveDirectory) }
            if let agentEventsDirectory { FileTree.removeTree(agentEventsDirectory) }
        }
        if case .command(let command, let agent) = configuration.targets {
            var environment = ProcessEnvironment.current
            if let agent {
                do {
                    agentEventsDirectory = try OwnedDirectory.make(in: ProcessEnvironment.current["TMPDIR"] ?? "/tmp", prefix: "highwater-watch-")
                } catch {
                    throw WatchError.couldNotRun("no directory for the agent's allocation events: \(error)")
                }
                agentLiveDirectory = AgentPreload.preloadWatched(agent, into: &environment, eventsIn: agentEventsDirectory!)
            }
            do {
                child = try ExternalTarget(command: command, environment: environment, directory: nil, graceNs: 2_000_000_000)
            } catch {
                throw WatchError.couldNotRun("could not start \(command.joined(separator: " ")): \(error)")
            }
        }
        ready(server.port)
        while true {
            if let t = child?.termination { return "the command exited (\(t))" }
            if stop() { return "interrupted" }
            refreshTargets()
            hostGauges.update(resident: watched.values.reduce(0) { $0 + ($1.latest.record?.rss ?? 0) }, targets: watched.count)
            // In steps: Ctrl-C must not wait out a long interval.
            let until = MonotonicClock.nanoseconds() + configuration.intervalNs
            while MonotonicClock.nanoseconds() < until, !stop(), child?.hasEnded != true {
                MonotonicClock.sleep(until: min(until, MonotonicClock.nanoseconds() + 50_000_000))
            }
        }
    }

    /// Drops the targets that ended, and adds the ones that appeared.
    private func refreshTargets() {
        for (pid, w) in watched where !w.sampler.isRunning {
            forget(pid)
            // Kept for --pid only: a --match watch would keep every PID it ever saw.
            if case .pids = configuration.targets { ended.insert(pid) }
            Terminal.write("watch: PID \(pid) (\(w.metrics.target.command)) ended; its series are gone until it returns\n")
        }
        // A process that exec'd another program (a command just started, a server re-exec'ing itself) is that
        // program now: its series start again under its new command label.
        for (pid, w) in watched where ProcessTree.name(of: pid) != w.metrics.target.command {
            forget(pid)
        }
        let wanted: [Int32]
        switch configuration.targets {
        case .pids(let pids): wanted = pids.filter { !ended.contains($0) }
        case .match: wanted = pattern.map(WatchedProcess.matching) ?? []
        case .command: wanted = child.map { [$0.pid] } ?? []
        }
        for pid in wanted where watched[pid] == nil && Syscall.processExists(pid) {
            add(WatchedProcess(pid: pid))
        }
    }

    /// Stops sampling `pid` and takes its series and heap profile away.
    private func forget(_ pid: Int32) {
        guard let w = watched.removeValue(forKey: pid) else { return }
        w.sampler.stop()
        w.metrics.unregister()
        heapProfiles.remove(pid)
    }

    private func add(_ process: WatchedProcess) {
        var options = Sampler.Options(intervalNs: configuration.intervalNs, pid: process.pid)
        options.censusIntervalNs = configuration.intervalNs
        options.agentLiveDirectory = process.agentLiveDirectory
        let metrics = TargetMetrics(target: process, host: host, registry: registry, deletedFiles: deletedFiles)
        let latest = LatestSample()
        // A process that ends while it is being looked at is simply not watched.
        guard let sampler = try? Sampler(options: options, sinks: [metrics, latest]) else {
            metrics.unregister()
            return
        }
        sampler.start()
        watched[process.pid] = Watched(sampler: sampler, metrics: metrics, latest: latest)
        heapProfiles.add(process)
        Terminal.write("watch: watching PID \(process.pid) (\(process.command))\(process.agentLiveDirectory != nil ? " with the agent's live heap" : "")\n")
    }
}

/// Why `watch` could not start: bad input (exit 2) or something it could not do (exit 3).
package enum WatchError: Error, CustomStringConvertible {
    case badInput(String)
    case couldNotRun(String)

    package var description: String {
        switch self {
        case .badInput(let m), .couldNotRun(let m): m
        }
    }
}
