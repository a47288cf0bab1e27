@preconcurrency import Glibc
import HighwaterProbes
import HighwaterRecords
import HighwaterSystem

/// A run's allocation profiles, made in the parent after the hosted child ended: the agent's samples
/// (`alloc-events.bin`) named with the child's memory map (`alloc-events.bin.maps`) and the symbol tables
/// of the files mapped there, written as `alloc-sites.jsonl`, `alloc.folded`, `retained.folded` and `profile.pb.gz` (pprof).
public enum AllocationOutputs {
    public static let files = ["alloc-sites.jsonl", "alloc.folded", "retained.folded", "profile.pb.gz"]

    /// Removes what an earlier run left in `directory`: the agent's raw events and the profiles made from them.
    public static func clear(_ directory: String) {
        for name in [AgentPreload.eventsFile, AgentPreload.eventsFile + ".maps"] + files {
            Syscall.unlinkIfPresent(directory + "/" + name)
        }
    }

    /// What `write` made: every site, most retained first, or a note for the summary when the profiles could
    /// not be made. Both empty when the child recorded no samples.
    public struct Written: Sendable {
        public var sites: [AllocationSite] = []
        public var note: String?
        /// The largest live heap over the run, from the events (exact when every allocation was recorded).
        public var peakLiveBytes: Double?
        /// Whether every allocation was recorded (HIGHWATER_AGENT_SAMPLE_BYTES=0), so the figures are exact.
        public var everyAllocation = false
        /// The live heap over the run (`AllocationEvents.liveTimeline`).
        public var liveTimeline: [AllocationEvents.LivePoint] = []
        /// What the sampling itself held resident, said when it is a megabyte or more: the run's RSS includes it.
        public var probeNote: String?
    }

    /// The unwinder's memory in the sampled process, as a sentence for the run's notes.
    static func probeNote(_ events: AllocationEvents) -> String? {
        guard events.unwinderBytes >= 1 << 20 else { return nil }
        return "The allocation sampling held about \(Quantity.formatBytes(Double(events.unwinderBytes))) resident outside the heap: libunwind keeps "
            + "a trace cache of \(Quantity.formatBytes(Double(AllocationEvents.unwinderBytesPerThread))) in each of the \(events.unwindingThreads) threads "
            + "that captured a stack; the RSS figures include it (HIGHWATER_AGENT_SAMPLE_BYTES=off counts without stacks)."
    }

    /// Writes the profiles when the child recorded samples.
    public static func write(directory: String, requests: Int) -> Written {
        let events = directory + "/" + AgentPreload.eventsFile
        let mapsPath = events + ".maps"
        guard access(events, F_OK) == 0 else { return Written() }
        defer { Syscall.unlinkIfPresent(events); Syscall.unlinkIfPresent(mapsPath) }
        do {
            let parsed = try AllocationEvents(path: events)
            guard let mapsText = try? FileTree.readText(mapsPath) else {
                return Written(note: "allocation samples not symbolized: the child wrote no memory map (\(mapsPath)); it ended before exit")
            }
            let profile = AllocationProfile(events: parsed, symbolizer: Symbolizer(maps: ProcessMaps(text: mapsText)))
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
            return Written(sites: sites, peakLiveBytes: parsed.peakLiveBytes, everyAllocation: parsed.interval == 0,
                           liveTimeline: parsed.liveTimeline, probeNote: probeNote(parsed))
        } catch {
            return Written(note: "allocation profiles not written: \(error)")
        }
    }
}
