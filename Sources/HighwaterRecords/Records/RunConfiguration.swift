/// What a run ran, as `summary.json`'s `configuration` holds it: one flat object of strings (an interface: its keys
/// stay), read and written here only. Expectations' `where` filters address it by those keys (`workload.file_size`,
/// `env.MALLOC_ARENA_MAX`, `phase`); everything else reads the typed properties.
package struct RunConfiguration: Codable, Equatable, Sendable {
    /// The hosted executor as its kind and size (`lazy 40`); `external` in records of earlier builds.
    package var executor: String?
    /// The hosted workload's name (`upload-spooled`, a route of the user's host); `external` in older records.
    package var workload: String?
    /// The workload's options as written in the scenario (`file_size` → `10MB`), under `workload.NAME`.
    package var workloadOptions: [String: String] = [:]
    /// Requests sent, and at most how many at once.
    package var requests: Int?
    package var concurrency: Int?
    /// Requests per second when the load is paced; nil when open.
    package var rate: Double?
    /// The load as one line, the same for two runs under the same load (`3000 requests, concurrency 40, …`).
    package var load: String?
    /// A record's phase load as `--load` wrote it (`GET http://… n=3000 c=40`, under `workload.load`); nil for a
    /// phase that only watched.
    package var loadSpec: String?
    /// An external target's command line.
    package var target: String?
    /// The configuration of a scenario (or a named record) an external phase belongs to (`arena2`).
    package var config: String?
    /// The phase of a record (`01-get-work`).
    package var phase: String?
    /// `highwater sample`: the sampled command's name.
    package var command: String?
    /// The environment set for the target or the hosted child, under `env.NAME`.
    package var environment: [String: String] = [:]
    /// Keys this build does not write, kept as read so they are shown and written back.
    package var unlisted: [String: String] = [:]

    package init(executor: String? = nil, workload: String? = nil, workloadOptions: [String: String] = [:],
                 requests: Int? = nil, concurrency: Int? = nil, target: String? = nil, config: String? = nil, command: String? = nil) {
        self.executor = executor; self.workload = workload; self.workloadOptions = workloadOptions
        self.requests = requests; self.concurrency = concurrency; self.target = target; self.config = config; self.command = command
    }

    /// The keys of the flat object.
    package enum Key {
        package static let executor = "executor", workload = "workload", requests = "requests", concurrency = "concurrency"
        package static let rate = "rate", load = "load", loadSpec = "workload.load", target = "target", config = "config"
        package static let phase = "phase", command = "command"
        package static let workloadOption = "workload.", environment = "env."
    }

    /// The flat object as stored: every property under its key.
    package var flat: [String: String] {
        var d = unlisted
        func put(_ key: String, _ value: String?) { if let value { d[key] = value } }
        for (k, v) in workloadOptions { d[Key.workloadOption + k] = v }
        for (k, v) in environment { d[Key.environment + k] = v }
        put(Key.executor, executor); put(Key.workload, workload)
        put(Key.requests, requests.map { String($0) }); put(Key.concurrency, concurrency.map { String($0) })
        put(Key.rate, rate.map { "\($0)" }); put(Key.load, load); put(Key.loadSpec, loadSpec)
        put(Key.target, target); put(Key.config, config); put(Key.phase, phase); put(Key.command, command)
        return d
    }

    /// Reads the flat object; a value that would not be written back as read (a count that is not a plain integer)
    /// stays under its key in `unlisted`.
    package init(flat: [String: String]) {
        for (key, value) in flat {
            switch key {
            case Key.executor: executor = value
            case Key.workload: workload = value
            case Key.requests where Int(value).map({ String($0) }) == value: requests = Int(value)
            case Key.concurrency where Int(value).map({ String($0) }) == value: concurrency = Int(value)
            case Key.rate where Double(value).map({ "\($0)" }) == value: rate = Double(value)
            case Key.load: load = value
            case Key.loadSpec: loadSpec = value
            case Key.target: target = value
            case Key.config: config = value
            case Key.phase: phase = value
            case Key.command: command = value
            case _ where key.hasPrefix(Key.workloadOption) && key.count > Key.workloadOption.count:
                workloadOptions[String(key.dropFirst(Key.workloadOption.count))] = value
            case _ where key.hasPrefix(Key.environment) && key.count > Key.environment.count:
                environment[String(key.dropFirst(Key.environment.count))] = value
            default: unlisted[key] = value
            }
        }
    }

    /// A value by its key in the flat object (`workload.file_size`, `env.MALLOC_ARENA_MAX`), as `where` filters name it.
    package subscript(key key: String) -> String? { flat[key] }

    package init(from decoder: Decoder) throws {
        self.init(flat: try decoder.singleValueContainer().decode([String: String].self))
    }

    package func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(flat)
    }
}
