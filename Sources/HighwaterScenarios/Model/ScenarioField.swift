import HighwaterRecords

/// A setting a scenario can give, sweep or filter on, addressed by its dotted path (`executor.size`).
/// One table drives validation, did-you-mean suggestions and the documentation.
package struct ScenarioField: Sendable {
    package enum Kind: Sendable, Equatable {
        case text
        case choice([String])
        /// A whole number or an expression over `cores`, at least 1 once resolved.
        case count
        case integer(min: Int)
        case positiveNumber
        case bytes(positive: Bool)
        /// One size or a list of sizes.
        case byteList
        case duration
        case flag
        /// A value, or `unset` (or null) to leave the variable out of the child's environment.
        case environmentValue
        case absolutePath
        /// A command's words: a list, or one string split at spaces.
        case words
        /// Paths: a list, or one path.
        case paths
        /// `record --load` specs, each a string or a mapping of its parts (method, url, requests, …).
        case loadPhases

        /// Written as a list (or one value standing for a list of one).
        var isList: Bool { self == .words || self == .paths || self == .loadPhases }
    }

    package var path: String
    package var kind: Kind
    package var summary: String

    package static let all: [ScenarioField] = [
        .init(path: "executor.kind", kind: .choice(RunPlan.executorKinds), summary: "how requests are dispatched to handler threads"),
        .init(path: "executor.size", kind: .count, summary: "threads in the pool: a number, `cores` or `cores * 5`"),
        .init(path: "workload.name", kind: .choice(RunPlan.workloads), summary: "the handler to host"),
        .init(path: "workload.options.*", kind: .text, summary: "handler options; see `workloadOptions`"),
        .init(path: "environment.*", kind: .environmentValue, summary: "a variable for the child, or `unset`"),
        .init(path: "load.requests", kind: .integer(min: 1), summary: "requests to send"),
        .init(path: "load.concurrency", kind: .count, summary: "requests in flight at once"),
        .init(path: "load.rate", kind: .positiveNumber, summary: "requests per second; absent sends as fast as concurrency allows"),
        .init(path: "load.payload", kind: .byteList, summary: "request body size, or a list cycled through"),
        .init(path: "load.warmup", kind: .integer(min: 0), summary: "first requests whose growth does not count"),
        .init(path: "load.quick_requests", kind: .integer(min: 1), summary: "requests under `--quick`"),
        .init(path: "load.until", kind: .choice(loadUntil), summary: "`settled`: stop once the growth verdict has settled (load.requests and load.max_duration cap it)"),
        .init(path: "load.max_duration", kind: .duration, summary: "the longest `until: settled` sends (default 60s)"),
        .init(path: "verdict.min_seconds", kind: .integer(min: 0), summary: "whole seconds of wall time after the warm-up a growth verdict needs (default 10: jemalloc's decay time)"),
        .init(path: "storage.tmpfs", kind: .bytes(positive: true), summary: "a private tmpfs of this size as the temp dir"),
        .init(path: "storage.temp_dir", kind: .absolutePath, summary: "the temp dir to use instead of a tmpfs"),
        .init(path: "storage.spool_threshold", kind: .bytes(positive: false), summary: "bytes a spooled upload keeps in memory"),
        .init(path: "storage.destination_tmpfs", kind: .bytes(positive: true), summary: "a tmpfs of this size as the upload destination"),
        .init(path: "verdict.min_requests", kind: .integer(min: 1), summary: "requests after the warm-up a growth verdict needs (default 30)"),
        .init(path: "verdict.min_samples", kind: .integer(min: 0), summary: "sampler readings after the warm-up a growth verdict needs (default 10)"),
        .init(path: "verdict.plateau_share", kind: .positiveNumber, summary: "share of the run a plateau must hold for (default 0.2)"),
        .init(path: "sample_interval", kind: .duration, summary: "how often the sampler reads the child"),
        .init(path: "time_limit", kind: .duration, summary: "the longest one run may take; past it the child is stopped"),
        .init(path: "repeat", kind: .integer(min: 1), summary: "runs of each configuration, interleaved A B A B (default 1, at most 20)"),
        .init(path: "host.command", kind: .text, summary: "a host of your own (built on HighwaterHost's Host.main) to run the configurations under; relative to the scenario file"),
        .init(path: "host.package", kind: .text, summary: "a Swift package whose `host.product` Highwater builds (swift build -c release) and runs as the host; relative to the scenario file"),
        .init(path: "host.product", kind: .text, summary: "the executable product of `host.package`"),
        .init(path: "target.command", kind: .words, summary: "an external server's command (any language), started for each configuration and stopped after it"),
        .init(path: "target.parameters.*", kind: .text, summary: "a value for `{NAME}` in the command, environment, ready URL and load; a number may be written with `cores`"),
        .init(path: "target.ready", kind: .text, summary: "ready when a GET to this loopback URL answers (default: the first phase's server answering GET /)"),
        .init(path: "target.ready_log", kind: .text, summary: "ready when this regular expression matches a line of the target's output"),
        .init(path: "target.ready_timeout", kind: .duration, summary: "how long to wait for readiness (default 30s)"),
        .init(path: "target.load", kind: .loadPhases, summary: "load phases in sequence, each as `record --load` takes it or as a mapping"),
        .init(path: "target.watch_dirs", kind: .paths, summary: "directories whose filesystem is watched; the first is the temp dir (tmp_used)"),
        .init(path: "target.agent", kind: .flag, summary: "preload the allocation agent into the target (default false)"),
        .init(path: "target.grace", kind: .duration, summary: "after SIGTERM, how long the target may take to end before SIGKILL (default 5s)"),
    ]

    /// The settings of a server Highwater hosts, which an external target (`target:`) does not take.
    static let hostedOnlyPrefixes = ["executor.", "workload.", "load.", "storage.", "verdict.", "repeat", "host."]

    /// The parts a load phase written as a mapping may have, and the `record --load` key each becomes.
    package static let loadPhaseKeys: [(name: String, specKey: String?)] = [
        ("method", nil), ("url", nil), ("requests", "n"), ("concurrency", "c"), ("rate", "rate"), ("body", "body"),
        ("upload", "upload"), ("field", "field"),
    ]

    /// The options each workload reads (names the harness uses), with their kinds.
    package static let workloadOptions: [String: [(name: String, kind: Kind)]] = Dictionary(uniqueKeysWithValues:
        WorkloadKind.allCases.map { kind in (kind.rawValue, options(of: kind)) })

    /// One workload's options: switched over every kind, so a workload added to `WorkloadKind` must say its own.
    static func options(of kind: WorkloadKind) -> [(name: String, kind: Kind)] {
        switch kind {
        case .allocChurn: [("working_set", .bytes(positive: true)), ("chunk", .bytes(positive: true)), ("pin", .flag), ("trim", .flag)] + faults
        case .leak: [("bytes_per_request", .bytes(positive: true))] + faults
        case .sleep, .cpu: [("duration", .duration)] + faults
        case .uploadSpooled, .uploadStreamed: uploadOptions
        case .downloadChunked, .downloadSendfile, .downloadAccel: downloadOptions
        case .downstreamShared, .downstreamPerRequest: downstreamOptions
        }
    }

    /// The file served (generated at `file_size`, or a file of the user's) and the chunked path's read size.
    static let downloadOptions: [(name: String, kind: Kind)] = [
        ("file_size", .bytes(positive: true)), ("chunk", .bytes(positive: true)), ("file", .absolutePath),
    ]

    /// The downstream service the run starts (answer size, delay, faults) and the client's pool limit and deadline.
    static let downstreamOptions: [(name: String, kind: Kind)] = [
        ("response_size", .bytes(positive: true)), ("delay", .duration), ("pool_size", .integer(min: 1)),
        ("timeout", .duration), ("idle_timeout", .duration), ("downstream_fault", .choice(downstreamFaults)),
        ("fault_every", .integer(min: 1)),
    ]

    /// What the downstream service can be told to do wrong.
    package static let downstreamFaults = ["none", "stall", "reset"]

    /// How the load driver sends the file (`multipart` or `raw`), limits past which the host answers 413, and
    /// whether uploaded files stay in the destination.
    static let uploadOptions: [(name: String, kind: Kind)] = [
        ("encoding", .choice(uploadEncodings)), ("max_file", .bytes(positive: true)), ("max_body", .bytes(positive: true)), ("keep_files", .flag),
    ]

    /// How the load driver can send an upload's file.
    package static let uploadEncodings = ["multipart", "raw"]
    /// When a load may stop before its request count (`load.until`).
    package static let loadUntil = ["settled"]

    /// Faults any compute handler can be told to show: every Nth request throws (500), or the host
    /// aborts at request N (a crashed child).
    static let faults: [(name: String, kind: Kind)] = [("fail_every", .integer(min: 1)), ("crash_at", .integer(min: 0))]

    /// Every known option, whatever the workload, so a value can be checked before the workload is known.
    static let anyWorkloadOption: [String: Kind] = {
        var all: [String: Kind] = [:]
        for options in workloadOptions.values { for o in options { all[o.name] = o.kind } }
        return all
    }()

    /// The field at a dotted path, with the option's own kind for `workload.options.NAME`.
    package static func lookup(_ path: String) -> ScenarioField? {
        if let exact = all.first(where: { $0.path == path }) { return exact }
        if path.hasPrefix("environment."), path.count > "environment.".count {
            return all.first { $0.path == "environment.*" }
        }
        if path.hasPrefix("target.parameters."), path.count > "target.parameters.".count {
            return all.first { $0.path == "target.parameters.*" }
        }
        if path.hasPrefix("workload.options."), let kind = anyWorkloadOption[String(path.dropFirst("workload.options.".count))] {
            return ScenarioField(path: path, kind: kind, summary: "workload option")
        }
        return nil
    }

    /// Paths to suggest for a misspelt one.
    static var knownPaths: [String] {
        all.map(\.path).filter { !$0.hasSuffix("*") } + anyWorkloadOption.keys.sorted().map { "workload.options." + $0 }
    }

    /// Checks a written value; returns it in the form the plan stores (sizes as written, flags as
    /// `true`/`false`), `nil` for unset, or a problem and a hint.
    static func check(_ text: String, kind: Kind, path: String) -> Result<String?, ValueProblem> {
        let name = path.split(separator: ".").last.map(String.init) ?? path
        switch kind {
        case .text:
            return .success(text)
        case .choice(let choices):
            if choices.contains(text) { return .success(text) }
            let near = ScenarioDiagnostic.suggestion(for: text, among: choices).map { "did you mean `\($0)`? " } ?? ""
            return .failure(.init("unknown \(name) `\(text)`", hint: near + "one of: " + choices.joined(separator: ", ")))
        case .count:
            guard let expression = CountExpression(text) else {
                return .failure(.init("`\(text)` is not a count", hint: "write a whole number, `cores`, or an expression like `cores * 5`"))
            }
            if !expression.usesCores {
                guard let n = expression.value(cores: 1), n <= InputLimits.maxThreads else {
                    return .failure(tooLarge(name, text, largest: "\(InputLimits.maxThreads)", why: "Linux's PID_MAX_LIMIT, the most threads a machine can run"))
                }
                if n < 1 {
                    return .failure(.init("impossible \(name) \(text): it must be at least 1", hint: "a pool or a load needs at least one thread or request in flight"))
                }
            }
            return .success(text)
        case .integer(let minimum):
            let digits = text.filter { $0 != "_" }
            let largest = maximum(for: path)
            guard let n = Int(digits) else {
                if !digits.isEmpty, digits.drop(while: { $0 == "-" || $0 == "+" }).allSatisfy({ $0.isASCII && $0.isNumber }), !digits.hasPrefix("-") {
                    return .failure(tooLarge(name, text, largest: "\(largest)", why: nil))
                }
                // `cores * N` is a count elsewhere (executor.size of a scenario); here the number itself is needed.
                if let expression = CountExpression(text), expression.usesCores {
                    return .failure(.init("`\(text)` is an expression of this machine's cores; \(name) here takes a plain whole number",
                                          hint: "write \(name) as digits (the workers of the machine the limits are for), e.g. 40"))
                }
                return .failure(.init("`\(text)` is not a whole number", hint: "write \(name) as digits, e.g. 2000"))
            }
            if n < minimum { return .failure(.init("impossible \(name) \(n): it must be at least \(minimum)", hint: nil)) }
            if n > largest { return .failure(tooLarge(name, text, largest: "\(largest)", why: nil)) }
            return .success(String(n))
        case .positiveNumber:
            guard let x = Double(text), x.isFinite else {
                return .failure(.init("`\(text)` is not a number", hint: "write \(name) as a number, e.g. 100"))
            }
            if x <= 0 { return .failure(.init("impossible \(name) \(text): it must be more than 0", hint: "leave \(name) out to send as fast as concurrency allows")) }
            return .success(text)
        case .bytes(let positive):
            if text.trimmingPrefixSpaces.hasPrefix("-") {
                return .failure(.init("impossible \(name) \(text): a size cannot be negative", hint: nil))
            }
            guard let magnitude = Quantity.byteMagnitude(text) else {
                return .failure(.init("`\(text)` is not a size", hint: "write a size with a unit: 64 MiB, 1 GiB, 512 KiB, 10 MB, or bytes as digits"))
            }
            if magnitude > Double(InputLimits.maxBytes) {
                return .failure(tooLarge(name, text, largest: Quantity.formatBytes(InputLimits.maxBytes), why: nil))
            }
            if positive && magnitude == 0 { return .failure(.init("impossible \(name) 0: it must be more than 0 bytes", hint: nil)) }
            return .success(text)
        case .byteList:
            return check(text, kind: .bytes(positive: false), path: path)
        case .duration:
            if text.trimmingPrefixSpaces.hasPrefix("-") {
                return .failure(.init("impossible \(name) \(text): a duration cannot be negative", hint: nil))
            }
            guard let ns = Quantity.durationMagnitude(text) else {
                return .failure(.init("`\(text)` is not a duration", hint: "write a duration with a unit: 5ms, 250 us, 2s"))
            }
            if ns > Double(InputLimits.maxNanoseconds) {
                return .failure(tooLarge(name, text, largest: "7 days", why: nil))
            }
            if ns == 0 { return .failure(.init("impossible \(name) \(text): it must be longer than 0", hint: nil)) }
            return .success(text)
        case .flag:
            switch text.lowercased() {
            case "true", "yes", "on": return .success("true")
            case "false", "no", "off": return .success("false")
            default: return .failure(.init("`\(text)` is not true or false", hint: "write \(name): true or \(name): false"))
            }
        case .environmentValue:
            if let problem = environmentNameProblem(path) { return .failure(problem) }
            if text.contains("\0") {
                return .failure(.init("the value of \(name) holds a NUL character", hint: "an environment value ends at the first NUL; remove it"))
            }
            return .success(text == "unset" ? nil : text)
        case .absolutePath:
            if text.hasPrefix("/") { return .success(text) }
            return .failure(.init("`\(text)` is not an absolute path", hint: "write a path starting with /"))
        case .words, .paths, .loadPhases:
            if text.isEmpty { return .failure(.init("`\(path)` is empty", hint: "give a value or remove the key")) }
            return .success(text)
        }
    }
}

