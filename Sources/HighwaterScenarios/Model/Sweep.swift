import HighwaterRecords
import HighwaterSystem

/// One swept setting: every value it takes.
struct SweepAxis: Sendable {
    var path: String
    var values: [Setting]
}

/// A named configuration in `variants`: settings that differ from the scenario's, and an optional sweep of its own.
struct Variant: Sendable {
    var label: String?
    var settings: [Setting]
    var sweep: [SweepAxis]
}

/// The runs of a scenario: every variant (or the scenario alone) times the cross product of its sweep axes,
/// each with a readable label that is unique within the scenario.
enum Sweep {
    struct Point {
        var variantLabel: String?
        /// Settings from the variant itself, then from sweeps, in the order written.
        var variantSettings: [Setting]
        var sweptSettings: [Setting]
        var overrides: [Setting] { variantSettings + sweptSettings }
    }

    /// How many points `points` would make, counted without making them; saturates at Int.max.
    static func count(variants: [Variant], sweep: [SweepAxis]) -> Int {
        func product(_ axes: [SweepAxis]) -> Int {
            axes.reduce(1) { n, axis in
                let (p, overflow) = n.multipliedReportingOverflow(by: axis.values.count)
                return overflow ? Int.max : p
            }
        }
        let outer = product(sweep)
        return (variants.isEmpty ? [Variant(label: nil, settings: [], sweep: [])] : variants).reduce(0) { total, variant in
            let (inner, o1) = product(variant.sweep).multipliedReportingOverflow(by: outer)
            let (sum, o2) = total.addingReportingOverflow(inner)
            return o1 || o2 ? Int.max : sum
        }
    }

    static func points(variants: [Variant], sweep: [SweepAxis]) -> [Point] {
        let outer = crossProduct(sweep)
        var points: [Point] = []
        for variant in variants.isEmpty ? [Variant(label: nil, settings: [], sweep: [])] : variants {
            for inner in crossProduct(variant.sweep) {
                for o in outer {
                    points.append(Point(variantLabel: variant.label, variantSettings: variant.settings, sweptSettings: inner + o))
                }
            }
        }
        return points
    }

    static func crossProduct(_ axes: [SweepAxis]) -> [[Setting]] {
        axes.reduce([[]]) { partial, axis in
            partial.flatMap { prefix in axis.values.map { prefix + [$0] } }
        }
    }

    /// Labels such as `eager-40`, `eager-40-arena2`, `lazy-40-c1`, `upload-spooled-64MiB`: only the settings that
    /// differ between runs are named, so the label says what this run changes.
    static func labels(for points: [Point], base: [String: Setting]) -> [String] {
        func merged(_ p: Point) -> [String: Setting] {
            var m = base
            for s in p.overrides { m[s.path] = s }
            return m
        }
        let all = points.map(merged)
        let varying = Set(all.flatMap(\.keys)).filter { path in Set(all.map { $0[path]?.written ?? "" }).count > 1 }

        var seen: [String: Int] = [:]
        return points.enumerated().map { index, point in
            let settings = all[index]
            var parts: [String] = []
            if varying.contains("executor.kind") || varying.contains("executor.size") {
                parts.append([settings["executor.kind"]?.written, settings["executor.size"].map { CountExpression($0.written)?.label ?? $0.written }]
                    .compactMap { $0 }.joined(separator: "-"))
            }
            let named = point.variantLabel != nil ? point.sweptSettings : point.overrides
            if let label = point.variantLabel { parts = [label] }
            for s in named where varying.contains(s.path) && !s.path.hasPrefix("executor.") {
                if let token = token(for: s) { parts.append(token) }
            }
            var label = sanitize(parts.filter { !$0.isEmpty }.joined(separator: "-"))
            if label.isEmpty { label = "default" }
            let count = seen[label, default: 0] + 1
            seen[label] = count
            return count == 1 ? label : "\(label)-\(count)"
        }
    }

    private static func token(for s: Setting) -> String? {
        let name = s.path.split(separator: ".").last.map(String.init) ?? s.path
        let v = s.written.filter { $0 != " " }
        if case .unset = s.value { return nil }
        switch s.path {
        case "environment.MALLOC_ARENA_MAX": return "arena" + v
        // A route of the user's host (`/resize`) is named without its slash.
        case "workload.name": return String(v.drop { $0 == "/" })
        case "load.payload": return v
        case "load.concurrency": return "c" + (CountExpression(s.written)?.label ?? v)
        case "load.requests": return "n" + v
        case "load.rate": return v + "rps"
        case "storage.spool_threshold": return "spool-" + v
        case "storage.tmpfs": return "tmpfs-" + v
        default:
            if s.path.hasPrefix("environment.") { return name.lowercased().replacingUnderscores + "-" + v }
            if s.path.hasPrefix("target.parameters.") { return name.replacingUnderscores + "-" + (CountExpression(s.written)?.label ?? v) }
            if v == "true" { return name.replacingUnderscores }
            if v == "false" { return "no-" + name.replacingUnderscores }
            return name.replacingUnderscores + "-" + v
        }
    }

