import HighwaterProbes
import HighwaterSystem
import Synchronization

/// The heap profile of a watched process with the allocation agent preloaded, made when asked
/// (`/debug/pprof/heap?pid=PID`): the agent's sampled allocations so far (its events file, checkpointed at each of
/// the sampler's mallinfo2 requests) named with the process's memory map now, as pprof with `inuse_space`
/// (blocks not freed yet) and `alloc_space` (every block sampled): what `go tool pprof`, Parca and Pyroscope read.
final class HeapProfiles: Sendable {
    private let targets = Mutex<[Int32: WatchedProcess]>([:])
    /// Symbol tables read once per file mapped into the targets, kept for the next profile.
    private let files = Mutex(Symbolizer.Files())

    func add(_ process: WatchedProcess) {
        guard process.agentEvents != nil else { return }
        targets.withLock { $0[process.pid] = process }
    }

    func remove(_ pid: Int32) {
        targets.withLock { $0[pid] = nil }
    }

    /// The answer to `/debug/pprof/heap`: `pid` may be left out when a single target has the agent.
    func response(query: [String: String]) -> WatchServer.Response {
        let profiled = targets.withLock { $0 }
        let process: WatchedProcess
        if let text = query["pid"] {
            guard let pid = Int32(text), let found = profiled[pid] else {
                let known = profiled.keys.sorted().map(String.init).joined(separator: ", ")
                return .text(.notFound, "no watched process with the allocation agent has PID \(text)"
                             + (known.isEmpty ? "; start one with `highwater watch --agent -- CMD`" : "; these have: \(known)"))
            }
            process = found
        } else {
            guard profiled.count == 1, let only = profiled.values.first else {
                return .text(.badRequest, "give ?pid=PID: \(profiled.isEmpty ? "no watched process has the allocation agent" : "PIDs " + profiled.keys.sorted().map(String.init).joined(separator: ", ") + " have it")")
            }
            process = only
        }
        do {
            return .init(status: .ok, contentType: "application/octet-stream", body: try profile(process))
        } catch {
            return .text(.serviceUnavailable, "no heap profile of PID \(process.pid) yet: \(error)")
        }
    }

    /// The gzipped pprof profile of `process` now.
    func profile(_ process: WatchedProcess) throws -> [UInt8] {
        guard let out = process.agentEvents else { throw ProbeError(.unavailable("the agent writes no events for PID \(process.pid)"), path: "/proc/\(process.pid)/environ") }
        // A descendant that sampled on its own writes beside the first process's file, under its PID.
        let own = out + ".\(process.pid)"
        let events = try AllocationEvents(path: Syscall.canAccess(own, 0) ? own : out)
        guard events.pid == process.pid else {
            throw ProbeError(.malformed("it holds PID \(events.pid)'s allocations, not PID \(process.pid)'s"), path: out)
        }
        let maps = ProcessMaps(text: try ProcFile.read("/proc/\(process.pid)/maps"))
        let profile = files.withLock { files in AllocationProfile(events: events, symbolizer: Symbolizer(maps: maps, files: files)) }
        return PprofProfile.gzipped(profile, durationNs: events.sampledNs)
    }
}
