@preconcurrency import Glibc
import FoundationEssentials
import HighwaterAnalysis
import HighwaterRecords
import HighwaterProbes

/// One configuration in its own child process (`highwater host`), so no configuration's heap
/// pollutes another's: start it, wait for its port, drive the load, stop it, summarize.
public struct ChildRun: Sendable {
    public var plan: RunPlan
    public var runID: String
    public var directory: String
    /// The `highwater` executable to start as the child.
    public var executable: String
    public var showProgress: Bool

    public init(plan: RunPlan, runID: String, directory: String, executable: String, showProgress: Bool) {
        self.plan = plan; self.runID = runID; self.directory = directory; self.executable = executable
        self.showProgress = showProgress
    }

    public func execute() async throws -> RunSummary {
        try FileTree.createDirectory(directory)
        for name in ["samples.jsonl", "requests.jsonl", "port", "host.log"] { _ = unlink(directory + "/" + name) }
        let planPath = directory + "/plan.json"

        let logPath = directory + "/host.log"
        let storage = try RunStorage(plan: plan, runDirectory: directory)
        defer { storage.removeAll() }
        let plan = storage.plan
        try FileTree.write(try JSONEncoder().encode(plan), to: planPath)
        let upload = plan.isUpload ? try UploadWorkload(plan: plan) : nil
        let host = try HostedChild(plan: plan, planPath: planPath, directory: directory, executable: executable,
                                   extraArguments: storage.hostArguments, commandPrefix: storage.commandPrefix)
        let child = host.process
        // Before the mount points go: the child holds its tmpfs until it ends.
        defer { if child.poll() == nil { child.terminate() } }

        let client: RunSummarizer.ClientSide
        var childExit: Termination?
        var notSent = 0
        if let port = host.waitForPort() {
            let driver = LoadDriver(port: port, route: upload == nil ? "/work" : "/upload", load: plan.load,
                                    body: upload.map { UploadLoad.body(load: plan.load, encoding: $0.encoding) })
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
            let result = await driver.run(progress: progress, stop: { child.poll() != nil })
            if showProgress { Terminal.clearStatus() }
            // Errors: answers that were not 2xx, requests with no answer, and requests never sent (Ctrl-C).
            let unanswered = result.statuses[0, default: 0]
            let neverSent = max(0, total - result.latenciesMs.count - unanswered)
            notSent = neverSent
            client = .init(latenciesMs: result.latenciesMs, errors: result.errors + neverSent, wallNs: result.wallNs)
            childExit = await host.stop(port: port)
        } else {
            childExit = child.poll() ?? child.terminate()
            client = .init(latenciesMs: [], errors: plan.load.requests, wallNs: 0)
        }

        let requests: [RequestRecord] = JSONLines.read(directory + "/requests.jsonl")
        let samples: [SampleRecord] = JSONLines.read(directory + "/samples.jsonl")
        var summary = RunSummarizer.summarize(plan: plan, runID: runID, requests: requests, samples: samples,
                                              client: client, arenaLimit: arenaLimit)
        if let upload {
            UploadFigures.add(to: &summary, plan: plan, upload: upload, requests: requests, samples: samples)
        }
        if notSent > 0 && Interruption.requested {
            summary.notes = (summary.notes ?? []) + ["interrupted after \(plan.load.requests - notSent) of \(plan.load.requests) requests; the \(notSent) never sent count as errors"]
        }
        if let childExit {
            summary.child_exit = childExit.description
            if !childExit.succeeded {
                summary.stderr_tail = FileTree.tail(logPath, lines: 20)
                summary.notes = (summary.notes ?? []) + ["the hosted child ended with \(childExit)"]
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try FileTree.write(try encoder.encode(summary), to: directory + "/summary.json")
        return summary
    }

    static func residentText(pid: Int32) -> String {
        guard let probe = try? ProcessProbe(pid: pid), let status = try? probe.status() else { return "?" }
        return Quantity.formatBytes(status.vmRSS)
    }

    /// glibc's cap for the child: MALLOC_ARENA_MAX when set, else 8 x online CPUs.
    var arenaLimit: Int {
        if let v = plan.environment["MALLOC_ARENA_MAX"], let n = Int(v) { return n }
        if let v = ProcessEnvironment.current["MALLOC_ARENA_MAX"], plan.environment["MALLOC_ARENA_MAX"] == nil, let n = Int(v) { return n }
        return 8 * Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    }

}

/// A `highwater host` child serving one plan: started, waited for, stopped.
public struct HostedChild: Sendable {
    public let process: ChildProcess
    public let directory: String

    /// - Parameter commandPrefix: what the child starts under (`unshare --mount …` for a private tmpfs).
    public init(plan: RunPlan, planPath: String, directory: String, executable: String, extraArguments: [String] = [],
                commandPrefix: [String] = []) throws {
        var environment = ProcessEnvironment.current
        // Swift's crash backtracer can take minutes to symbolize a debug build; a crashed child is
        // reported by its signal and stderr tail instead, unless the user asked for backtraces.
        if environment["SWIFT_BACKTRACE"] == nil { environment["SWIFT_BACKTRACE"] = "enable=no" }
        for (k, v) in plan.environment {
            if v == "unset" { environment[k] = nil } else { environment[k] = v }
        }
        self.directory = directory
        _ = unlink(directory + "/port")
        process = try ChildProcess(commandPrefix + [executable, "host", "--plan", planPath, "--out", directory] + extraArguments,
                                   environment: environment, stdout: .file(directory + "/host.log.out"),
                                   stderr: .file(directory + "/host.log"))
    }

    /// The port the child publishes once it listens; nil if it ended or took over 30 s.
    public func waitForPort() -> Int? {
        let deadline = SystemFacts.monotonicNanoseconds() + 30_000_000_000
        while SystemFacts.monotonicNanoseconds() < deadline && !Interruption.requested {
            if let text = try? ProcFile.read(directory + "/port"), let port = Int(text.filter(\.isNumber)) { return port }
            if process.poll() != nil { return nil }
            usleep(5_000)
        }
        return nil
    }

    /// Asks the child to stop over HTTP; SIGTERM and SIGKILL if it does not within 10 s.
    public func stop(port: Int) async -> Termination {
        // After Ctrl-C the driver sends nothing more: end the child with a signal, within the second Ctrl-C allows.
        if Interruption.requested { return process.terminate(grace: 500_000_000) }
        let driver = LoadDriver(port: port, route: "/_highwater/shutdown", load: .init(requests: 1))
        _ = await driver.run()
        return process.wait(timeoutNs: 10_000_000_000) ?? process.terminate()
    }
}

/// Status lines on a terminal: rewritten in place, and only when stderr is a TTY.
public enum Terminal {
    public static let isInteractive = isatty(2) == 1

    public static func status(_ text: String) {
        guard isInteractive else { return }
        write("\r\u{1B}[2K" + text)
    }

    public static func clearStatus() {
        guard isInteractive else { return }
        write("\r\u{1B}[2K")
    }

    public static func line(_ text: String) {
        write(text + "\n")
    }

    static func write(_ text: String) {
        var t = text
        t.withUTF8 { _ = Glibc.write(2, $0.baseAddress, $0.count) }
    }
}
