import HighwaterRecords

/// Turns the merged settings of one point of a scenario with `target:` into an `ExternalConfiguration`, filling
/// its placeholders and checking every load phase and the readiness URL with `record`'s own parser, so a bad
/// phase is reported at its line before anything starts.
struct ExternalPlanBuilder {
    var scenario: String
    var cores: Int
    var scenarioDirectory: String
    /// How many configurations the scenario makes: with one, its phases are named as `record` names them.
    var configurations: Int

    /// Stands in for `{port}` while a phase or URL is checked; the real port is chosen when the configuration runs.
    /// The largest port, so `:1{port}` (no port at all once filled) fails the check here, not at run time.
    static let checkingPort = "65535"

    func build(_ settings: [String: Setting], config: String, sink: inout DiagnosticSink) -> ExternalConfiguration? {
        let before = sink.diagnostics.count
        for (path, setting) in settings.sorted(by: { $0.key < $1.key })
        where ScenarioField.hostedOnlyPrefixes.contains(where: { path.hasPrefix($0) }) {
            sink.error("`\(path)` is a setting of a server Highwater hosts, and this scenario's target is external (`target:`)",
                       at: setting.location, hint: path.hasPrefix("load.")
                        ? "remove it: an external target's load is `target.load`, a list of phases such as `GET http://127.0.0.1:{port}/work n=200 c=8`"
                        : "remove it: beside `target`, a scenario takes environment, sample_interval, time_limit, sweep, variants and expect")
        }
        guard case .list(let words)? = settings["target.command"]?.value, let commandSetting = settings["target.command"], !words.isEmpty else {
            let at = settings.values.filter { $0.path.hasPrefix("target.") }.map(\.location).min { $0.line < $1.line }
            sink.error("missing `target.command`", at: at, hint: "add the command that starts the server, e.g. `target: {command: [python3, server.py, --port, \"{port}\"]}`")
            return nil
        }

        var values = [Placeholders.scenarioDirectory: scenarioDirectory]
        for (path, setting) in settings where path.hasPrefix("target.parameters.") {
            guard case .value(let text) = setting.value else { continue }
            let name = String(path.dropFirst("target.parameters.".count))
            if name == "port" || name == Placeholders.scenarioDirectory {
                sink.error("`\(name)` is a placeholder Highwater fills itself and cannot be a parameter", at: setting.location,
                           hint: name == "port" ? "{port} is a free port chosen for each configuration; name yours otherwise (e.g. `server_port`)" : "name it otherwise")
                continue
            }
            // `cores * 5` is a count of this machine; anything else is passed as written.
            if let expression = CountExpression(text), expression.usesCores, let n = expression.value(cores: cores) {
                values[name] = String(n)
            } else {
                values[name] = text
            }
        }
        /// `text` filled; nil (and said) when it names a placeholder nobody defines.
        func fill(_ text: String, at location: SourceLocation) -> String? {
            let (filled, unknown) = Placeholders.fill(text, values: values)
            for name in unknown {
                let known = values.keys.sorted().filter { $0 != Placeholders.scenarioDirectory }
                let near = ScenarioDiagnostic.suggestion(for: name, among: known).map { "did you mean `{\($0)}`? " } ?? ""
                sink.error("unknown placeholder `{\(name)}`", at: location,
                           hint: near + "define it under `target.parameters` (e.g. `parameters: {\(name): 4}`), or use {port} or {scenario_dir}")
            }
            return unknown.isEmpty ? filled : nil
        }
        func value(_ path: String) -> String? {
            if case .value(let v)? = settings[path]?.value { return v }
            return nil
        }
        func list(_ path: String) -> [(String, SourceLocation)] {
            guard let setting = settings[path], case .list(let items) = setting.value else { return [] }
            return items.enumerated().map { i, item in (item, i < setting.itemLocations.count ? setting.itemLocations[i] : setting.location) }
        }
        func nanoseconds(_ path: String) -> UInt64? { value(path).flatMap(Quantity.nanoseconds) }

        let command = words.map { fill($0, at: commandSetting.location) ?? $0 }
        var environment: [String: String] = [:]
        for (path, setting) in settings where path.hasPrefix("environment.") {
            let name = String(path.dropFirst("environment.".count))
            switch setting.value {
            case .value(let v): environment[name] = fill(v, at: setting.location) ?? v
            default:
                sink.error("`unset` cannot leave \(name) out of an external target's environment", at: setting.location,
                           hint: "the command inherits Highwater's environment; give \(name) a value instead")
            }
        }

        var phases: [String] = []
        for (written, location) in list("target.load") {
            // A value is one word of the phase: one with spaces would be read as more options (`1 n=10000000 body=@FILE`).
            for (name, value) in values.sorted(by: { $0.key < $1.key })
            where written.contains("{\(name)}") && value.contains(where: { $0.isWhitespace || $0.isNewline }) {
                sink.error("parameter `\(name)` (`\(value)`) holds a space, so in load phase `\(written)` it would be read as more of the phase",
                           at: settings["target.parameters." + name]?.location ?? location,
                           hint: "a parameter fills one value of a phase; write further options in the phase itself")
            }
            guard let spec = fill(written, at: location) else { continue }
            do {
                _ = try LoadSpec(parsing: spec.replacing(Placeholders.port, with: Self.checkingPort))
                phases.append(spec)
            } catch {
                sink.error("load phase `\(written)` \(error.problem)", at: location,
                           hint: "a phase is [METHOD] URL [n=N] [c=N | rate=R] [body=SIZE | body=@FILE] [upload=SIZE | upload=A..B] [field=NAME]")
            }
        }

        var ready = ExternalConfiguration.Ready.immediately
        if settings["target.ready"] != nil, let log = settings["target.ready_log"] {
            sink.error("`target.ready` and `target.ready_log` both set", at: log.location, hint: "give one: a URL to poll or a line to wait for")
        } else if let setting = settings["target.ready"], let url = value("target.ready"), let filled = fill(url, at: setting.location) {
            if (try? LoadSpec(parsing: "GET " + filled.replacing(Placeholders.port, with: Self.checkingPort))) == nil {
                sink.error("target.ready `\(url)` is not an http:// URL on this machine", at: setting.location,
                           hint: "e.g. http://127.0.0.1:{port}/health; Highwater only talks to loopback addresses")
            }
            ready = .url(filled)
        } else if let setting = settings["target.ready_log"], let pattern = value("target.ready_log"), let filled = fill(pattern, at: setting.location) {
            if (try? Regex(filled)) == nil {
                sink.error("target.ready_log `\(pattern)` is not a regular expression", at: setting.location,
                           hint: "e.g. `Uvicorn running on`, or `listening on port [0-9]+`")
            }
            ready = .log(filled)
        } else if let first = phases.first, let server = Self.serverRoot(of: first) {
            ready = .url(server)
        }
        if settings["target.load"] == nil && value("time_limit") == nil {
            sink.error("an external target without `target.load` is only watched, and nothing says for how long", at: commandSetting.location,
                       hint: "give load phases under `target.load`, or `time_limit: 30s` to watch it that long")
        }
        guard sink.diagnostics.count == before else { return nil }

        var written: [String: String] = [:]
        for (path, setting) in settings { written[path] = setting.written }
        return ExternalConfiguration(
            scenario: scenario, config: config, phasePrefix: configurations > 1 ? config + "-" : "",
            command: command, environment: environment, ready: ready,
            readyTimeoutNs: nanoseconds("target.ready_timeout") ?? ExternalConfiguration.defaultReadyTimeoutNs,
            phases: phases, watchDirs: list("target.watch_dirs").map { fill($0.0, at: $0.1) ?? $0.0 },
            agent: value("target.agent") == "true",
            graceNs: nanoseconds("target.grace") ?? ExternalConfiguration.defaultGraceNs,
            sampleIntervalNs: nanoseconds("sample_interval") ?? 10_000_000, timeLimitNs: nanoseconds("time_limit"),
            settings: written)
    }

