import HighwaterRecords
import HighwaterSystem

/// Reads scenario files into `Scenario`s, reporting every problem of every file at once as
/// `file:line:column: error: …` before anything runs.
package struct ScenarioLoader: Sendable {
    /// CPUs of the machine the runs will use, for sizes written as `cores * 5`.
    package var cores: Int

    package init(cores: Int) { self.cores = max(1, cores) }

    static let topLevelKeys = ["name", "description", "executor", "workload", "environment", "load", "storage",
                               "verdict", "sample_interval", "time_limit", "repeat", "host", "target", "sweep", "variants", "expect"]
    /// Keys that hold a mapping of settings, not a value.
    static let groups = ["executor", "workload", "workload.options", "environment", "load", "storage", "verdict", "host", "target", "target.parameters"]
    /// Set while compiling a scenario that names a host of its own: its workloads are that host's routes, any name.
    var hostsOwnRoutes = false

    /// The scenario files of a directory (`*.yaml`, `*.yml`), sorted.
    package static func scenarioFiles(in directory: String) throws -> [String] {
        try TextFile.list(directory, suffixes: [".yaml", ".yml"])
    }

    /// Loads files and directories (every scenario file in them); throws all diagnostics of all files together.
    package func load(paths: [String]) throws(ScenarioLoadError) -> [Scenario] {
        var scenarios: [Scenario] = []
        var diagnostics: [ScenarioDiagnostic] = []
        for path in paths {
            var files = [path]
            if TextFile.isDirectory(path) {
                do { files = try TextFile.list(path, suffixes: [".yaml", ".yml"]) } catch {
                    diagnostics.append(.init(location: .init(file: path, line: 1, column: 1), message: error.description))
                    continue
                }
            }
            // Ctrl-C or SIGTERM while planning: stop at once (the caller says so); what was read is dropped.
            for file in files where !Interruption.requested {
                do { scenarios.append(try load(path: file)) } catch { diagnostics += error.diagnostics }
            }
        }
        var names: [String: String] = [:]
        for s in scenarios {
            if let other = names[s.name] {
                diagnostics.append(.init(location: .init(file: s.file, line: 1, column: 1),
                                         message: "scenario name `\(s.name)` is also used by \(other)",
                                         hint: "results are stored by scenario name; give each file its own `name`"))
            }
            names[s.name] = s.file
        }
        if !diagnostics.isEmpty { throw ScenarioLoadError(diagnostics) }
        return scenarios
    }

    package func load(path: String) throws(ScenarioLoadError) -> Scenario {
        let text: String
        do { text = try TextFile.read(path) } catch {
            throw ScenarioLoadError([.init(location: .init(file: path, line: 1, column: 1), message: error.description)])
        }
        return try load(text: text, file: path)
    }

    package func load(text: String, file: String) throws(ScenarioLoadError) -> Scenario {
        var sink = DiagnosticSink(file: file, text: text)
        var loader = self
        loader.hostsOwnRoutes = Self.namesOwnHost(text)
        let scenario = loader.compile(text: text, sink: &sink)
        if let scenario, sink.diagnostics.isEmpty { return scenario }
        throw ScenarioLoadError(sink.sorted)
    }

    /// Whether the file names a host of its own (`host:` at the top, in a variant or a sweep), read before its values
    /// are checked: a workload's name is then a route of that host, not one of Highwater's workloads.
    static func namesOwnHost(_ text: String) -> Bool {
        var probe = DiagnosticSink(file: "", text: text)
        guard case .map(let entries, _)? = ConfigNode.parse(text, sink: &probe) else { return false }
        func names(_ node: ConfigNode) -> Bool {
            switch node {
            case .map(let inner, _): return inner.contains { $0.key == "host" || $0.key.hasPrefix("host.") || names($0.value) }
            case .list(let items, _): return items.contains(where: names)
            case .scalar: return false
            }
        }
        return entries.contains { $0.key == "host" || (["variants", "sweep"].contains($0.key) && names($0.value)) }
    }

    private func compile(text: String, sink: inout DiagnosticSink) -> Scenario? {
        guard let root = ConfigNode.parse(text, sink: &sink) else { return nil }
        guard case .map(let entries, _) = root else {
            sink.error("a scenario file must be a mapping of keys, found \(root.kindName)", at: root.location,
                       hint: "start with `name: my-scenario`")
            return nil
        }
        let stem = String(sink.file.split(separator: "/").last ?? "scenario").split(separator: ".").first.map(String.init) ?? "scenario"
        var name = stem
        var description = ""
        var base: [String: Setting] = [:]
        var sweep: [SweepAxis] = []
        var variants: [Variant] = []
        var expectNode: ConfigNode?

        for entry in entries {
            switch entry.key {
            case "name":
                if let s = scalar(entry, sink: &sink) {
                    if s.isEmpty || !s.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) {
                        sink.error("scenario name `\(s)` must be letters, digits, `-`, `_` or `.`", at: entry.value.location,
                                   hint: "it names the results folder, e.g. `threadpool-growth`")
                    } else { name = s }
                }
            case "description":
                description = scalar(entry, sink: &sink) ?? ""
            case "sweep":
                sweep = readSweep(entry, sink: &sink)
            case "variants":
                variants = readVariants(entry, sink: &sink)
            case "expect":
                expectNode = entry.value
            case let key where Self.topLevelKeys.contains(key):
                for s in settings(entry.value, path: key, keyLocation: entry.keyLocation, sink: &sink) { base[s.path] = s }
            default:
                let near = ScenarioDiagnostic.suggestion(for: entry.key, among: Self.topLevelKeys).map { "did you mean `\($0)`? " } ?? ""
                sink.error("unknown key `\(entry.key)`", at: entry.keyLocation, hint: near + "keys: " + Self.topLevelKeys.joined(separator: ", "))
            }
        }

        for axis in sweep where variants.contains(where: { $0.sweep.contains { $0.path == axis.path } }) {
            sink.error("`\(axis.path)` is swept both in `sweep` and in a variant", at: axis.values.first?.location, hint: "sweep it in one place")
        }

        // Counted before any is made: the cross product of three 1000-value lists would not fit in memory.
        let configurations = Sweep.count(variants: variants, sweep: sweep)
        if configurations > Scenario.maxConfigurations {
            let axes = (sweep + variants.flatMap(\.sweep)).map { "\($0.path) (\($0.values.count))" }.joined(separator: " × ")
            sink.error("the sweep makes \(configurations == Int.max ? "more than \(Int.max)" : "\(configurations)") configurations: the largest accepted is \(Scenario.maxConfigurations)",
                       at: sweep.first?.values.first?.location ?? variants.first?.sweep.first?.values.first?.location,
                       hint: "sweep fewer values (\(axes)), or split the scenario into several files")
        }
        guard sink.diagnostics.isEmpty else { return nil }
        let points = Sweep.points(variants: variants, sweep: sweep)
        let labels = Sweep.labels(for: points, base: base)
        let isExternal = (Array(base.keys) + points.flatMap { $0.overrides.map(\.path) }).contains { $0.hasPrefix("target.") }
        if isExternal {
            let builder = ExternalPlanBuilder(scenario: name, cores: cores, scenarioDirectory: FileTree.directory(of: sink.file),
                                              configurations: points.count)
            var external: [ExternalConfiguration] = []
            for (point, label) in zip(points, labels) where !Interruption.requested {
                if let built = builder.build(point.overrides.reduce(into: base) { $0[$1.path] = $1 }, config: label, sink: &sink) {
                    external.append(built)
                }
            }
            let expectations = expectNode.map { readExpectations($0, labels: labels, sink: &sink) } ?? []
            guard sink.diagnostics.isEmpty else { return nil }
            return Scenario(name: name, description: description, file: sink.file, plans: [], quickRequests: [],
                            expectations: expectations, external: external)
        }
        let builder = PlanBuilder(scenario: name, cores: cores, directory: FileTree.directory(of: sink.file))
        var plans: [RunPlan] = []
        var quick: [Int] = []
        for (point, label) in zip(points, labels) where !Interruption.requested {
            var merged = base
            for s in point.overrides { merged[s.path] = s }
            if let (plan, q) = builder.build(merged, config: label, sink: &sink) {
                plans.append(plan); quick.append(q)
            }
        }
        let expectations = expectNode.map { readExpectations($0, labels: labels, sink: &sink) } ?? []
        guard sink.diagnostics.isEmpty else { return nil }
        return Scenario(name: name, description: description, file: sink.file, plans: plans, quickRequests: quick, expectations: expectations)
    }

    private func scalar(_ entry: ConfigNode.Entry, sink: inout DiagnosticSink) -> String? {
        guard let s = entry.value.scalarText else {
            sink.error("`\(entry.key)` must be a single value, found \(entry.value.kindName)", at: entry.value.location)
            return nil
        }
        return s
    }

    /// Flattens nested mappings into dotted settings (`load: {requests: 10}` is `load.requests`), checking each value.
    func settings(_ node: ConfigNode, path: String, keyLocation: SourceLocation, sink: inout DiagnosticSink) -> [Setting] {
        if case .map(let entries, _) = node, ScenarioField.lookup(path) == nil {
            var result: [Setting] = []
            for entry in entries {
                result += settings(entry.value, path: path.isEmpty ? entry.key : path + "." + entry.key, keyLocation: entry.keyLocation, sink: &sink)
            }
            return result
        }
        guard let field = field(at: path, keyLocation: keyLocation, node: node, sink: &sink) else { return [] }
        return value(node, field: field, path: path, sink: &sink).map { [$0] } ?? []
    }

    /// The field for a path, or a diagnostic: unknown key with a suggestion, or a group given a value.
    private func field(at path: String, keyLocation: SourceLocation, node: ConfigNode, sink: inout DiagnosticSink) -> ScenarioField? {
        if hostsOwnRoutes, path == "workload.name" {
            return ScenarioField(path: path, kind: .text, summary: "a route of the scenario's own host")
        }
        if let field = ScenarioField.lookup(path) { return field }
        if Self.groups.contains(path) {
            let example = path == "executor" ? "executor: {kind: eager, size: 40}" : path == "workload" ? "workload: {name: alloc-churn}"
                : path == "load" ? "load: {requests: 2000, concurrency: 1}"
                : path == "target" ? "target: {command: [python3, server.py], load: [GET http://127.0.0.1:8000/ n=100]}" : "\(path): {NAME: VALUE}"
            sink.error("`\(path)` must be a mapping, found \(node.kindName)", at: node.location, hint: "e.g. `\(example)`")
            return nil
        }
        let key = String(path.split(separator: ".").last ?? "")
        if path.hasPrefix("workload.options.") {
            let options = ScenarioField.anyWorkloadOption.keys.sorted()
            let near = ScenarioDiagnostic.suggestion(for: key, among: options).map { "did you mean `\($0)`? " } ?? ""
            sink.error("unknown workload option `\(key)`", at: keyLocation, hint: near + "options: " + options.joined(separator: ", "))
            return nil
        }
        let near = ScenarioDiagnostic.suggestion(for: path, among: ScenarioField.knownPaths)
            ?? ScenarioDiagnostic.suggestion(for: key, among: ScenarioField.knownPaths.map { String($0.split(separator: ".").last!) })
                .flatMap { k in ScenarioField.knownPaths.first { $0.hasSuffix("." + k) || $0 == k } }
        sink.error("unknown key `\(path)`", at: keyLocation,
                   hint: near.map { "did you mean `\($0)`?" } ?? "settings: " + ScenarioField.knownPaths.joined(separator: ", "))
        return nil
    }

    private func value(_ node: ConfigNode, field: ScenarioField, path: String, sink: inout DiagnosticSink) -> Setting? {
        switch node {
        case .scalar(_, true, let loc):
            if field.kind == .environmentValue {
                if let p = ScenarioField.environmentNameProblem(path) { sink.error(p.message, at: loc, hint: p.hint); return nil }
                return Setting(path: path, value: .unset, location: loc)
            }
            sink.error("`\(path)` has no value", at: loc, hint: "give a value or remove the key")
            return nil
        case .scalar(let text, false, let loc) where field.kind.isList:
            let items = field.kind == .words ? text.split(whereSeparator: \.isWhitespace).map(String.init) : [text]
            if items.isEmpty { sink.error("`\(path)` is empty", at: loc, hint: "give a value or remove the key"); return nil }
            return Setting(path: path, value: .list(items), location: loc, itemLocations: items.map { _ in loc })
        case .list(let items, let loc) where field.kind.isList:
            var texts: [String] = []
            var locations: [SourceLocation] = []
            for item in items {
                if field.kind == .loadPhases, case .map(let entries, let at) = item {
                    if let spec = ExternalPlanBuilder.phaseSpec(entries, at: at, sink: &sink) { texts.append(spec); locations.append(at) }
                } else if let text = item.scalarText {
                    texts.append(text); locations.append(item.location)
                } else {
                    sink.error("`\(path)` must list \(field.kind == .loadPhases ? "load phases (text or mappings)" : "text"), found \(item.kindName)",
                               at: item.location)
                }
            }
            if items.isEmpty { sink.error("`\(path)` is an empty list", at: loc, hint: "give at least one, or remove the key"); return nil }
            return Setting(path: path, value: .list(texts), location: loc, itemLocations: locations)
        case .scalar(let text, false, let loc):
            switch ScenarioField.check(text, kind: field.kind, path: path) {
            case .success(let v?): return Setting(path: path, value: .value(v), location: loc)
            case .success(nil): return Setting(path: path, value: .unset, location: loc)
            case .failure(let p): sink.error(p.message, at: loc, hint: p.hint); return nil
            }
        case .list(let items, let loc) where field.kind == .byteList:
            var sizes: [String] = []
            for item in items {
                guard let text = item.scalarText else {
                    sink.error("`\(path)` must list sizes, found \(item.kindName)", at: item.location); continue
                }
                switch ScenarioField.check(text, kind: .bytes(positive: false), path: path) {
                case .success(let v): sizes.append(v ?? text)
                case .failure(let p): sink.error(p.message, at: item.location, hint: p.hint)
                }
            }
            if items.isEmpty { sink.error("`\(path)` is an empty list", at: loc, hint: "give at least one size, or remove the key") }
            return Setting(path: path, value: .list(sizes), location: loc)
        case .list(_, let loc), .map(_, let loc):
            sink.error("`\(path)` must be a single value, found \(node.kindName)", at: loc,
                       hint: node.isList ? "to run each value, move it under `sweep:`" : nil)
            return nil
        }
    }

    private func readSweep(_ entry: ConfigNode.Entry, sink: inout DiagnosticSink) -> [SweepAxis] {
        guard case .map(let entries, _) = entry.value else {
            sink.error("`sweep` must map settings to lists of values, found \(entry.value.kindName)", at: entry.value.location,
                       hint: "e.g. `sweep: {executor.size: [1, 2, 40]}`")
            return []
        }
        var axes: [SweepAxis] = []
        func walk(_ node: ConfigNode, path: String, keyLocation: SourceLocation) {
            if case .map(let inner, _) = node, ScenarioField.lookup(path) == nil, !path.isEmpty, Self.groups.contains(path) || path.contains(".") == false {
                for e in inner { walk(e.value, path: path + "." + e.key, keyLocation: e.keyLocation) }
                return
            }
            guard let field = field(at: path, keyLocation: keyLocation, node: node, sink: &sink) else { return }
            guard case .list(let items, let loc) = node else {
                sink.error("a sweep over `\(path)` needs a list of values, found \(node.kindName)", at: node.location,
                           hint: "e.g. `\(path): [\(node.scalarText ?? "a"), …]`, or set it outside `sweep`")
                return
            }
            if items.isEmpty {
                sink.error("sweep of an empty list: `\(path)` makes no runs", at: loc, hint: "list at least one value, or remove it")
                return
            }
            if axes.contains(where: { $0.path == path }) {
                sink.error("`\(path)` is swept twice", at: keyLocation, hint: "merge the lists"); return
            }
            let values = items.compactMap { value($0, field: field, path: path, sink: &sink) }
            if values.count == items.count { axes.append(SweepAxis(path: path, values: values)) }
        }
        for e in entries { walk(e.value, path: e.key, keyLocation: e.keyLocation) }
        return axes
    }

    private func readVariants(_ entry: ConfigNode.Entry, sink: inout DiagnosticSink) -> [Variant] {
        guard case .list(let items, let loc) = entry.value else {
            sink.error("`variants` must be a list of configurations, found \(entry.value.kindName)", at: entry.value.location,
                       hint: "e.g. `variants: [{config: eager-40-arena2, executor.size: 40, environment.MALLOC_ARENA_MAX: 2}]`")
            return []
        }
        if items.isEmpty { sink.error("`variants` is an empty list: it makes no runs", at: loc, hint: "list at least one, or remove it") }
        var variants: [Variant] = []
        var labels: [String: SourceLocation] = [:]
        for item in items {
            guard case .map(let entries, _) = item else {
                sink.error("a variant must be a mapping of settings, found \(item.kindName)", at: item.location,
                           hint: "e.g. `- {executor.size: 40, workload.options.trim: true}`")
                continue
            }
            var variant = Variant(label: nil, settings: [], sweep: [])
            for e in entries {
                switch e.key {
                case "config":
                    guard let s = e.value.scalarText, !s.isEmpty else {
                        sink.error("`config` must be a label, found \(e.value.kindName)", at: e.value.location); continue
                    }
                    if labels[s] != nil { sink.error("two variants are labelled `\(s)`", at: e.value.location, hint: "labels name runs: make them unique") }
                    labels[s] = e.value.location
                    variant.label = s
                case "sweep":
                    variant.sweep = readSweep(e, sink: &sink)
                default:
                    variant.settings += settings(e.value, path: e.key, keyLocation: e.keyLocation, sink: &sink)
                }
            }
            variants.append(variant)
        }
        return variants
    }

    private func readExpectations(_ node: ConfigNode, labels: [String], sink: inout DiagnosticSink) -> [Expectation] {
        guard case .list(let items, _) = node else {
            sink.error("`expect` must be a list of assertions, found \(node.kindName)", at: node.location,
                       hint: "e.g. `expect: [\"rss_growth < 8 MiB\", \"errors == 0\"]`")
            return []
        }
        var result: [Expectation] = []
        for item in items {
            switch item {
            case .scalar(let text, false, let loc):
                result += parse(text, at: loc, filter: .init(conditions: []), sink: &sink)
            case .map(let entries, let loc):
                var texts: [(String, SourceLocation)] = []
                var filter = Expectation.Filter(conditions: [])
                for e in entries {
                    switch e.key {
                    case "that":
                        switch e.value {
                        case .scalar(let t, false, let l): texts.append((t, l))
                        case .list(let list, _):
                            for x in list {
                                if let t = x.scalarText { texts.append((t, x.location)) } else {
                                    sink.error("an assertion must be text, found \(x.kindName)", at: x.location)
                                }
                            }
                        default: sink.error("`that` must be an assertion or a list of them", at: e.value.location)
                        }
                    case "where":
                        filter = readFilter(e.value, labels: labels, sink: &sink)
                    default:
                        let near = ScenarioDiagnostic.suggestion(for: e.key, among: ["that", "where"]).map { "did you mean `\($0)`? " } ?? ""
                        sink.error("unknown key `\(e.key)` in an expectation", at: e.keyLocation, hint: near + "an expectation has `that` and `where`")
                    }
                }
                if texts.isEmpty { sink.error("this expectation has no `that`", at: loc, hint: "e.g. `{that: threads_max <= 44, where: {config: eager-40}}`") }
                for (t, l) in texts { result += parse(t, at: l, filter: filter, sink: &sink) }
            default:
                sink.error("an expectation must be text like `rss_growth < 8 MiB` or a mapping with `that` and `where`, found \(item.kindName)",
                           at: item.location)
            }
        }
        return result
    }

    private func parse(_ text: String, at location: SourceLocation, filter: Expectation.Filter, sink: inout DiagnosticSink) -> [Expectation] {
        switch Expectation.parse(text, location: location, filter: filter, cores: cores) {
        case .success(let e): return [e]
        case .failure(let p): sink.error(p.message, at: location, hint: p.hint); return []
        }
    }

    private func readFilter(_ node: ConfigNode, labels: [String], sink: inout DiagnosticSink) -> Expectation.Filter {
        guard case .map(let entries, _) = node else {
            sink.error("`where` must map settings to values, found \(node.kindName)", at: node.location, hint: "e.g. `where: {config: eager-40}`")
            return .init(conditions: [])
        }
        var conditions: [(path: String, patterns: [String], location: SourceLocation)] = []
        for e in entries {
            if e.key != RunConfiguration.Key.config, e.key != RunConfiguration.Key.phase, ScenarioField.lookup(e.key) == nil {
                let near = ScenarioDiagnostic.suggestion(for: e.key, among: [RunConfiguration.Key.config, RunConfiguration.Key.phase] + ScenarioField.knownPaths).map { "did you mean `\($0)`? " } ?? ""
                sink.error("unknown key `\(e.key)` in `where`", at: e.keyLocation,
                           hint: near + "filter on `config`, an external target's `phase`, or a setting such as `executor.kind`")
                continue
            }
            var patterns: [String] = []
            switch e.value {
            case .scalar(let s, _, _): patterns = [s]
            case .list(let items, _): patterns = items.compactMap(\.scalarText)
            case .map: sink.error("`where: {\(e.key): …}` must be a value or a list of values", at: e.value.location); continue
            }
            if patterns.isEmpty { sink.error("`where: {\(e.key): …}` lists no values", at: e.value.location); continue }
            if e.key == "config" {
                for p in patterns where !labels.contains(where: { Expectation.matches($0, pattern: p, path: "config") }) {
                    let near = ScenarioDiagnostic.suggestion(for: p, among: labels).map { "did you mean `\($0)`? " } ?? ""
                    sink.error("no configuration is labelled `\(p)`", at: e.value.location, hint: near + "configurations: " + labels.joined(separator: ", "))
                }
            }
            conditions.append((e.key, patterns, e.value.location))
        }
        return .init(conditions: conditions)
    }
}

extension ConfigNode {
    var isList: Bool { if case .list = self { return true } else { return false } }
}