    /// Labels become folder names and filter patterns: keep them to safe characters.
    private static func sanitize(_ label: String) -> String {
        String(label.map { $0.isLetter || $0.isNumber || "-_.+=".contains($0) ? $0 : "-" })
    }
}

extension String {
    var replacingUnderscores: String { String(map { $0 == "_" ? "-" : $0 }) }
}

/// Turns the merged settings of one point into a `RunPlan`, reporting impossible combinations at the value
/// that causes them.
struct PlanBuilder {
    var scenario: String
    var cores: Int
    /// The scenario file's directory: a host's command or package is written relative to it.
    var directory: String = "."

    func build(_ settings: [String: Setting], config: String, sink: inout DiagnosticSink) -> (RunPlan, quick: Int)? {
        let before = sink.diagnostics.count
        func value(_ path: String) -> String? {
            if case .value(let v)? = settings[path]?.value { return v }
            return nil
        }
        func count(_ path: String, default fallback: String) -> Int {
            let written = value(path) ?? fallback
            guard let n = CountExpression(written)?.value(cores: cores), n <= InputLimits.maxThreads else {
                sink.error("\(path) \(written) is too large on this machine (\(cores) cores): the largest accepted is \(InputLimits.maxThreads)",
                           at: settings[path]?.location, hint: "Linux cannot run more threads than its PID_MAX_LIMIT; use a smaller factor")
                return 1
            }
            if n < 1 {
                sink.error("impossible \(path) \(written) = \(n) on this machine (\(cores) cores): it must be at least 1",
                           at: settings[path]?.location, hint: "use a larger factor or a plain number")
            }
            return max(1, n)
        }
        func bytes(_ path: String) -> UInt64? { value(path).flatMap(Quantity.bytes) }

        guard let kind = value("executor.kind") else {
            sink.error("missing `executor.kind`", at: nil, hint: "add `executor: {kind: eager, size: 40}`; kinds: " + RunPlan.executorKinds.joined(separator: ", "))
            return nil
        }
        let host = hostProgram(settings, sink: &sink)
        guard let workloadName = value("workload.name") else {
            sink.error("missing `workload.name`", at: nil, hint: host != nil ? "add `workload: {name: ROUTE}`, a route your host serves"
                : "add `workload: {name: alloc-churn}`; workloads: " + RunPlan.workloads.joined(separator: ", "))
            return nil
        }
        if host == nil, case .failure(let p) = ScenarioField.check(workloadName, kind: .choice(RunPlan.workloads), path: "workload.name") {
            // Reachable when another configuration of the file names a host of its own and this one does not.
            sink.error(p.message, at: settings["workload.name"]?.location, hint: p.hint)
        }
        if host != nil, let option = settings.first(where: { $0.key.hasPrefix("workload.options.") }) {
            sink.error("a host of your own takes no workload options (`\(option.key)`)", at: option.value.location,
                       hint: "your handlers read their own configuration; remove it, or set it in the host's `environment`")
        }
        guard let requestsText = value("load.requests"), let requests = Int(requestsText) else {
            sink.error("missing `load.requests`", at: nil, hint: "add `load: {requests: 2000, concurrency: 1}`")
            return nil
        }

        var options: [String: String] = [:]
        let known = ScenarioField.workloadOptions[workloadName] ?? []
        for (path, setting) in settings where host == nil && path.hasPrefix("workload.options.") {
            let name = String(path.dropFirst("workload.options.".count))
            guard known.contains(where: { $0.name == name }) else {
                let near = ScenarioDiagnostic.suggestion(for: name, among: known.map(\.name)).map { "did you mean `\($0)`? " } ?? ""
                sink.error("workload `\(workloadName)` has no option `\(name)`", at: setting.location,
                           hint: near + (known.isEmpty ? "it takes no options" : "its options: " + known.map(\.name).joined(separator: ", ")))
                continue
            }
            if case .value(let v) = setting.value { options[name] = v }
        }
        var environment: [String: String] = [:]
        for (path, setting) in settings where path.hasPrefix("environment.") {
            if case .value(let v) = setting.value { environment[String(path.dropFirst("environment.".count))] = v }
        }

        let concurrency = count("load.concurrency", default: "1")
        let warmup = value("load.warmup").flatMap { Int($0) } ?? min(1, requests - 1)
        if warmup >= requests {
            sink.error("impossible load.warmup \(warmup): it must be less than load.requests (\(requests))", at: settings["load.warmup"]?.location,
                       hint: "warm-up requests are not measured; leave some to measure")
        }
        var payload: [UInt64] = []
        switch settings["load.payload"]?.value {
        case .value(let v)?: payload = Quantity.bytes(v).map { [$0] } ?? []
        case .list(let l)?: payload = l.compactMap(Quantity.bytes)
        default: break
        }
        if host == nil, WorkloadKind.family(named: workloadName) == .upload, payload.isEmpty {
            sink.error("workload `\(workloadName)` needs `load.payload`", at: settings["workload.name"]?.location,
                       hint: "give the upload size, e.g. `load: {payload: 10 MB}`, or sweep it")
        }
        if settings["storage.tmpfs"] != nil, let dir = settings["storage.temp_dir"] {
            sink.error("`storage.temp_dir` and `storage.tmpfs` both set", at: dir.location,
                       hint: "a tmpfs is mounted as the temp dir; give one or the other")
        }
        let quick = value("load.quick_requests").flatMap { Int($0) } ?? Scenario.defaultQuickRequests(requests)
        if quick > requests {
            sink.error("load.quick_requests \(quick) is more than load.requests \(requests)", at: settings["load.quick_requests"]?.location,
                       hint: "--quick makes a shorter run, not a longer one")
        }
        let repeats = value("repeat").flatMap { Int($0) } ?? 1
        if repeats > Scenario.maxRepeats {
            sink.error("repeat \(repeats) is too large: the largest accepted is \(Scenario.maxRepeats)", at: settings["repeat"]?.location,
                       hint: "a few interleaved repetitions show the spread; more only lengthen the run")
        }
        guard sink.diagnostics.count == before else { return nil }

        let maxNs: UInt64? = value("load.max_duration").flatMap(Quantity.nanoseconds)
        let load = RunPlan.Load(requests: requests, concurrency: concurrency, rate: value("load.rate").flatMap(Double.init),
                                payloadBytes: payload, until: value("load.until"), maxSeconds: maxNs.map { Double($0) / 1e9 })
        var plan = RunPlan(
            scenario: scenario, config: config,
            executor: .init(kind: kind, size: count("executor.size", default: "cores")),
            workload: .init(name: workloadName, options: options),
            environment: environment,
            load: load,
            storage: .init(tmpfsBytes: bytes("storage.tmpfs"), tempDir: value("storage.temp_dir"),
                           spoolThreshold: bytes("storage.spool_threshold"), destinationTmpfsBytes: bytes("storage.destination_tmpfs")),
            warmup: warmup,
            sampleIntervalNs: value("sample_interval").flatMap(Quantity.nanoseconds) ?? 10_000_000,
            timeLimitNs: value("time_limit").flatMap(Quantity.nanoseconds))
        if repeats > 1 { plan.repeats = repeats }
        plan.host = host
        var minimums = GrowthMinimums()
        if let v = value("verdict.min_requests").flatMap({ Int($0) }) { minimums.requests = v }
        if let v = value("verdict.min_samples").flatMap({ Int($0) }) { minimums.samples = v }
        if let v = value("verdict.plateau_share").flatMap({ Double($0) }) { minimums.plateauShare = v }
        if let v = value("verdict.min_seconds").flatMap({ Double($0) }) { minimums.seconds = v }
        var planned = plan
        if minimums != GrowthMinimums() { planned.minimums = minimums }
        return (planned, quick)
    }
}

