@preconcurrency import Glibc
import HighwaterProbes
import HighwaterSystem

/// A process `watch` samples, as it was when found: its PID, its command name (the `command` label), glibc's cap
/// on its arenas, and where the allocation agent preloaded into it writes (its environment says).
package struct WatchedProcess: Sendable, Equatable {
    package var pid: Int32
    package var command: String
    package var arenaLimit: Int
    /// `HIGHWATER_AGENT_SHM`: the directory of the agent's live files, for the live heap.
    package var agentLiveDirectory: String?
    /// `HIGHWATER_AGENT_OUT`: the agent's sampled allocations, for the heap profile.
    package var agentEvents: String?

    /// Read while the process lives: once it has ended, its environment is gone.
    package init(pid: Int32) {
        self.pid = pid
        command = ProcessTree.name(of: pid)
        // One read of the environment serves the arena cap and the agent's files alike.
        let environment = (try? ProcessEnviron.read(pid: pid)) ?? [:]
        arenaLimit = AllocatorProbe.arenaLimit(environment: environment, onlineCPUs: SystemFacts.onlineCPUs).limit
        agentLiveDirectory = environment[AgentLiveHeap.variable].flatMap { $0.isEmpty ? nil : $0 }
        agentEvents = environment["HIGHWATER_AGENT_OUT"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Every process whose command line (arguments joined by spaces) matches `pattern`, but this one.
    static func matching(_ pattern: Regex<AnyRegexOutput>) -> [Int32] {
        guard let pids = try? ProcDirectory.numericEntries("/proc") else { return [] }
        let own = getpid()
        return pids.filter { pid in
            guard pid != own, let line = commandLine(of: pid), !line.isEmpty else { return false }
            return (try? pattern.firstMatch(in: line)) != nil
        }
    }

    /// `/proc/PID/cmdline` with its NULs as spaces; nil once the process is gone, empty for a kernel thread.
    static func commandLine(of pid: Int32) -> String? {
        guard let raw = try? ProcFile.read("/proc/\(pid)/cmdline") else { return nil }
        return String(raw.map { $0 == "\0" ? " " : $0 }).trimmingSuffix(" ")
    }
}

extension String {
    fileprivate func trimmingSuffix(_ c: Character) -> String {
        var s = self
        while s.last == c { s.removeLast() }
        return s
    }
}
