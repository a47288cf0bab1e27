import HighwaterProbes
import HighwaterRecords
import HighwaterSystem

/// A run's allocation profiles, made in the parent after the hosted child ended: the agent's samples
/// (`alloc-events.bin`) named with the child's memory map (`alloc-events.bin.maps`) and the symbol tables
/// of the files mapped there, written as `alloc-sites.jsonl`, `alloc.folded` and `retained.folded`.
public enum AllocationOutputs {
    public static let files = ["alloc-sites.jsonl", "alloc.folded", "retained.folded"]

    /// Writes the profiles when the child recorded samples; a note for the summary when they could not be made.
    public static func write(directory: String, requests: Int) -> String? {
        let events = directory + "/" + AgentPreload.eventsFile
        let mapsPath = events + ".maps"
        guard let bytes = try? FileTree.readBytes(events) else { return nil }
        defer { Syscall.unlinkIfPresent(events); Syscall.unlinkIfPresent(mapsPath) }
        do {
            let parsed = try AllocationEvents(bytes: bytes, path: events)
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
            return nil
        } catch {
            return "allocation profiles not written: \(error)"
        }
    }
}
