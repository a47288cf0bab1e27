@preconcurrency import Glibc
import HighwaterAnalysis
import HighwaterProbes
import HighwaterRecords
import HighwaterSystem

/// One phase of `highwater record` in its run directory: the sampler on the target's process tree for the phase's
/// length, the load (or none: the phase watches until the target ends, the time limit or Ctrl-C), and the summary
/// with the growth verdict computed from the driver's request records.
struct RecordPhase: Sendable {
    let plan: RunPlan
    let spec: LoadSpec?
    let directory: String
    let target: ExternalTarget
    let options: RecordSession.Options

    func run(stop: @escaping @Sendable () -> Bool) async throws(RecordError) -> RunSummary {
        for name in ["samples.jsonl", "requests.jsonl", "summary.json"] { Syscall.unlinkIfPresent(directory + "/" + name) }
        let fileBody: [UInt8]?
        do {
            try FileTree.createDirectory(directory)
            try FileTree.writeAtomically(try RecordCoding.document(plan), to: directory + "/plan.json")
            if case .file(let path) = spec?.body {
                fileBody = try FileTree.readBytes(path, limit: Int(LoadSpec.maxFileBodyBytes))
            } else {
                fileBody = nil
            }
        } catch {
            throw .couldNotRun("phase \(plan.config): \(error)")
        }
        var sampling = Sampler.Options(intervalNs: options.intervalNs, pid: target.pid, tmpDir: options.watchDirs.first,
                                       watchDirs: Array(options.watchDirs.dropFirst()))
        sampling.descendants = true
        sampling.censusIntervalNs = options.censusIntervalNs
        let sampler: Sampler
        do { sampler = try Sampler(options: sampling, appendingTo: directory + "/samples.jsonl") } catch {
            throw .couldNotRun("cannot sample PID \(target.pid): \(error)")
        }
        let requestsFile: AppendOnlyFile
        do { requestsFile = try AppendOnlyFile(directory + "/requests.jsonl", truncate: true) } catch {
            throw .couldNotRun("cannot write \(directory)/requests.jsonl: \(error)")
        }
        sampler.start()
        var outcome = PhaseDriver.Outcome()
        if let spec {
            let driver = PhaseDriver(spec: spec, label: plan.config, targetPID: target.pid, output: requestsFile,
                                     warmup: plan.warmup, sampledRSS: { sampler.totals.latest?.rss ?? 0 }, fileBody: fileBody)
            outcome = await driver.run(stop: { stop() || !sampler.isRunning && target.hasEnded })
        } else {
            while !stop() && !Interruption.requested && sampler.isRunning {
                try? await Task.sleep(nanoseconds: 20_000_000)
            }
        }
        let totals = sampler.stop()
        let requests = RecordCoding.lines(RequestRecord.self, from: (try? FileTree.readBytes(directory + "/requests.jsonl")) ?? [])
        let samples = RecordCoding.lines(SampleRecord.self, from: (try? FileTree.readBytes(directory + "/samples.jsonl")) ?? [])
        let result = outcome.result
        let unanswered = result.statuses[0, default: 0]
        let neverSent = max(0, plan.load.requests - result.latenciesMs.count - unanswered)
        let client = RunSummarizer.ClientSide(latenciesMs: result.latenciesMs, errors: result.errors + (spec == nil ? 0 : neverSent),
                                              wallNs: result.wallNs)
        let cores = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        let arenaLimit = ProcessEnviron.arenaLimit(pid: target.pid)
        var summary = RunSummarizer.summarize(plan: plan, runID: plan.config, requests: requests, samples: samples, client: client,
                                              arenaLimit: arenaLimit.limit, cores: cores, liveHeap: false)
        if let every = options.censusIntervalNs {
            summary.arena_census = ArenaCensusRecord.from(samples: samples, limit: arenaLimit.limit, limitSource: arenaLimit.source,
                                                          cores: cores, intervalNs: every)
            if let finding = summary.arena_census?.finding { summary.notes = (summary.notes ?? []) + [finding] }
        }
        summary.temp_dir = totals.watched.first
        summary.configuration?["target"] = options.pid.map { "PID \($0)" } ?? options.command.joined(separator: " ")
        if spec == nil {
            summary.notes = ["no load in this phase: the target was watched (\(totals.samples) samples)"]
        } else if result.errors > 0, let first = result.firstError {
            let statuses = result.statuses.filter { $0.key != 200 }.sorted { $0.key < $1.key }
                .map { "\($0.value) x \($0.key == 0 ? "no answer" : String($0.key))" }.joined(separator: ", ")
            summary.notes = (summary.notes ?? []) + ["\(result.errors) requests failed (\(statuses)); the first: \(first)"]
        }
        if let failure = outcome.firstFailure {
            var w = summary.workload ?? [:]
            if let passed = outcome.largestPassed { w["largest_passed"] = Double(passed) }
            w["smallest_failed"] = Double(failure.size)
            w["failed_status"] = Double(failure.status)
            summary.workload = w
            let answer = failure.status == 0 ? "no answer (\(failure.error ?? "?"))" : "status \(failure.status)"
            let passed = outcome.largestPassed.map { "; the largest that passed was \(Quantity.formatBytes($0))" } ?? ""
            summary.notes = (summary.notes ?? []) + ["uploads started failing at \(Quantity.formatBytes(failure.size)) with \(answer)\(passed)"]
        } else if let passed = outcome.largestPassed {
            summary.workload = (summary.workload ?? [:]).merging(["largest_passed": Double(passed)]) { $1 }
        }
        if let lost = Optional(sampler.lost.records + requestsFile.losses.records), lost > 0 {
            summary.records_lost = lost
            summary.notes = (summary.notes ?? []) + ["\(lost) records could not be written: the results are incomplete"]
        }
        if let write = try? RecordCoding.document(summary) { try? FileTree.writeAtomically(write, to: directory + "/summary.json") }
        return summary
    }
}
