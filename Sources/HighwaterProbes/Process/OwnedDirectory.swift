@preconcurrency import Glibc
import HighwaterSystem

/// Temporary directories named after the Highwater process that made them (`PREFIXPID.STARTTIME-xxxxxx`), so a
/// later one can tell a directory a SIGKILLed run left behind from one a live run is using, and sweep the first kind:
/// the agent's live files in /dev/shm, the download file, the tmpfs mount points.
package enum OwnedDirectory {
    /// This process, as the name records it: the pid alone could be reused by the time someone looks.
    package static var current: String { "\(getpid()).\(startTime(of: getpid()) ?? 0)" }

    /// A new private directory `DIR/PREFIXPID.START-xxxxxx`, after sweeping what dead owners left there.
    package static func make(in directory: String, prefix: String) throws(SystemError) -> String {
        sweepStale(in: directory, prefix: prefix, contents: true)
        return try FileTree.makeTemporaryDirectory(in: directory, prefix: prefix + current + "-")
    }

    /// Removes the directories in `directory` named with `prefix` whose owner has exited. With `contents`, what is
    /// in them goes too (never across a mount); without, only empty ones (`rmdir`: a tmpfs still mounted stays).
    @discardableResult
    package static func sweepStale(in directory: String, prefix: String, contents: Bool) -> [String] {
        guard let names = try? Syscall.directoryNames(directory) else { return [] }
        var removed: [String] = []
        for name in names where name.hasPrefix(prefix) {
            guard let owner = owner(of: name, prefix: prefix), !isAlive(owner) else { continue }
            let path = directory + "/" + name
            // Our own kind only: a directory, owned by us, not a link someone put there.
            guard let st = try? Syscall.linkStatus(path), (st.st_mode & S_IFMT) == S_IFDIR, st.st_uid == geteuid() else { continue }
            if contents { FileTree.removeTree(path) } else { _ = rmdir(path) }
            if access(path, F_OK) != 0 { removed.append(path) }
        }
        return removed
    }

    /// `(pid, start time)` from `PREFIXPID.START-xxxxxx`; nil for any other name.
    static func owner(of name: String, prefix: String) -> (pid: Int32, start: UInt64)? {
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
