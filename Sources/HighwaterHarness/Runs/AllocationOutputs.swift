@preconcurrency import Glibc
import HighwaterProbes
import HighwaterRecords
import HighwaterSystem

/// A run's allocation profiles, made in the parent after the hosted child ended: the agent's samples
/// (`alloc-events.bin`) named with the child's memory map (`alloc-events.bin.maps`) and the symbol tables
/// of the files mapped there, written as `alloc-sites.jsonl`, `alloc.folded`, `retained.folded` and `profile.pb.gz` (pprof).
public enum AllocationOutputs {
    public static let files = ["alloc-sites.jsonl", "alloc.folded", "retained.folded", "profile.pb.gz"]

    /// Writes the profiles when the child recorded samples; a note for the summary when they could not be made.
    public static func write(directory: String, requests: Int) -> String? {
        let events = directory + "/" + AgentPreload.eventsFile
        let mapsPath = events + ".maps"
        guard access(events, F_OK) == 0 else { return nil }
        defer { Syscall.unlinkIfPresent(events); Syscall.unlinkIfPresent(mapsPath) }
        do {
            let parsed = try AllocationEvents(path: events)
            guard let mapsText = try? FileTree.readText(mapsPath) else {
                return "allocation samples not symbolized: the child wrote no memory map (\(mapsPath)); it ended before exit"
            }
            let profile = AllocationProfile(events: parsed, symbolizer: Symbolizer(maps: ProcessMaps(text: mapsText)))
            var sites: [UInt8] = []
            for site in profile.sites(requests: requests) {
                sites += try RecordCoding.line(site)
                sites.append(UInt8(ascii: "\n"))
            }
            try FileTree.writeAtomically(sites, to: directory + "/alloc-sites.jsonl")
            try FileTree.writeAtomically(profile.folded(retained: false), to: directory + "/alloc.folded")
            try FileTree.writeAtomically(profile.folded(retained: true), to: directory + "/retained.folded")
            try FileTree.writeAtomically(PprofProfile.gzipped(profile), to: directory + "/profile.pb.gz")
            return nil
        } catch {
            return "allocation profiles not written: \(error)"
        }
    }
}
