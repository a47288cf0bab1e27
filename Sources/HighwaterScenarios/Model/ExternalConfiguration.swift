import HighwaterRecords

/// One configuration of a scenario whose target is a server Highwater did not build (`target:`): what
/// `highwater record` needs to start it, wait for it, load it phase by phase and stop it, with the
/// configuration's placeholders filled in — all but `{port}`, which is a free loopback port chosen when it runs.
package struct ExternalConfiguration: Sendable, Equatable {
    package enum Ready: Sendable, Equatable {
        /// At once: no load to wait for, and nothing said.
        case immediately
        /// A GET to this loopback URL answers, whatever its status.
        case url(String)
        /// This regular expression matches a line of the target's output.
        case log(String)
    }

    package var scenario: String
    /// The configuration's label (`arena2`), or `default` when the scenario has one.
    package var config: String
    /// Put before each phase's name (`arena2-`), so the configurations' phases are distinct runs; empty when the
    /// scenario has one configuration, whose phases are then named as `record` names them (`01-get-work`).
    package var phasePrefix: String
    package var command: [String]
    /// Added to Highwater's own environment for the command.
    package var environment: [String: String]
    package var ready: Ready
    package var readyTimeoutNs: UInt64
    /// Load phases as `record --load` takes them.
    package var phases: [String]
    package var watchDirs: [String]
    package var agent: Bool
    package var graceNs: UInt64
    package var sampleIntervalNs: UInt64
    package var timeLimitNs: UInt64?
    /// Every setting of this configuration by its scenario path, as written, for `where` filters.
    package var settings: [String: String]

    package static let defaultReadyTimeoutNs: UInt64 = 30_000_000_000
    package static let defaultGraceNs: UInt64 = 5_000_000_000

    /// Whether the command, environment, readiness or load ask for `{port}`.
    package var usesPort: Bool {
        let texts = command + Array(environment.values) + phases + [readyText]
        return texts.contains { $0.contains(Placeholders.port) }
    }

    /// This configuration with `{port}` replaced by a port chosen for the run.
    package func onPort(_ port: Int) -> ExternalConfiguration {
        var c = self
        let fill = { (text: String) in text.replacing(Placeholders.port, with: String(port)) }
        c.command = command.map(fill)
        c.environment = environment.mapValues(fill)
        c.phases = phases.map(fill)
        switch ready {
        case .url(let u): c.ready = .url(fill(u))
        case .log(let p): c.ready = .log(fill(p))
        case .immediately: break
        }
        return c
    }

    private var readyText: String {
        switch ready {
        case .url(let u): return u
        case .log(let p): return p
        case .immediately: return ""
        }
    }
}

/// `{NAME}` in an external target's command, environment, readiness and load: a `target.parameters.NAME` of the
/// configuration, `{port}` (a free loopback port, chosen as the configuration runs) or `{scenario_dir}` (the
/// directory of the scenario file, so a file can name the server script beside it).
enum Placeholders {
    static let port = "{port}"
    static let scenarioDirectory = "scenario_dir"

    /// `text` with every known `{NAME}` filled; the names it holds that are not known, in order.
    /// A regular expression's `{3}` or `{2,4}` is no placeholder: a name starts with a letter or `_`.
    static func fill(_ text: String, values: [String: String]) -> (String, unknown: [String]) {
        var out = ""
        var unknown: [String] = []
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{") {
            out += rest[..<open]
            let after = rest[rest.index(after: open)...]
            guard let close = after.firstIndex(of: "}") else { out += rest[open...]; rest = ""; break }
            let name = String(after[..<close])
            let isName = name.first.map { $0.isLetter || $0 == "_" } == true && name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }
            if isName, let value = values[name] {
                out += value
            } else {
                if isName && name != "port" { unknown.append(name) }
                out += rest[open...close]
            }
            rest = after[after.index(after: close)...]
        }
        out += rest
        return (out, unknown)
    }
}
