import HighwaterRecords

/// A value given in a scenario file for one dotted path, with where it was written.
package struct Setting: Equatable, Sendable {
    package enum Value: Equatable, Sendable {
        case value(String)
        case list([String])
        /// `unset` in `environment`: the variable is left out.
        case unset
    }

    package var path: String
    package var value: Value
    package var location: SourceLocation
    /// Where each item of a list was written, when they are worth pointing at one by one (load phases).
    package var itemLocations: [SourceLocation] = []

    /// The value as a person wrote it, for labels and filters.
    package var written: String {
        switch value {
        case .value(let s): return s
        case .list(let l): return l.joined(separator: "+")
        case .unset: return "unset"
        }
    }
}

/// A scenario file compiled: what it says, and the runs it makes (one `RunPlan` per point of its sweep).
package struct Scenario: Sendable {
    package var name: String
    package var description: String
    /// The file it came from.
    package var file: String
    /// One plan per configuration, with the request counts as written.
    package var plans: [RunPlan]
    /// Requests per plan under `--quick` (same order as `plans`).
    package var quickRequests: [Int]
    package var expectations: [Expectation]
    /// With `target:`, the configurations of a server Highwater did not build, run by `record`; `plans` is then empty.
    package var external: [ExternalConfiguration]

    package init(name: String, description: String, file: String, plans: [RunPlan], quickRequests: [Int],
                expectations: [Expectation], external: [ExternalConfiguration] = []) {
        self.name = name; self.description = description; self.file = file; self.plans = plans
        self.quickRequests = quickRequests; self.expectations = expectations; self.external = external
    }

    /// The most configurations (variants times sweep values) one scenario may have: a few lines of YAML can
    /// ask for a billion, and even a thousand runs for hours.
    package static let maxConfigurations = 1000
    /// Above this many configurations `run` and `check` say the count before the first one starts.
    package static let noticeConfigurations = 100

    /// How many configurations this scenario runs.
    package var configurationCount: Int { external.isEmpty ? plans.count : external.count }

    /// The most runs of one configuration a scenario may ask for (`repeat`).
    package static let maxRepeats = 20

    /// The plans to run; `quick` shrinks each request count (and warm-up) for a smoke run, and runs each
    /// configuration once. Repeated configurations are interleaved and counterbalanced: in each round the
    /// configurations under the same load run back to back, in one order in odd rounds and the reverse in even
    /// ones (A B B A), so a drift of the machine, or a cost of going first, falls on every configuration alike.
    package func plans(quick: Bool) -> [RunPlan] {
        guard quick else {
            let rounds = plans.map { $0.repeats ?? 1 }.max() ?? 1
            guard rounds > 1 else { return plans }
            let groups = Self.groupedByLoad(plans)
            return (1...rounds).flatMap { round in
                groups.flatMap { group in
                    (round % 2 == 1 ? group : group.reversed()).filter { ($0.repeats ?? 1) >= round }.map { plan in
                        var p = plan
                        if (plan.repeats ?? 1) > 1 { p.repetition = round }
                        return p
                    }
                }
            }
        }
        return zip(plans, quickRequests).map { plan, requests in
            var p = plan
            p.load.requests = requests
            p.warmup = min(p.warmup, max(0, requests / 10))
            p.repeats = nil
            return p
        }
    }

    /// Plans under the same load (requests, concurrency, rate, payload), the groups in order of first appearance:
    /// the configurations a report compares with one another.
    static func groupedByLoad(_ plans: [RunPlan]) -> [[RunPlan]] {
        var groups: [[RunPlan]] = []
        var index: [String: Int] = [:]
        for plan in plans {
            if let i = index[plan.load.identity] { groups[i].append(plan) } else {
                index[plan.load.identity] = groups.count
                groups.append([plan])
            }
        }
        return groups
    }

    /// Default request count under `--quick`: a tenth, at least 20, never more than the full run.
    package static func defaultQuickRequests(_ requests: Int) -> Int { min(requests, max(20, requests / 10)) }

    /// The plan a stored run came from, matched by its configuration label.
    package func plan(forConfig config: String) -> RunPlan? { plans.first { $0.config == config } }

    /// The value of a setting for one of this scenario's runs, for `where` filters: from its plan, or from the
    /// external configuration its phase belongs to.
    package func setting(_ path: String, of run: RunSummary) -> String? {
        if let label = run.configuration?.config, let c = external.first(where: { $0.config == label }) {
            return c.settings[path]
        }
        return plan(forConfig: run.config)?.settingValue(path)
    }

    /// This scenario's expectations evaluated on one of its runs (those whose filter matches it).
    package func evaluate(_ run: RunSummary) -> [RunSummary.Expectation] {
        expectations.filter { $0.applies(to: run, setting: { setting($0, of: run) }) }.map { $0.evaluate(run) }
    }
}

extension RunPlan {
    /// The value of a configuration setting by its scenario path (`executor.kind`, `environment.MALLOC_ARENA_MAX`),
    /// for `where` filters; nil when the plan does not set it.
    package func settingValue(_ path: String) -> String? {
        switch path {
        case "config": return config
        case "scenario": return scenario
        case "executor.kind": return executor.kind
        case "executor.size": return String(executor.size)
        case "workload.name": return workload.name
        case "load.requests": return String(load.requests)
        case "load.concurrency": return String(load.concurrency)
        case "load.rate": return load.rate.map { Quantity.format($0) }
        case "load.payload": return load.payloadBytes.map(String.init).joined(separator: "+")
        case "load.warmup": return String(warmup)
        case "storage.tmpfs": return storage.tmpfsBytes.map(String.init)
        case "storage.temp_dir": return storage.tempDir
        case "storage.spool_threshold": return storage.spoolThreshold.map(String.init)
        case "storage.destination_tmpfs": return storage.destinationTmpfsBytes.map(String.init)
        case "verdict.min_requests": return String((minimums ?? .init()).requests)
        case "verdict.min_samples": return String((minimums ?? .init()).samples)
        case "verdict.plateau_share": return Quantity.format((minimums ?? .init()).plateauShare)
        case "verdict.min_seconds": return Quantity.format((minimums ?? .init()).seconds)
        case "load.until": return load.until
        case "load.max_duration": return load.maxSeconds.map { Quantity.format($0) + "s" }
        case "repeat": return String(repeats ?? 1)
        default:
            if path.hasPrefix("environment.") { return environment[String(path.dropFirst("environment.".count))] }
            if path.hasPrefix("workload.options.") { return workload.options[String(path.dropFirst("workload.options.".count))] }
            return nil
        }
    }
}
