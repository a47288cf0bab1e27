import HighwaterHarness
import HighwaterRecords
import HighwaterScenarios
import HighwaterSystem

/// What `highwater record` is asked to do, in the user's words (load specs, KEY=VALUE pairs, expectations as
/// written): it says what is wrong with itself before anything starts, and becomes a `RecordRun`.
package struct RecordSpec: Sendable {
    /// The command that starts the server; empty with `pid`.
    package var command: [String] = []
    /// A running process attached to (left running).
    package var pid: Int32?
    /// Ready when an HTTP GET to this loopback URL answers.
    package var ready: String?
    /// Ready when this regular expression matches a line of the target's output.
    package var readyLog: String?
    package var readyTimeoutNs: UInt64 = 30_000_000_000
    /// Load phases as `LoadSpec` parses them, in sequence.
    package var loads: [String] = []
    /// KEY=VALUE pairs added to the started command's environment.
    package var environment: [String] = []
    package var watchDirs: [String] = []
    package var intervalNs: UInt64 = 10_000_000
    package var timeLimitNs: UInt64?
    /// How often glibc's arenas are counted; nil: never.
    package var censusIntervalNs: UInt64? = 200_000_000
    package var graceNs: UInt64 = 5_000_000_000
    /// Expectations every load phase holds, as a scenario's `expect` writes them.
    package var expectations: [String] = []
    package var agent = false
    package var out = "results"
    /// The configuration the record is filed as, beside the others in DIR.
    package var name: String?

    package init() {}

    /// What is wrong with the spec, first problem first (bad usage: exit 2): what the target would only meet after
    /// it started is checked now, so a mistake costs no start.
    package func problems() -> [String] {
        var found: [String] = []
        if let pid, pid <= 0 { found.append("--pid \(pid) is not a process ID; give the PID of a running process (greater than 0).") }
        else if let pid, !ExternalTarget.isAlive(pid) { found.append("No live process has PID \(pid).") }
        if ready != nil && readyLog != nil { found.append("Give --ready or --ready-log, not both.") }
        if agent && pid != nil { found.append("--agent preloads the agent into a command record starts; a running PID cannot take a preload.") }
        if let readyLog, (try? Regex(readyLog)) == nil { found.append("--ready-log '\(readyLog)' is not a regular expression.") }
        if let ready { do { _ = try Readiness.loopback(url: ready) } catch { found.append(error.description) } }
        for spec in loads {
            do { _ = try LoadSpec(parsing: spec) } catch { found.append(error.description) }
        }
        for text in expectations {
            do { _ = try Expectation.parse(commandLine: text) } catch { found.append(error.description) }
        }
        for pair in environment where Self.split(pair) == nil { found.append("--env \(pair): give KEY=VALUE.") }
        if pid != nil && !environment.isEmpty { found.append("--env sets a started command's environment; an attached process keeps its own.") }
        if agent, let refusal = AgentPreload.refusal(environment: ProcessEnvironment.current.merging(startedEnvironment) { $1 }) {
            found.append(refusal)
        }
        for dir in watchDirs where !FileTree.isDirectory(dir) {
            found.append("--watch-dir '\(dir)' is not a directory; give the directory the target writes its temporary files to (e.g. /tmp).")
        }
        for spec in loads {
            guard let parsed = try? LoadSpec(parsing: spec), case .file(let path) = parsed.body else { continue }
            if let problem = RecordSession.fileBodyProblem(path) { found.append("--load '\(spec)': body=@\(path): \(problem).") }
        }
        if let name, name.isEmpty || name.contains("/") || name.hasPrefix(".") || !name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) {
            found.append("--name \(name): give a plain name of letters, digits, `-`, `_` or `.`.")
        }
        return found
    }

    /// The pairs as the started command's environment, a later KEY over an earlier one.
    var startedEnvironment: [String: String] {
        var environment: [String: String] = [:]
        for pair in self.environment { if let (key, value) = Self.split(pair) { environment[key] = value } }
        return environment
    }

    /// `KEY=VALUE` as its key and value; nil without `=` or without a key.
    static func split(_ pair: String) -> (String, String)? {
        guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex else { return nil }
        return (String(pair[..<eq]), String(pair[pair.index(after: eq)...]))
    }
}

extension RecordRun {
    /// The record a spec asks for; a spec with problems is bad input (exit 2).
    package init(_ spec: RecordSpec) throws {
        if let problem = spec.problems().first { throw HighwaterFailure.badInput(problem) }
        var options = RecordSession.Options()
        options.command = spec.command
        options.pid = spec.pid
        options.environment = spec.startedEnvironment
        options.readiness = try spec.ready.map { try Readiness.loopback(url: $0) } ?? spec.readyLog.map { .log(pattern: $0) } ?? .immediately
        options.readyTimeoutNs = spec.readyTimeoutNs
        options.loads = try spec.loads.map { try LoadSpec(parsing: $0) }
        options.watchDirs = spec.watchDirs
        options.intervalNs = spec.intervalNs
        options.timeLimitNs = spec.timeLimitNs
        options.graceNs = spec.graceNs
        options.censusIntervalNs = spec.censusIntervalNs
        options.outDirectory = spec.out
        self.init(options: options, name: spec.name, agent: spec.agent,
                  expectations: try spec.expectations.map { try Expectation.parse(commandLine: $0) })
    }
}