extension ScenarioField {
    /// The largest whole number a path takes: threads and uploads in flight are bounded by Linux, the rest by requests.
    static func maximum(for path: String) -> Int {
        let name = path.split(separator: ".").last.map(String.init) ?? path
        if path == "repeat" { return Scenario.maxRepeats }
        return ["size", "concurrency", "concurrent"].contains(name) ? InputLimits.maxThreads : InputLimits.maxRequests
    }

    static func tooLarge(_ name: String, _ text: String, largest: String, why: String?) -> ValueProblem {
        .init("\(name) `\(text)` is too large: the largest accepted is \(largest)" + (why.map { " (\($0))" } ?? ""),
              hint: "write a value of at most \(largest)")
    }

    /// `environment.NAME`: a name with `=` would put the rest into the value, and NUL would cut it short.
    static func environmentNameProblem(_ path: String) -> ValueProblem? {
        let key = path.hasPrefix("environment.") ? String(path.dropFirst("environment.".count)) : path
        if key.contains("=") {
            return .init("environment variable name `\(key)` contains `=`", hint: "a name ends at the first `=`; write `NAME: value`")
        }
        if key.contains("\0") || key.isEmpty {
            return .init("environment variable name `\(key)` is empty or holds a NUL character", hint: "write `NAME: value` with a plain name")
        }
        return nil
    }
}

struct ValueProblem: Error {
    var message: String
    var hint: String?
    init(_ message: String, hint: String?) { self.message = message; self.hint = hint }
}

extension String {
    var trimmingPrefixSpaces: Substring { drop(while: { $0 == " " }) }
}
