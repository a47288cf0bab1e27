@preconcurrency import Glibc
import HighwaterProbes
import HighwaterRecords
import HighwaterSystem
import Synchronization

/// Preloads the allocation agent (libHighwaterAgent.so, built beside `highwater`) into a hosted child, so each
/// request gains its heap_* fields. Left out, and the fields with it, when the plan preloads another allocator
/// (the agent forwards to glibc's malloc and would bypass it), when `HIGHWATER_AGENT=off`, or when the library
/// was not built (said once on stderr).
package enum AgentPreload {
    /// The agent beside an executable: SwiftPM puts every product of a build in one folder.
    package static func library(besideExecutable executable: String) -> String? {
        let folder = FileTree.directory(of: executable)
        let path = folder + "/" + AllocationAgent.libraryName
        return Syscall.canAccess(path, R_OK) ? path : nil
    }

    /// Why the agent is left out of a plan's child; nil when it goes in.
    package static func reasonToLeaveOut(_ plan: RunPlan) -> String? {
        if plan.environment["HIGHWATER_AGENT"] == "off" { return "HIGHWATER_AGENT=off" }
        if let preload = plan.environment["LD_PRELOAD"], preload != "unset", !preload.isEmpty {
            return "the plan preloads \(preload), and the agent would bypass it for glibc's malloc"
        }
        return nil
    }

    /// Why `--agent` cannot go into a command started with `environment` (its own, or the one it inherits): an
    /// allocator it already preloads would be bypassed, silently, for glibc's malloc; nil when nothing is in the way.
    package static func refusal(environment: [String: String]) -> String? {
        guard let preload = environment["LD_PRELOAD"], !preload.allSatisfy({ $0 == " " || $0 == ":" }) else { return nil }
        return "--agent with LD_PRELOAD=\(preload): the agent forwards every allocation to glibc's malloc, so \(preload) would be bypassed "
            + "and its memory not measured; record without --agent to measure that allocator, or without LD_PRELOAD to profile allocations"
    }

    /// The agent's sampled allocations, and the process's memory map beside them (`.maps`), in a run's folder
    /// until `AllocationOutputs` turns them into the run's profiles.
    package static let eventsFile = "alloc-events.bin"

    /// Adds the agent to a child's environment, before anything the environment already preloads, with its
    /// samples going to `directory`.
    package static func add(to environment: inout [String: String], plan: RunPlan, executable: String, directory: String) {
        guard reasonToLeaveOut(plan) == nil else { return }
        // A user's own host is built in its own package: the agent is then the one beside Highwater.
        guard let library = library(besideExecutable: executable) ?? library(besideExecutable: Executable.current) else {
            warnOnce("highwater: \(AllocationAgent.libraryName) is not beside \(executable) nor \(Executable.current) (swift build builds it); requests are recorded without heap_allocs, heap_alloc_bytes, heap_freed_bytes and heap_live_delta\n")
            return
        }
        preload(library, into: &environment, eventsIn: directory)
    }

    /// Puts `library` first in LD_PRELOAD and sends its samples to `directory`.
    package static func preload(_ library: String, into environment: inout [String: String], eventsIn directory: String) {
        let inherited = environment["LD_PRELOAD"].flatMap { $0.isEmpty ? nil : $0 }
        environment["LD_PRELOAD"] = inherited.map { library + ":" + $0 } ?? library
        environment["HIGHWATER_AGENT_OUT"] = directory + "/" + eventsFile
    }

    /// For a target watched from outside (`sample`, `record`): preloads the agent with its events going to `directory`
    /// and its live files to a directory made for them (returned; the caller removes it), or to none when it cannot be
    /// made, said on stderr: the live heap is then known only after the target exits.
    package static func preloadWatched(_ library: String, into environment: inout [String: String], eventsIn directory: String) -> String? {
        preload(library, into: &environment, eventsIn: directory)
        guard let live = try? AgentLiveHeap.makeDirectory() else {
            Terminal.write("highwater: no directory for the agent's live files in /dev/shm or the temp dir: the live heap is known only after the target exits\n")
            return nil
        }
        environment[AgentLiveHeap.variable] = live
        return live
    }

    /// The agent is not built beside the executable.
    package struct Missing: Error, CustomStringConvertible {
        package var executable: String
        package var description: String {
            "--agent: \(AllocationAgent.libraryName) is not beside \(executable); build it with `swift build --product HighwaterAgent`"
        }
    }

    /// The agent to preload into a command Highwater starts (`sample --agent`, `record --agent`): nil, said on
    /// stderr, when the program is statically linked, so it is measured without allocation profiles.
    package static func library(for command: [String], besideExecutable executable: String) throws(Missing) -> String? {
        guard let library = library(besideExecutable: executable) else { throw Missing(executable: executable) }
        guard let first = command.first else { return nil }
        let program = Executable.find(first) ?? first
        // A program that cannot be read (absent, a FIFO, a device) is no verdict on linking: starting it says what is wrong.
        guard let fd = try? FileTree.openRegularFile(program) else { return library }
        Syscall.close(fd)
        guard isPreloadable(program) else {
            Terminal.write("highwater: \(program) is statically linked: the agent cannot be preloaded into it (no dynamic loader runs), so it is measured without allocation profiles\n")
            return nil
        }
        return library
    }

    /// Whether the loader runs for this file, so LD_PRELOAD can take: a script (its interpreter is a program
    /// the loader starts) or an ELF file with an interpreter (PT_INTERP). A statically linked program has none.
    package static func isPreloadable(_ path: String) -> Bool {
        guard let fd = try? FileTree.openRegularFile(path) else { return false }
        defer { Syscall.close(fd) }
        var head: (UInt8, UInt8) = (0, 0)
        if withUnsafeMutableBytes(of: &head, { (try? Syscall.pread(fd, into: $0, at: 0, path: path)) ?? 0 }) == 2, head == (UInt8(ascii: "#"), UInt8(ascii: "!")) { return true }
        return ELFSymbols.hasInterpreter(path: path)
    }

    private static let warned = Atomic<Bool>(false)

    private static func warnOnce(_ text: String) {
        guard !warned.exchange(true, ordering: .relaxed) else { return }
        Terminal.write(text)
    }
}
