import HighwaterRecords

/// What a verdict is about. A configuration Highwater hosted has an executor and a workload, and its threads are
/// the workers its requests ran on; a process recorded or sampled from outside has neither, and its threads are the
/// process's own, as sampled. The summary, the sentences and the remedies differ by which; nothing else does.
package enum GrowthSubject: Sendable {
    case hosted(RunPlan)
    case external(PhasePlan)

    package var scenario: String {
        switch self { case .hosted(let p): p.scenario; case .external(let p): p.scenario }
    }
    package var config: String {
        switch self { case .hosted(let p): p.config; case .external(let p): p.config }
    }
    package var environment: [String: String] {
        switch self { case .hosted(let p): p.environment; case .external(let p): p.environment }
    }
    package var load: RunPlan.Load {
        switch self { case .hosted(let p): p.load; case .external(let p): p.load }
    }
    package var warmup: Int {
        switch self { case .hosted(let p): p.warmup; case .external(let p): p.warmup }
    }
    package var minimums: GrowthMinimums? {
        switch self { case .hosted(let p): p.minimums; case .external(let p): p.minimums }
    }
    /// The hosted configuration, nil for a process from outside.
    package var hosted: RunPlan? {
        if case .hosted(let p) = self { return p }
        return nil
    }

    /// Where glibc's arena cap came from, as the sentences say it.
    func arenaLimitSource(cores: Int) -> String {
        environment["MALLOC_ARENA_MAX"].map { "MALLOC_ARENA_MAX=\($0)" } ?? "8 x \(cores > 0 ? "\(cores)" : "the") cores"
    }

    /// The same, for a label that says the cap was glibc's own: "glibc's cap, 8 x 2 cores".
    func arenaCapSource(cores: Int) -> String {
        environment["MALLOC_ARENA_MAX"] != nil ? arenaLimitSource(cores: cores) : "glibc's cap, " + arenaLimitSource(cores: cores)
    }

    /// A summary's `configuration`: what was run, by name, as the report and the expectations read it.
    var configuration: RunConfiguration {
        var c = RunConfiguration(requests: load.requests, concurrency: load.concurrency)
        c.load = load.identity
        c.rate = load.rate
        switch self {
        case .hosted(let plan):
            c.executor = "\(plan.executor.kind) \(plan.executor.size)"
            c.workload = plan.workload.name
            c.workloadOptions = plan.workload.options
        case .external(let phase):
            c.target = phase.target
            // record's phases are told apart from its watching by this (and the load is shown as written).
            c.loadSpec = phase.loadSpec
            if let label = phase.filedUnder {
                c.config = label
                c.phase = phase.phase ?? phase.config
            }
        }
        c.environment = environment
        return c
    }
}