extension PlanBuilder {
    /// The host of the user's own a configuration names, its paths made absolute against the scenario's directory;
    /// nil for Highwater's built-in host, or with a diagnostic when it is named half or twice.
    func hostProgram(_ settings: [String: Setting], sink: inout DiagnosticSink) -> HostProgram? {
        func value(_ path: String) -> (String, SourceLocation)? {
            guard let s = settings[path], case .value(let v) = s.value else { return nil }
            return (v, s.location)
        }
        let (command, package, product) = (value("host.command"), value("host.package"), value("host.product"))
        switch (command, package, product) {
        case (nil, nil, nil):
            return nil
        case (let c?, nil, nil):
            return HostProgram(command: absolute(c.0))
        case (nil, let d?, let p?):
            return HostProgram(package: absolute(d.0), product: p.0)
        case (let c?, _, _):
            sink.error("`host.command` and `host.package` both set", at: c.1,
                       hint: "a host is either a built executable (`host: {command: PATH}`) or a package to build (`host: {package: DIR, product: NAME}`)")
        case (nil, let d?, nil):
            sink.error("`host.package` needs `host.product`", at: d.1, hint: "name the executable product to build: `host: {package: \(d.0), product: NAME}`")
        case (nil, nil, let p?):
            sink.error("`host.product` needs `host.package`", at: p.1, hint: "name the package directory: `host: {package: DIR, product: \(p.0)}`")
        }
        return nil
    }

    private func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        let joined = directory == "." ? path : directory + "/" + path
        return joined.hasPrefix("/") ? joined : FileTree.currentDirectory + "/" + joined
    }
}
