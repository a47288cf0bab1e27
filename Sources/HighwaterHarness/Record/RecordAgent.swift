import HighwaterAnalysis
import HighwaterProbes
import HighwaterRecords
import HighwaterSystem

/// `record --agent`: the allocation agent preloaded into the command; during each phase the live heap from inside
/// the target and its descendants (their live files, read at every sample) beside what glibc's heaps held resident
/// (the census): retention measured, not guessed; and after the target has ended (the agent writes its events at
/// exit) the record's allocation profiles.
package enum RecordAgent {
    /// The phase's live heap as the samples read it while the target ran: heap_live_start and heap_live_end, and what
    /// part of glibc's resident heaps was not live at the last census reading.
    static func applyLiveHeap(to summary: inout RunSummary, samples: [SampleRecord]) {
        let live = samples.filter { $0.heap_in_use != nil }
        guard let first = live.first?.heap_in_use, let last = live.last else {
            summary.note(.heapNotReadable)
            return
        }
        summary.heap_live_start = first
        summary.heap_live_end = last.heap_in_use
        let processes = live.compactMap(\.heap_processes).max() ?? 1
        let census = live.last(where: { $0.arena_heap_resident != nil })
        summary.note(.liveHeap(start: Double(first), end: Double(last.heap_in_use ?? 0), rssGrowth: summary.rss_growth,
                               how: "read live from \(processes) process\(processes == 1 ? "" : "es")", census: census))
    }

    /// Writes the profiles into `directory` and amends each phase's summary with the live heap over it.
    /// - Parameter phases: the folder of the phases' run directories (the record's, above a configuration's own).
    static func finish(directory: String, phases: String, summaries: inout [RunSummary]) {
        let requests = summaries.reduce(0) { $0 + $1.requests }
        let written = AllocationOutputs.write(directory: directory, requests: requests)
        if let note = written.note, !summaries.isEmpty {
            summaries[summaries.count - 1].note(note)
        }
        // The unwinder's caches are made as threads first sample: said with the phase that added the most threads.
        if let note = written.probeNote, !summaries.isEmpty {
            let added = summaries.indices.map { i in Int(summaries[i].threads_max) - (i == 0 ? 0 : Int(summaries[i - 1].threads_max)) }
            let phase = added.indices.max { added[$0] < added[$1] } ?? 0
            summaries[phase].note(note)
        }
        guard !written.liveTimeline.isEmpty else {
            if written.note == nil, !summaries.isEmpty {
                summaries[summaries.count - 1].note(.noAllocationEvents)
            }
            return
        }
        let how = written.everyAllocation ? "every allocation recorded" : "scaled from sampled allocations"
        // Phases read live during the run keep those figures; the events file stands in only where they are missing.
        for i in summaries.indices where summaries[i].heap_live_start == nil {
            let samples = RecordCoding.lines(SampleRecord.self, from: (try? FileTree.readBytes(phases + "/" + summaries[i].run_id + "/samples.jsonl")) ?? [])
            guard let first = samples.first?.t_ns, let last = samples.last?.t_ns else { continue }
            let start = AllocationEvents.live(at: first, in: written.liveTimeline) ?? 0
            let end = AllocationEvents.live(at: last, in: written.liveTimeline) ?? start
            summaries[i].heap_live_start = UInt64(max(0, start))
            summaries[i].heap_live_end = UInt64(max(0, end))
            summaries[i].note(.liveHeap(start: start, end: end, rssGrowth: summaries[i].rss_growth, how: how,
                                        census: samples.last(where: { $0.arena_heap_resident != nil })))
        }
        // The sites held at the end of the record; a phase judged a leak names those that retained its growth.
        for i in summaries.indices { AllocationFinding.apply(to: &summaries[i], sites: written.sites) }
    }
}
