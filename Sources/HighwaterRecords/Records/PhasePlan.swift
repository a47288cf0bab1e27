/// One phase of a process Highwater did not build (`record`, `sample`): what load it sends, how it samples, what
/// it watches. There is no executor or workload to name: the target serves the requests however it does. Written
/// as the phase's `plan.json`, beside its records, so the directory is a run's as `run` lays them out.
package struct PhasePlan: Codable, Equatable, Sendable {
    package var scenario: String
    /// `NN-label`: the phase's number and its load's label (`01-get-work`), or the sampled command's name.
    package var config: String
    /// The command started, or `PID N` for one attached to.
    package var target: String
    /// The `--load` spec as written; nil for a phase that only watches.
    package var loadSpec: String?
    package var load: RunPlan.Load
    /// The target's environment as far as it bears on the verdict (`MALLOC_ARENA_MAX`, `LD_PRELOAD`).
    package var environment: [String: String]
    /// Requests whose growth does not count.
    package var warmup: Int
    package var sampleIntervalNs: UInt64
    package var timeLimitNs: UInt64?
    /// The first watched directory (the temp dir of the target's uploads).
    package var tempDir: String?
    /// The least evidence a growth verdict needs; nil takes the defaults.
    package var minimums: GrowthMinimums?
    /// The configuration the phase is filed under (a scenario's external configuration, `record --name`) and the
    /// phase's own name within it (`01-get-work`); nil for an unnamed record. The summary carries both as
    /// `configuration.config` and `configuration.phase` (RunConfiguration), so reports and `check` read named records as a sweep.
    package var filedUnder: String?
    package var phase: String?

    package init(scenario: String, config: String, target: String, loadSpec: String? = nil, load: RunPlan.Load,
                environment: [String: String] = [:], warmup: Int, sampleIntervalNs: UInt64 = 10_000_000,
                timeLimitNs: UInt64? = nil, tempDir: String? = nil, minimums: GrowthMinimums? = nil) {
        self.scenario = scenario; self.config = config; self.target = target; self.loadSpec = loadSpec; self.load = load
        self.environment = environment; self.warmup = warmup; self.sampleIntervalNs = sampleIntervalNs
        self.timeLimitNs = timeLimitNs; self.tempDir = tempDir; self.minimums = minimums
    }
}
