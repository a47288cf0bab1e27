@preconcurrency import Glibc
import HighwaterAnalysis
import HighwaterProbes
import HighwaterRecords
import HighwaterSystem

/// One phase of `highwater record` in its run directory: the sampler on the target's process tree for the phase's
/// length, the load (or none: the phase watches until the target ends, the time limit or Ctrl-C), and the summary
/// with the growth verdict computed from the driver's request records.
struct RecordPhase: Sendable {
    let plan: PhasePlan
    let spec: LoadSpec?
    let directory: String
    let target: ExternalTarget
    let options: RecordSession.Options

    func run(stop: @escaping @Sendable () -> Bool) async throws(RecordError) -> RunSummary {
        for name in ["samples.jsonl", "requests.jsonl", "summary.json", "open-files.jsonl"] { Syscall.unlinkIfPresent(directory + "/" + name) }
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
        sampling.openFilesPath = options.watchDirs.isEmpty ? nil : directory + "/open-files.jsonl"
        sampling.agentLiveDirectory = options.agentLiveDirectory
        let sampler: Sampler
        do { sampler = try Sampler(options: sampling, appendingTo: directory + "/samples.jsonl") } catch {
            throw .couldNotRun("cannot sample PID \(target.pid): \(error)")
        }
        let requestsFile: AppendOnlyFile
        do { requestsFile = try AppendOnlyFile(directory + "/requests.jsonl", truncate: true) } catch {
            throw .couldNotRun("cannot write \(directory)/requests.jsonl: \(error)")
        }
        // The kernel's peak (VmHWM) is the target's whole life's: reset it, so this phase's peak is its own and not
        // an earlier phase's (or, attached with --pid, the peak of a day before the record).
        let peakNote: Finding?
        do {
            try ProcessProbe(pid: target.pid).resetPeak()
            peakNote = nil
        } catch {
            peakNote = .peakNotReset("\(error)")
        }
        sampler.start()
        var outcome = PhaseDriver.Outcome()
        if let spec {
            var driver = PhaseDriver(spec: spec, label: plan.config, targetPID: target.pid, output: requestsFile,
                                     warmup: plan.warmup, sampledRSS: { sampler.totals.latest?.rss ?? 0 }, fileBody: fileBody)
            if sampler.liveHeap != nil { driver.liveHeap = { sampler.liveHeapNow()?.liveBytes } }
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
        // Requests never sent (Ctrl-C, the time limit, a target gone) are not errors: they did not happen.
        let client = RunSummarizer.ClientSide(latenciesMs: result.latenciesMs, errors: result.errors, wallNs: result.wallNs)
        let cores = SystemFacts.onlineCPUs
        let arenaLimit = ProcessEnviron.arenaLimit(pid: target.pid)
        // With the agent's live files, each request carries the target's live heap: the verdict tells retention from a leak.
        let liveHeap = !requests.isEmpty && requests.allSatisfy { $0.heap_in_use_after > 0 }
        var summary = RunSummarizer.summarize(.external(plan), runID: plan.config, requests: requests, samples: samples, client: client,
                                              arenaLimit: arenaLimit.limit, cores: cores, liveHeap: liveHeap)
        if let every = options.censusIntervalNs {
            summary.arena_census = ArenaCensusRecord.from(samples: samples, limit: arenaLimit.limit, limitSource: arenaLimit.source,
                                                          cores: cores, intervalNs: every)
            if let census = summary.arena_census { summary.note(.arenaCensus(census)) }
        }
        summary.temp_dir = totals.watched.first
        if sampler.liveHeap != nil { RecordAgent.applyLiveHeap(to: &summary, samples: samples) }
        if let peakNote { summary.note(peakNote) }
        if spec != nil && neverSent > 0 {
            let sent = plan.load.requests - neverSent
            summary.note(.unsentRequests(sent: sent, planned: plan.load.requests))
            // A phase that sent nothing did not run, whatever the samples show.
            if sent == 0 { summary.growth.classification = .notRun }
        }
        if spec == nil {
            summary.note(.noLoad(samples: totals.samples))
        } else if result.errors > 0, let first = result.firstError {
            summary.note(.failedRequests(result.errors, statuses: result.statuses, first: first))
        }
        if outcome.uploads != UploadBoundary() {
            var w = summary.workload ?? WorkloadFigures()
            outcome.uploads.write(into: &w)
            summary.workload = w
            if let finding = Finding.uploadBoundary(outcome.uploads) { summary.note(finding) }
        }
        let holders = sampler.openFileHolders
        if !holders.isEmpty {
            summary.temp_dir_holders = Array(holders.prefix(10))
            summary.temp_dir_finding = Self.filler(holders: holders, watched: totals.watched, outcome: outcome)
            if let finding = summary.temp_dir_finding { summary.note(.tempDirFiller(finding)) }
        }
        let lost = sampler.lost.records + requestsFile.losses.records
        if lost > 0 {
            summary.records_lost = lost
            summary.note(.recordsLost(count: lost))
        }
        // Not written here: the session stores it once it is final (see RecordSession).
        return summary
    }

    /// "python3 (pid 4121) held a deleted 31 MiB file /tmp/x/tmpab in /tmp/x when its filesystem filled (32 MiB); the
    /// server answered 400": the holder alive when the watched filesystem first filled, else the largest file seen.
    static func filler(holders: [TempFileHolder], watched: [WatchedFilesystem], outcome: PhaseDriver.Outcome) -> String? {
        let statuses = outcome.result.statuses.filter { !(200..<300).contains($0.key) }
        let status = outcome.uploads.failedStatus ?? statuses.max { $0.value < $1.value }?.key
        let answer = status.map { $0 == 0 ? "; the server gave no answer" : "; the server answered \($0)" } ?? ""
        for w in watched where w.wasFull {
            let inDir = holders.filter { $0.dir == w.path }
            guard !inDir.isEmpty else { continue }
            // Seen within two sample intervals of the moment it filled: the scans are every sample, the fill is 1 ms-exact.
            let slack: UInt64 = 50_000_000
            let at = w.first_full_ns ?? 0
            let there = inDir.filter { $0.first_seen_ns <= at &+ slack && $0.last_seen_ns &+ slack >= at }
            let filler = there.first ?? inDir[0]
            return filler.sentence + " when its filesystem filled (\(Quantity.formatBytes(w.capacity)))" + answer
        }
        return holders.first.map { "the largest file held open: " + $0.sentence + answer }
    }
}
