@preconcurrency import Glibc
import FoundationEssentials
import HighwaterRecords
import HighwaterProbes
import HighwaterSystem

/// Runs plans one after another, each in its own child, and keeps `DIR/summary.json` up to date
/// after every run, so an interrupted session still reports what it finished.
package struct RunSession {
    package var outDirectory: String
    package var executable: String
    package var showProgress: Bool
    package var version: String

    package init(outDirectory: String, executable: String, showProgress: Bool = Terminal.isInteractive, version: String) {
        self.outDirectory = outDirectory; self.executable = executable; self.showProgress = showProgress
        self.version = version
    }

    /// - Parameter afterEach: evaluates expectations or adds fields before the summary is stored.
    package func run(_ plans: [RunPlan], afterEach: (RunPlan, inout RunSummary) -> Void = { _, _ in }) async throws -> [RunSummary] {
        try FileTree.createDirectory(outDirectory)
        clearEarlierRuns(of: plans)
        var summaries: [RunSummary] = []
        Leftovers.sweep()
        for (n, plan) in plans.enumerated() {
            if Interruption.requested { break }
            let runID = String(format2(n + 1)) + "-" + plan.config
            let directory = "\(outDirectory)/\(plan.scenario)/\(runID)"
            let round = plan.repetition.map { " (repetition \($0) of \(plan.repeats ?? $0))" } ?? ""
            Terminal.line("[\(n + 1)/\(plans.count)] \(plan.scenario) \(plan.config)\(round): \(plan.executor.kind) x\(plan.executor.size), \(plan.workload.name), \(plan.load.requests) requests at concurrency \(plan.load.concurrency)")
            let startingPoint = await Settling.settle()
            var summary: RunSummary
            do {
                summary = try await ChildRun(plan: plan, runID: runID, directory: directory, executable: executable,
                                             showProgress: showProgress).execute()
            } catch {
                summary = RunSummary(scenario: plan.scenario, run_id: runID, config: plan.config)
                summary.run_error = "\(error)"
                summary.note(.runFailed("\(error)"))
            }
            summary.started_from = startingPoint
            summary.repetition = plan.repetition
            if let s = startingPoint, !s.settled {
                summary.note(.settleWriteback(pendingBytes: s.dirty_bytes + s.writeback_bytes, waitedSeconds: s.settle_ms / 1000))
            }
            DownloadFigures.compare(&summary, with: summaries)
            afterEach(plan, &summary)
            summaries.append(summary)
            Terminal.line("      " + (summary.run_error.map { "could not run: \($0)" } ?? oneLine(summary, planned: plan.load.requests)))
            try store(summaries)
        }
        return summaries
    }

    /// An earlier session's run directories of the scenarios about to run go first: the new summary.json no
    /// longer lists them, and a `03-…` left from another order would sit beside this session's `03-…`.
    /// Only run directories (`NN-config` holding a plan.json) are removed; anything else in DIR is left alone.
    func clearEarlierRuns(of plans: [RunPlan]) {
        Self.clearEarlierRuns(ofScenarios: Set(plans.map(\.scenario)), in: outDirectory)
    }

    /// Removes the run directories an earlier session left in DIR/SCENARIO/ for each of `scenarios`, so a session's
    /// results are its own: those holding a plan.json whose name is a run's (`NN-…`, or a configuration's phase
    /// `CONFIG-NN-…`). Everything else in DIR stays.
    package static func clearEarlierRuns(ofScenarios scenarios: some Sequence<String>, in out: String) {
        for scenario in scenarios {
            let directory = "\(out)/\(scenario)"
            guard let names = try? Syscall.directoryNames(directory) else { continue }
            for name in names where isRunDirectoryName(name) {
                let run = directory + "/" + name
                if FileTree.isDirectory(run), (try? Syscall.linkStatus(run + "/plan.json")) != nil { FileTree.removeTree(run) }
            }
        }
    }

    /// `NN-…` or `…-NN-…`: a number between dashes, or before the first.
    static func isRunDirectoryName(_ name: String) -> Bool {
        name.split(separator: "-", omittingEmptySubsequences: false).dropLast().contains { !$0.isEmpty && $0.allSatisfy(\.isNumber) }
    }

    package func store(_ summaries: [RunSummary]) throws {
        let all = ResultsSummary(highwater_version: version, created_ns: MonotonicClock.nanoseconds(), runs: summaries)
        try FileTree.writeAtomically(try RecordCoding.document(all), to: outDirectory + "/summary.json")
    }

    func oneLine(_ s: RunSummary, planned: Int) -> String {
        var text = s.timed_out_after_s.map { "TIMED OUT after \(Quantity.format($0)) s; " } ?? ""
        let peakSource = s.rss_peak_source == "VmHWM" ? " (VmHWM, between samples)" : ""
        // The growth the verdict and the report speak of.
        let growth = s.verdictGrowth
        text += "\(s.growth.classification.rawValue): growth \(Quantity.formatBytes(growth)), peak \(Quantity.formatBytes(s.rss_peak))\(peakSource), "
        text += "threads \(s.threads_max), arenas \(s.arenas_max.map(String.init) ?? "n/a (\(s.allocator ?? "not measured"))"), p99 \(Quantity.format(s.latency_ms.p99)) ms, "
        text += "\(Quantity.format(s.throughput_rps)) req/s, errors \(s.errors)"
        if let exit = s.child_exit, exit != "exit 0" { text += ", child \(exit)" }
        if let tmp = s.temp_dir, tmp.wasFull { text += ", " + WatchedFilesystem.fullSentence(tmp) }
        if let lost = s.records_lost, lost > 0 { text += ", \(lost) records LOST (results incomplete)" }
        if Interruption.requested && s.requests < planned { text += " (interrupted after \(s.requests) of \(planned) requests)" }
        return text
    }

    private func format2(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}
