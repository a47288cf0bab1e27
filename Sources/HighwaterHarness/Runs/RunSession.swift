@preconcurrency import Glibc
import FoundationEssentials
import HighwaterRecords
import HighwaterProbes

/// Runs plans one after another, each in its own child, and keeps `DIR/summary.json` up to date
/// after every run, so an interrupted session still reports what it finished.
public struct RunSession {
    public var outDirectory: String
    public var executable: String
    public var showProgress: Bool
    public var version: String

    public init(outDirectory: String, executable: String, showProgress: Bool = Terminal.isInteractive, version: String) {
        self.outDirectory = outDirectory; self.executable = executable; self.showProgress = showProgress
        self.version = version
    }

    /// - Parameter afterEach: evaluates expectations or adds fields before the summary is stored.
    public func run(_ plans: [RunPlan], afterEach: (RunPlan, inout RunSummary) -> Void = { _, _ in }) async throws -> [RunSummary] {
        try FileTree.createDirectory(outDirectory)
        var summaries: [RunSummary] = []
        for (n, plan) in plans.enumerated() {
            if Interruption.requested { break }
            let runID = String(format2(n + 1)) + "-" + plan.config
            let directory = "\(outDirectory)/\(plan.scenario)/\(runID)"
            Terminal.line("[\(n + 1)/\(plans.count)] \(plan.scenario) \(plan.config): \(plan.executor.kind) x\(plan.executor.size), \(plan.workload.name), \(plan.load.requests) requests at concurrency \(plan.load.concurrency)")
            var summary: RunSummary
            do {
                summary = try await ChildRun(plan: plan, runID: runID, directory: directory, executable: executable,
                                             showProgress: showProgress).execute()
            } catch {
                summary = RunSummary(scenario: plan.scenario, run_id: runID, config: plan.config)
                summary.errors = plan.load.requests
                summary.run_error = "\(error)"
                summary.notes = ["the run could not be carried out: \(error)"]
            }
            DownloadFigures.compare(&summary, with: summaries)
            afterEach(plan, &summary)
            summaries.append(summary)
            Terminal.line("      " + (summary.run_error.map { "could not run: \($0)" } ?? oneLine(summary, planned: plan.load.requests)))
            try store(summaries)
        }
        return summaries
    }

    public func store(_ summaries: [RunSummary]) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let all = ResultsSummary(highwater_version: version, created_ns: SystemFacts.monotonicNanoseconds(), runs: summaries)
        try FileTree.write(try encoder.encode(all), to: outDirectory + "/summary.json")
    }

    func oneLine(_ s: RunSummary, planned: Int) -> String {
        var text = "\(s.growth.classification.rawValue): growth \(Quantity.formatBytes(s.rss_growth)), peak \(Quantity.formatBytes(s.rss_peak)), "
        text += "threads \(s.threads_max), arenas \(s.arenas_max), p99 \(Quantity.format(s.latency_ms.p99)) ms, "
        text += "\(Quantity.format(s.throughput_rps)) req/s, errors \(s.errors)"
        if let exit = s.child_exit, exit != "exit 0" { text += ", child \(exit)" }
        if Interruption.requested && s.requests < planned { text += " (interrupted after \(s.requests) of \(planned) requests)" }
        return text
    }

    private func format2(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}

/// The scenarios Highwater carries built in, for when no scenario file is given.
public enum BuiltInScenarios {
    /// A leak beside a pool filling up: the shapes `linear` and `plateau` side by side.
    public static func leakVsPlateau(requests: Int = 2000) -> [RunPlan] {
        [
            RunPlan(scenario: "leak-vs-plateau", config: "leak-64k", executor: .init(kind: "fixed", size: 4),
                    workload: .init(name: "leak", options: ["bytes_per_request": "64 KiB"]), load: .init(requests: requests)),
            RunPlan(scenario: "leak-vs-plateau", config: "plateau-eager-16", executor: .init(kind: "eager", size: 16),
                    workload: .init(name: "alloc-churn"), load: .init(requests: requests)),
        ]
    }

    /// Seed 004: eager pools of growing size, the fixes, and concurrency as the cost.
    public static func threadpoolGrowth(cores: Int = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), requests: Int = 2000) -> [RunPlan] {
        func plan(_ config: String, _ kind: String, _ size: Int, concurrency: Int = 1, env: [String: String] = [:],
                  options: [String: String] = [:]) -> RunPlan {
            RunPlan(scenario: "threadpool-growth", config: config, executor: .init(kind: kind, size: size),
                    workload: .init(name: "alloc-churn", options: options), environment: env,
                    load: .init(requests: requests, concurrency: concurrency))
        }
        return [
            plan("eager-1", "eager", 1),
            plan("eager-\(cores)", "eager", cores),
            plan("eager-\(cores * 5)", "eager", cores * 5),
            plan("eager-40", "eager", 40),
            plan("eager-40-arena-max-2", "eager", 40, env: ["MALLOC_ARENA_MAX": "2"]),
            plan("eager-40-trim", "eager", 40, options: ["trim": "true"]),
            plan("lazy-40-c1", "lazy", 40),
            plan("lazy-40-c40", "lazy", 40, concurrency: 40),
            plan("lazy-40-c40-arena-max-2", "lazy", 40, concurrency: 40, env: ["MALLOC_ARENA_MAX": "2"]),
        ]
    }
}
