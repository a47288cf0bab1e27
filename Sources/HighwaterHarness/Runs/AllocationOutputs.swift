@preconcurrency import Glibc
import HighwaterProbes
import HighwaterRecords
import HighwaterSystem

/// A run's allocation profiles, made in the parent after the hosted child ended: the agent's samples
/// (`alloc-events.bin`) named with the child's memory map (`alloc-events.bin.maps`) and the symbol tables
/// of the files mapped there, written as `alloc-sites.jsonl`, `alloc.folded`, `retained.folded` and `profile.pb.gz` (pprof).
package enum AllocationOutputs {
    package static let files = ["alloc-sites.jsonl", "alloc.folded", "retained.folded", "profile.pb.gz"]

    /// Removes what an earlier run left in `directory`: the agent's raw events and the profiles made from them.
    package static func clear(_ directory: String) {
        for name in eventFiles(in: directory).flatMap({ [$0, $0 + ".maps"] }) + files {
            Syscall.unlinkIfPresent(directory + "/" + name)
        }
    }

    /// The agent's events files in `directory`: the process it was preloaded into first (`alloc-events.bin`), then
    /// each descendant that sampled on its own (`alloc-events.bin.PID`: a server's workers, started or forked).
    static func eventFiles(in directory: String) -> [String] {
        let base = AgentPreload.eventsFile
        let names = (try? Syscall.directoryNames(directory)) ?? []
        let descendants = names.filter { name in
            name.hasPrefix(base + ".") && !name.hasSuffix(".maps") && Int32(name.dropFirst(base.count + 1)) != nil
        }.sorted()
        return (Syscall.canAccess(directory + "/" + base, F_OK) ? [base] : []) + descendants
    }

    /// What `write` made: every site, most retained first, or a note for the summary when the profiles could
    /// not be made. Both empty when the child recorded no samples.
    package struct Written: Sendable {
        package var sites: [AllocationSite] = []
        package var note: Finding?
        /// The largest live heap over the run, from the events (exact when every allocation was recorded).
        package var peakLiveBytes: Double?
        /// Whether every allocation was recorded (HIGHWATER_AGENT_SAMPLE_BYTES=0), so the figures are exact.
        package var everyAllocation = false
        /// The live heap over the run (`AllocationEvents.liveTimeline`).
        package var liveTimeline: [AllocationEvents.LivePoint] = []
        /// What the sampling itself held resident, said when it is a megabyte or more: the run's RSS includes it.
        package var probeNote: Finding?
    }

    /// The unwinder's memory in the sampled processes, as a sentence for the run's notes.
    static func probeNote(_ events: [AllocationEvents]) -> String? {
        let bytes = events.reduce(0) { $0 + $1.unwinderBytes }, threads = events.reduce(0) { $0 + $1.unwindingThreads }
        guard bytes >= 1 << 20 else { return nil }
        return Finding.unwinderMemory(Double(bytes), perThread: Double(AllocationEvents.unwinderBytesPerThread), threads: threads)
    }

    /// Writes the profiles when the child, or any of its descendants, recorded samples: one profile for them all,
    /// each process's addresses named with its own memory map.
    package static func write(directory: String, requests: Int) -> Written {
        let names = eventFiles(in: directory)
        guard !names.isEmpty else { return Written() }
        // The raw events go once the profiles are written; kept when they could not be, to look at or try again.
        func removeEvents() { for name in names { Syscall.unlinkIfPresent(directory + "/" + name); Syscall.unlinkIfPresent(directory + "/" + name + ".maps") } }
        let tables = Symbolizer.Files()
        do {
            var profiles: [AllocationProfile] = [], parsed: [AllocationEvents] = [], unnamed: [Int32] = [], brief: [Int32] = []
            var python: [(events: AllocationEvents, maps: ProcessMaps)] = []
            let all = try names.map { try AllocationEvents(path: directory + "/" + $0) }
            // A descendant that sampled for under a tenth of the longest-sampling process's time is a helper (a shell
            // of a launcher such as pyenv's, a `sleep`), not a worker: left out, and counted in the notes.
            let longest = all.map(\.sampledNs).max() ?? 0
            for (k, name) in names.enumerated() {
                let events = all[k]
                if name != AgentPreload.eventsFile, events.sampledNs * 10 < longest {
                    brief.append(events.pid)
                    continue
                }
                guard let mapsText = try? FileTree.readText(directory + "/" + name + ".maps") else {
                    unnamed.append(events.pid)
                    continue
                }
                parsed.append(events)
                let maps = ProcessMaps(text: mapsText)
                python.append((events, maps))
                profiles.append(AllocationProfile(events: events, symbolizer: Symbolizer(maps: maps, files: tables)))
            }
            guard !profiles.isEmpty else {
                return Written(note: .profilesNotSymbolized(mapsPath: "\(directory)/\(names[0]).maps"))
            }
            let profile = profiles.count == 1 ? profiles[0] : AllocationProfile(merging: profiles)
            let sites = profile.sites(requests: requests)
            var lines: [UInt8] = []
            for site in sites {
                lines += try RecordCoding.line(site)
                lines.append(UInt8(ascii: "\n"))
            }
            try FileTree.writeAtomically(lines, to: directory + "/alloc-sites.jsonl")
            try FileTree.writeAtomically(profile.folded(retained: false), to: directory + "/alloc.folded")
            try FileTree.writeAtomically(profile.folded(retained: true), to: directory + "/retained.folded")
            try FileTree.writeAtomically(PprofProfile.gzipped(profile), to: directory + "/profile.pb.gz")
            removeEvents()
            let timeline = AllocationEvents.summed(parsed.map(\.liveTimeline))
            var notes = [probeNote(parsed)].compactMap { $0 } + PythonFrames.notes(python)
            if parsed.count > 1 { notes.append(Finding.processesSummed(parsed.map(\.pid))) }
            if !unnamed.isEmpty { notes.append(Finding.unnamedProcesses(unnamed)) }
            if !brief.isEmpty { notes.append(Finding.shortLivedDescendants(brief)) }
            // One process's peak is exact, replayed event by event; the timeline keeps a point a millisecond, so for
            // several the sum's peak is at least each one's and what the points show.
            let peak = parsed.count == 1 ? parsed[0].peakLiveBytes : max(timeline.map(\.bytes).max() ?? 0, parsed.map(\.peakLiveBytes).max() ?? 0)
            return Written(sites: sites, peakLiveBytes: peak, everyAllocation: parsed.allSatisfy { $0.interval == 0 },
                           liveTimeline: timeline, probeNote: .allocationSampling(notes))
        } catch {
            return Written(note: .profilesNotWritten("\(error)"))
        }
    }
}
