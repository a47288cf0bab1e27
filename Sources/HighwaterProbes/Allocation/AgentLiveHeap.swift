@preconcurrency import Glibc
import HighwaterSystem
import Synchronization

/// The live heap of a target and its descendants while they run: each process that preloads the agent with
/// `HIGHWATER_AGENT_SHM=directory` has its own live file there (`PID.shm`), opened here when it appears and again
/// when a program exec'd in place has replaced it, and summed over the processes asked for. Safe to use from the
/// sampler's thread and the load driver at once.
package final class AgentLiveHeap: Sendable {
    /// The variable that tells the agent where to write its live file.
    package static let variable = "HIGHWATER_AGENT_SHM"

    package let directory: String
    /// How often the files are looked for again (a new worker, an exec in place): a stat per process.
    let refreshNs: UInt64

    struct State {
        var files: [Int32: AgentLiveFile] = [:]
        /// When every process's file was last looked for; nil before the first time.
        var refreshedAt: UInt64?
        /// When the processes without a file yet were last looked for.
        var missingAt: UInt64 = 0
        /// Requests for mallinfo2 not answered yet, by process.
        var pending: [Int32: UInt64] = [:]
        /// Each process's latest answer: an idle worker answers only when it next allocates, and until then its
        /// last answer stands in the sum rather than dropping out of it.
        var answers: [Int32: AgentLiveFile.MallocReport] = [:]
    }

    /// How often processes without a live file are looked for again (their agent has not started, or none is in
    /// them): the reads around each request come here too, and a stat each time would be on their path.
    static let missingRetryNs: UInt64 = 10_000_000

    private let state = Mutex(State())

    package init(directory: String, refreshNs: UInt64 = 100_000_000) {
        self.directory = directory
        self.refreshNs = refreshNs
    }

    /// A fresh directory for a command's live files: in /dev/shm when it is there (tmpfs: the target's counter
    /// pages are never written back to a disk), else in the temp dir. The caller removes it.
    package static let directoryPrefix = "highwater-agent-"

    package static func makeDirectory() throws -> String {
        let base = Syscall.canAccess("/dev/shm", W_OK) ? "/dev/shm" : (ProcessEnvironment.current["TMPDIR"] ?? "/tmp")
        // Named after this process, so the next one sweeps it if this one is killed before it removes it.
        return try OwnedDirectory.make(in: base, prefix: directoryPrefix)
    }

    /// The live heap summed over `pids` that report, and how many did.
    package struct Reading: Sendable, Equatable {
        package var liveBytes: UInt64
        package var processes: Int
    }

    /// nil when none of `pids` has a live file (yet): the agent is not in them, or they have not started.
    package func read(pids: [Int32], now: UInt64 = MonotonicClock.nanoseconds()) -> Reading? {
        state.withLock { s in
            refresh(&s, pids: pids, now: now)
            var total: Int64 = 0
            var processes = 0
            for pid in pids {
                guard let file = s.files[pid] else { continue }
                total += file.counters().liveBytes
                processes += 1
            }
            return processes == 0 ? nil : Reading(liveBytes: UInt64(max(0, total)), processes: processes)
        }
    }

    /// glibc's view summed over the processes that have answered (mallinfo2 of each, its latest answer).
    package struct MallocReading: Sendable, Equatable {
        package var free: UInt64 = 0
        package var system: UInt64 = 0
        package var processes = 0
    }

    /// Collects the answers that came, and asks again each process of `pids` with no request pending. Never waits:
    /// an answer comes with the target's next allocation, and lands in a later call.
    package func pollMalloc(pids: [Int32]) -> MallocReading? {
        state.withLock { s in
            for (pid, seq) in s.pending {
                guard let file = s.files[pid] else { s.pending[pid] = nil; continue }
                guard let r = file.answer(to: seq) else { continue }
                s.pending[pid] = nil
                s.answers[pid] = r
            }
            for pid in pids where s.pending[pid] == nil {
                if let file = s.files[pid] { s.pending[pid] = file.ask() }
            }
            var reading = MallocReading()
            for pid in pids {
                guard let r = s.answers[pid] else { continue }
                reading.free += r.fordblks; reading.system += r.system
                reading.processes += 1
            }
            return reading.processes > 0 ? reading : nil
        }
    }

    /// The live file of `pid`, as last opened.
    package func file(of pid: Int32) -> AgentLiveFile? {
        state.withLock { s in
            refresh(&s, pids: [pid], now: MonotonicClock.nanoseconds())
            // Asked for by name: looked for now, whatever the last look at processes without a file was.
            if s.files[pid] == nil { open(&s, pids: [pid]) }
            return s.files[pid]
        }
    }

    /// Opens the files of `pids` not open yet, reopens those replaced (a new inode under the name), and forgets
    /// the processes that have ended (only the `pids` asked for are summed, so a worker that left the tree is not).
    /// A process without a file yet is looked for every 10 ms (one failed stat each): a target's first samples come
    /// before its agent's constructor has run.
    private func refresh(_ s: inout State, pids: [Int32], now: UInt64) {
        let due = s.refreshedAt.map { now &- $0 >= refreshNs } ?? true
        if !due {
            let missing = pids.filter { s.files[$0] == nil }
            guard !missing.isEmpty, now &- s.missingAt >= Self.missingRetryNs else { return }
            s.missingAt = now
            open(&s, pids: missing)
            return
        }
        s.refreshedAt = now
        s.missingAt = now
        for pid in s.files.keys where !Syscall.processExists(pid) {
            s.files[pid] = nil
            s.pending[pid] = nil
            s.answers[pid] = nil
        }
        open(&s, pids: pids)
    }

    /// Opens each of `pids`' files that is there and not open, or replaced since it was opened.
    private func open(_ s: inout State, pids: [Int32]) {
        for pid in pids {
            let path = directory + "/\(pid).shm"
            guard let st = try? Syscall.status(path) else { continue }
            if let open = s.files[pid], open.device == UInt64(st.st_dev), open.inode == UInt64(st.st_ino) { continue }
            s.pending[pid] = nil
            s.answers[pid] = nil
            s.files[pid] = try? AgentLiveFile(path: path)
        }
    }
}
