@preconcurrency import Glibc
import CHighwater
import HighwaterSystem

/// One target's live file (`DIR/PID.shm`, written by the agent when `HIGHWATER_AGENT_SHM=DIR`): its threads'
/// counters, mapped here as they count, so the live heap of a running process is a sum of a few cache lines, with
/// no syscall in the target and none here. It also carries requests for glibc's own view (mallinfo2 and the
/// arena list), which the target's next allocation answers.
package final class AgentLiveFile: @unchecked Sendable {
    package let pid: Int32
    package let path: String
    /// The file mapped: a program exec'd in place writes a new one under the same name.
    package let device: UInt64
    package let inode: UInt64
    private let map: UnsafeMutableRawPointer
    private let size: Int

    package enum Failure: Error, CustomStringConvertible, Equatable {
        case notALiveFile(String)
        /// The target made no allocation (of any thread) within the wait, so nothing in it could answer.
        case noAllocationToAnswerOn(pid: Int32, waitedNs: UInt64)

        package var description: String {
            switch self {
            case .notALiveFile(let path): return "\(path) is not the allocation agent's live file (no HWLIVE01 header of version 1)"
            case .noAllocationToAnswerOn(let pid, let waited):
                return "PID \(pid) made no allocation to answer on within \(Double(waited / 1_000_000) / 1000) s: the agent answers from the "
                    + "target's next malloc (no thread of its own), so an idle or blocked target cannot report mallinfo2 or its arenas"
            }
        }
    }

    package init(path: String) throws {
        let fd = try Syscall.open(path, O_RDWR)
        defer { Syscall.close(fd) }
        let status = try Syscall.status(descriptor: fd, path: path)
        size = Int(status.st_size)
        guard size > 0, let m = try? Syscall.mapShared(fd, size: size, path: path) else {
            throw Failure.notALiveFile(path)
        }
        let pid = hw_agent_live_pid(m, size)
        guard pid > 0 else {
            Syscall.unmap(m, size: size)
            throw Failure.notALiveFile(path)
        }
        self.map = m
        self.pid = pid
        self.path = path
        device = UInt64(status.st_dev)
        inode = UInt64(status.st_ino)
    }

    deinit { Syscall.unmap(map, size: size) }

    /// The target's counters now, every thread's summed (those that ended included).
    package func counters() -> AllocationAgent.Counters {
        var c = hw_agent_counters_t()
        hw_agent_live_sum(map, &c)
        return AllocationAgent.Counters(c)
    }

    /// Bytes in live blocks (usable sizes), as the counters give them now.
    package var liveBytes: UInt64 { UInt64(max(0, counters().liveBytes)) }

    /// glibc's view from inside the target, as its allocation answered a request.
    package struct MallocReport: Sendable, Equatable {
        /// mallinfo2's fields (bytes, or counts for ordblks, smblks, hblks).
        package var arena: UInt64, ordblks: UInt64, hblks: UInt64, hblkhd: UInt64, uordblks: UInt64, fordblks: UInt64, keepcost: UInt64
        package var tNs: UInt64
        /// The agent's counters at the same moment.
        package var counters: AllocationAgent.Counters
        /// The arenas malloc_info listed (main first); nil when the list could not be written or read.
        package var arenas: [ArenaStats]?
        /// Why there is no arena list.
        package var arenaListError: String?

        /// Bytes glibc holds from the system: the arenas and the mmapped chunks.
        package var system: UInt64 { arena + hblkhd }
        /// Bytes glibc counts in use: the arenas' chunks in use and the mmapped chunks (headers included).
        package var inUse: UInt64 { uordblks + hblkhd }
    }

    /// Posts a request; `answer(to:)` tells when it was served.
    /// - Parameter arenas: the arena list too (malloc_info walks every arena under its lock: asked for, not at every tick).
    package func ask(arenas: Bool = false) -> UInt64 { hw_agent_live_ask(map, arenas ? 1 : 0) }

    /// The answer to request `seq`, once the target has served it (or a later one).
    package func answer(to seq: UInt64, arenas: Bool = false) -> MallocReport? {
        var a = hw_agent_live_answer_t()
        guard hw_agent_live_answer(map, seq, &a) != 0 else { return nil }
        var report = MallocReport(arena: a.arena, ordblks: a.ordblks, hblks: a.hblks, hblkhd: a.hblkhd, uordblks: a.uordblks,
                                  fordblks: a.fordblks, keepcost: a.keepcost, tNs: a.t_ns,
                                  counters: .init(a.counters))
        if a.error != 0 {
            report.arenaListError = "the agent could not write \(arenaListPath): \(String(cString: strerror(a.error)))"
        } else if arenas {
            do { report.arenas = try AllocatorProbe.parseMallocInfo(try FileTree.readText(arenaListPath)) } catch {
                report.arenaListError = "\(arenaListPath): \(error)"
            }
        }
        return report
    }

    /// Asks for mallinfo2 and the arena list, and waits up to `timeoutNs` for the answer, looking every millisecond.
    package func request(timeoutNs: UInt64) throws(Failure) -> MallocReport {
        let seq = ask(arenas: true)
        let start = MonotonicClock.nanoseconds()
        while true {
            if let report = answer(to: seq, arenas: true) { return report }
            let waited = MonotonicClock.nanoseconds() &- start
            if waited >= timeoutNs { throw .noAllocationToAnswerOn(pid: pid, waitedNs: waited) }
            MonotonicClock.sleep(nanoseconds: 1_000_000)
        }
    }

    /// Where the agent writes malloc_info's XML: beside the live file.
    package var arenaListPath: String {
        let folder = FileTree.directory(of: path)
        return folder + "/\(pid).arenas.xml"
    }
}
