import HighwaterAnalysis
import HighwaterProbes
import HighwaterRecords
import HighwaterSystem

/// `record --agent`: the allocation agent preloaded into the command, and after the target has ended (the agent
/// writes its events at exit) the record's allocation profiles, and each phase's live heap from inside the
/// target beside what glibc's heaps held resident (the census): retention measured, not guessed.
enum RecordAgent {
    /// Adds the agent to the target's environment, its events going to the record's directory.
    static func preload(_ library: String, into environment: inout [String: String], directory: String) {
        AllocationOutputs.clear(directory)
        AgentPreload.preload(library, into: &environment, eventsIn: directory)
    }

    /// Writes the profiles into `directory` and amends each phase's summary with the live heap over it.
    static func finish(directory: String, summaries: inout [RunSummary]) {
        let requests = summaries.reduce(0) { $0 + $1.requests }
        let written = AllocationOutputs.write(directory: directory, requests: requests)
        if let note = written.note, !summaries.isEmpty {
            summaries[summaries.count - 1].notes = (summaries[summaries.count - 1].notes ?? []) + [note]
        }
        guard !written.liveTimeline.isEmpty else {
            if written.note == nil, !summaries.isEmpty {
                summaries[summaries.count - 1].notes = (summaries[summaries.count - 1].notes ?? [])
                    + ["the agent wrote no allocation events: the target ended without running its exit handlers (SIGKILL, _exit), or never allocated"]
            }
            return
        }
        let how = written.everyAllocation ? "every allocation recorded" : "scaled from sampled allocations"
        for i in summaries.indices {
            let samples = RecordCoding.lines(SampleRecord.self, from: (try? FileTree.readBytes(directory + "/" + summaries[i].run_id + "/samples.jsonl")) ?? [])
            guard let first = samples.first?.t_ns, let last = samples.last?.t_ns else { continue }
            let start = AllocationEvents.live(at: first, in: written.liveTimeline) ?? 0
            let end = AllocationEvents.live(at: last, in: written.liveTimeline) ?? start
            summaries[i].heap_live_start = UInt64(max(0, start))
            summaries[i].heap_live_end = UInt64(max(0, end))
            var sentence = "The live heap (the agent, \(how)) went from \(Quantity.formatBytes(start)) to \(Quantity.formatBytes(end)) "
                + "over the phase, while RSS grew \(Quantity.formatBytes(Double(summaries[i].rss_growth)))"
            // The last census reading: what glibc's heaps (main and arenas) held resident.
            if let census = samples.last(where: { $0.arena_heap_resident != nil }) {
                let resident = Double((census.arena_heap_resident ?? 0) + (census.main_heap_resident ?? 0))
                if resident > 0 {
                    let idle = max(0, resident - end)
                    sentence += "; glibc's heaps held \(Quantity.formatBytes(resident)) resident at the end, "
                        + "\(Quantity.formatBytes(idle)) (\(Quantity.format(idle / resident * 100, significant: 2))%) of it not live: kept by the allocator"
                }
            }
            summaries[i].notes = (summaries[i].notes ?? []) + [sentence + "."]
        }
        // The sites held at the end of the record; a phase judged a leak names those that retained its growth.
        for i in summaries.indices { AllocationFinding.apply(to: &summaries[i], sites: written.sites) }
    }
}