    /// `http://127.0.0.1:{port}/` of a phase `GET http://127.0.0.1:{port}/work n=10`: by default a target is ready
    /// when the server its first phase loads answers anything at `/`.
    static func serverRoot(of spec: String) -> String? {
        guard let url = spec.split(whereSeparator: \.isWhitespace).first(where: { $0.contains("://") }),
              let scheme = url.firstRange(of: "://") else { return nil }
        let authority = url[scheme.upperBound...].prefix { $0 != "/" && $0 != "?" }
        return String(url[..<scheme.upperBound]) + authority + "/"
    }

    /// A phase written as a mapping (`{method: POST, url: …, requests: 20, upload: 1MiB..8MiB}`) as the one string
    /// `record --load` takes, so both are read by the same parser.
    static func phaseSpec(_ entries: [ConfigNode.Entry], at location: SourceLocation, sink: inout DiagnosticSink) -> String? {
        var method: String?
        var url: String?
        var options: [String] = []
        let before = sink.diagnostics.count
        for entry in entries {
            guard let known = ScenarioField.loadPhaseKeys.first(where: { $0.name == entry.key }) else {
                let names = ScenarioField.loadPhaseKeys.map(\.name)
                let near = ScenarioDiagnostic.suggestion(for: entry.key, among: names).map { "did you mean `\($0)`? " } ?? ""
                sink.error("unknown key `\(entry.key)` in a load phase", at: entry.keyLocation, hint: near + "a phase has " + names.joined(separator: ", "))
                continue
            }
            guard let text = entry.value.scalarText, !text.isEmpty else {
                sink.error("`\(entry.key)` of a load phase must be a single value, found \(entry.value.kindName)", at: entry.value.location)
                continue
            }
            // One word each, as the spec string needs: `10 MiB` is `10MiB`.
            let word = entry.key == "url" || entry.key == "method" ? text : String(text.filter { !$0.isWhitespace })
            switch entry.key {
            case "method": method = word
            case "url": url = word
            default: options.append(known.specKey! + "=" + word)
            }
        }
        guard let url else {
            if sink.diagnostics.count == before {
                sink.error("this load phase has no `url`", at: location, hint: "e.g. `{url: \"http://127.0.0.1:{port}/work\", requests: 200, concurrency: 8}`")
            }
            return nil
        }
        return ([method, url].compactMap { $0 } + options).joined(separator: " ")
    }
}
