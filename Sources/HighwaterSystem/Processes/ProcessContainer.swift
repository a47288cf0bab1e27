@preconcurrency import Glibc
import Synchronization

/// Where a command Highwater starts is kept with everything it starts in turn — workers, and daemons that make a
/// session of their own and leave its process group — so all of it ends with the run: a cgroup v2 of the run's own
/// (`CGROUP/highwater-PID.N`) where one can be made, which no descendant can leave; else only the process group.
/// A cgroup whose Highwater was killed is emptied and removed by the next one that starts.
package final class ProcessContainer: Sendable {
    /// The cgroup's directory; nil when none could be made (no cgroup2 mount, no right to write it).
    private let made: String?
    private let moved = Atomic<Bool>(false)
    /// The cgroup holding the command, once it was moved there.
    package var cgroup: String? { moved.load(ordering: .acquiring) ? made : nil }

    /// What contains the command, in words for a note.
    package var description: String {
        cgroup.map { "a cgroup v2 of its own (\($0))" } ?? "its process group (no cgroup v2 could be made here)"
    }

    package static let prefix = "highwater-"

    private static let count = Atomic<Int>(0)

    /// Makes a new cgroup beside this process's own, after sweeping those that killed runs left.
    package init() {
        // The keeper's script quotes the path in '…': a path that holds a quote gets no cgroup, only the group.
        guard let parent = Self.parentDirectory(), !parent.contains("'") else { made = nil; return }
        Self.sweepStale(in: parent)
        let path = "\(parent)/\(Self.prefix)\(getpid()).\(Self.count.add(1, ordering: .relaxed).newValue)"
        made = mkdir(path, 0o755) == 0 ? path : nil
    }

    /// Moves a just-started command into the cgroup. posix_spawn returns once the child has exec'd, so this comes
    /// while the dynamic loader runs, before the program's own code could fork. False when it could not be moved:
    /// the cgroup is then removed and the process group alone contains the command.
    @discardableResult
    package func add(_ pid: Int32) -> Bool {
        guard let cgroup = made else { return false }
        let fd = open(cgroup + "/cgroup.procs", O_WRONLY | O_CLOEXEC)
        let text = Array(String(pid).utf8)
        let moved = fd >= 0 && write(fd, text, text.count) == text.count
        if fd >= 0 { close(fd) }
        if moved { self.moved.store(true, ordering: .releasing) } else { _ = rmdir(cgroup) }
        return moved
    }

    /// The processes in the cgroup now.
    package var members: [Int32] {
        guard let cgroup, let text = try? FileTree.readText(cgroup + "/cgroup.procs", limit: 16 << 20) else { return [] }
        return text.split(separator: "\n").compactMap { Int32($0) }
    }

    /// SIGKILL to everything in the cgroup (cgroup.kill, one write), waits up to `timeoutNs` for it to empty and
    /// removes it. Returns those still there.
    @discardableResult
    package func end(timeoutNs: UInt64 = 2_000_000_000) -> [Int32] {
        guard let cgroup = made else { return [] }
        return Self.end(cgroup, timeoutNs: timeoutNs)
    }

    /// The shell text a keeper runs when Highwater is gone: the same end as `end`, without waiting.
    package var keeperText: String {
        guard let cgroup else { return "" }
        // Starts with `;`: it follows another script. cgroup.procs reports size 0, so emptiness is read, not stat'ed.
        return "; echo 1 > '\(cgroup)/cgroup.kill' 2>/dev/null; i=0; while [ -n \"$(cat '\(cgroup)/cgroup.procs' 2>/dev/null)\" ] && [ $i -lt 20 ]; do sleep 0.1; i=$((i+1)); done; rmdir '\(cgroup)' 2>/dev/null"
    }

    static func end(_ cgroup: String, timeoutNs: UInt64) -> [Int32] {
        let fd = open(cgroup + "/cgroup.kill", O_WRONLY | O_CLOEXEC)
        let killed = fd >= 0 && write(fd, "1", 1) == 1
        if fd >= 0 { close(fd) }
        func members() -> [Int32] {
            ((try? FileTree.readText(cgroup + "/cgroup.procs", limit: 16 << 20)) ?? "").split(separator: "\n").compactMap { Int32($0) }
        }
        // A kernel before 5.14 has no cgroup.kill: each member is killed by hand (none can leave, so none is missed).
        if !killed { for pid in members() { _ = kill(pid, SIGKILL) } }
        let deadline = MonotonicClock.nanoseconds() &+ timeoutNs
        var left = members()
        while !left.isEmpty && MonotonicClock.nanoseconds() < deadline {
            MonotonicClock.sleep(nanoseconds: 10_000_000)
            left = members()
        }
        _ = rmdir(cgroup)
        return left
    }

    /// Ends and removes the cgroups of Highwater processes that no longer run, beside this process's own.
    package static func sweepStale() {
        if let parent = parentDirectory() { sweepStale(in: parent) }
    }

    static func sweepStale(in parent: String) {
        guard let names = try? Syscall.directoryNames(parent) else { return }
        for name in names where name.hasPrefix(prefix) {
            guard let pid = Int32(name.dropFirst(prefix.count).prefix { $0 != "." }), pid > 0, pid != getpid() else { continue }
            guard kill(pid, 0) != 0 && errno == ESRCH || !isHighwater(pid) else { continue }
            _ = end(parent + "/" + name, timeoutNs: 500_000_000)
        }
    }

    /// Whether `pid` runs a Highwater executable (a recycled pid runs something else).
    static func isHighwater(_ pid: Int32) -> Bool {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/\(pid)/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return true }  // not ours to read: assume alive
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self).lowercased().contains("highwater")
    }

    /// The cgroup2 directory this process is in, when this process may make cgroups in it.
    static func parentDirectory() -> String? {
        guard let mounts = try? FileTree.readText("/proc/self/mountinfo", limit: 4 << 20),
              let own = try? FileTree.readText("/proc/self/cgroup", limit: 1 << 20) else { return nil }
        // mountinfo: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS … - cgroup2 SOURCE SUPER"
        guard let line = mounts.split(separator: "\n").first(where: { $0.contains(" - cgroup2 ") }) else { return nil }
        let fields = line.split(separator: " ")
        guard fields.count > 4 else { return nil }
        let root = String(fields[3]), mountPoint = String(fields[4])
        guard let entry = own.split(separator: "\n").first(where: { $0.hasPrefix("0::") }) else { return nil }
        var path = String(entry.dropFirst(3))
        // The mount shows the hierarchy from ROOT down (a container's namespace): the path is relative to it.
        if root != "/", path.hasPrefix(root) { path = String(path.dropFirst(root.count)) }
        let directory = mountPoint + (path == "/" ? "" : path)
        return access(directory, W_OK) == 0 ? directory : nil
    }
}
