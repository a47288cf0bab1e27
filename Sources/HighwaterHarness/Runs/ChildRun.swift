@preconcurrency import Glibc
import FoundationEssentials
import HighwaterAnalysis
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
        try FileTree.write(try JSONEncoder().encode(plan), to: planPath)

        var environment = ProcessEnvironment.current
        for (k, v) in plan.environment {
            if v == "unset" { environment[k] = nil } else { environment[k] = v }
        }
        let logPath = directory + "/host.log"
        let child = try ChildProcess([executable, "host", "--plan", planPath, "--out", directory],
                                     environment: environment, stdout: .file(logPath + ".out"), stderr: .file(logPath))
        defer { if child.poll() == nil { child.terminate() } }

        let client: RunSummarizer.ClientSide
        var childExit: Termination?
        if let port = waitForPort(child: child) {
            let driver = LoadDriver(port: port, route: "/work", load: plan.load)
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
            let result = await driver.run(progress: progress)
            if showProgress { Terminal.clearStatus() }
            client = .init(latenciesMs: result.latenciesMs, errors: result.errors + (total - result.latenciesMs.count - result.errors), wallNs: result.wallNs)
            await requestShutdown(port: port)
            childExit = child.wait(timeoutNs: 10_000_000_000) ?? child.terminate()
        } else {
            childExit = child.poll() ?? child.terminate()
            client = .init(latenciesMs: [], errors: plan.load.requests, wallNs: 0)
        }

        let requests: [RequestRecord] = JSONLines.read(directory + "/requests.jsonl")
        let samples: [SampleRecord] = JSONLines.read(directory + "/samples.jsonl")
        var summary = RunSummarizer.summarize(plan: plan, runID: runID, requests: requests, samples: samples,
                                              client: client, arenaLimit: arenaLimit)
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

    /// The port the child publishes once it listens; nil if it ended or took over 30 s.
    func waitForPort(child: ChildProcess) -> Int? {
        let deadline = SystemFacts.monotonicNanoseconds() + 30_000_000_000
        while SystemFacts.monotonicNanoseconds() < deadline && !Interruption.requested {
            if let text = try? ProcFile.read(directory + "/port"), let port = Int(text.filter(\.isNumber)) { return port }
            if child.poll() != nil { return nil }
            usleep(5_000)
        }
        return nil
    }

    func requestShutdown(port: Int) async {
        let driver = LoadDriver(port: port, route: "/_highwater/shutdown", load: .init(requests: 1))
        _ = await driver.run()
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
