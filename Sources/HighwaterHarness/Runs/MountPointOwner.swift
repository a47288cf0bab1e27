@preconcurrency import Glibc
import HighwaterProbes
import HighwaterSystem

/// Names the empty tmpfs mount points `run` makes in the temp dir after the process that made them
/// (`highwater-tmpfs-PID.STARTTIME-xxxxxx`), so a later run can tell one a SIGKILLed run left behind from one a
/// live run is using, and sweep the first kind. The tmpfs itself lives in the child's mount namespace and dies
/// with it; only the directory can outlive a killed parent.
public enum MountPointOwner {
    public static let prefix = "highwater-tmpfs-"

    /// This process, as the name records it: the pid alone could be reused by the time someone looks.
    public static var current: String { "\(getpid()).\(startTime(of: getpid()) ?? 0)" }

    /// The prefix for a new mount point owned by this process.
    public static var ownPrefix: String { prefix + current + "-" }

    /// Removes mount points in `directory` whose owner has exited. Only empty directories go (`rmdir`), so one
    /// with a tmpfs still mounted on it (EBUSY) or with files in it stays. Returns the paths removed.
    @discardableResult
    public static func sweepStale(in directory: String) -> [String] {
        guard let names = try? ProcDirectory.names(directory) else { return [] }
        var removed: [String] = []
        for name in names where name.hasPrefix(prefix) {
            guard let owner = owner(of: name), !isAlive(owner) else { continue }
            let path = directory + "/" + name
            // Our own kind only: a directory, owned by us, not a link someone put there.
            guard let st = try? Syscall.linkStatus(path), (st.st_mode & S_IFMT) == S_IFDIR, st.st_uid == geteuid() else { continue }
            if (try? Syscall.removeEmptyDirectory(path)) != nil { removed.append(path) }
        }
        return removed
    }

    /// `(pid, start time)` from `highwater-tmpfs-PID.START-xxxxxx`; nil for any other name.
    static func owner(of name: String) -> (pid: Int32, start: UInt64)? {
        let rest = name.dropFirst(prefix.count)
        guard let dash = rest.lastIndex(of: "-") else { return nil }
        let parts = rest[..<dash].split(separator: ".")
        guard parts.count == 2, let pid = Int32(parts[0]), pid > 0, let start = UInt64(parts[1]) else { return nil }
        return (pid, start)
    }

    static func isAlive(_ owner: (pid: Int32, start: UInt64)) -> Bool {
        guard let start = startTime(of: owner.pid) else { return false }
        return start == owner.start
    }

    static func startTime(of pid: Int32) -> UInt64? {
        ProcessStat.read(pid: pid)?.stat.startTimeTicks
    }
}
