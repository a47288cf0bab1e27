@preconcurrency import Glibc
import HighwaterSystem

/// One thread of a process as `/proc/PID/task/TID` shows it.
package struct ThreadInfo: Equatable, Sendable {
    package var tid: Int32
    package var name: String
    package var state: Character
}

/// Directory listings: thread ids and open file descriptors under /proc, and the names in any directory.
package enum ProcDirectory {
    /// Every name in a directory but `.` and `..`, unsorted.
    package static func names(_ path: String) throws -> [String] {
        do { return try Syscall.directoryNames(path) } catch { throw ProbeError(error) }
    }

    /// Counts the numeric entries of a directory (tasks, fds) without building names.
    package static func countEntries(_ path: String) throws -> Int {
        var count = 0
        do {
            try Syscall.forEachDirectoryEntry(path) { name in
                if name[0] >= 48 && name[0] <= 57 { count += 1 }
            }
        } catch { throw ProbeError(error) }
        return count
    }

    /// The numeric entries of a directory, as integers.
    package static func numericEntries(_ path: String) throws -> [Int32] {
        try names(path).compactMap { Int32($0) }.sorted()
    }

    /// Every thread of a process with its name and state. A thread that exits while we look is skipped.
    package static func threads(of pid: Int32) throws -> [ThreadInfo] {
        let base = "/proc/\(pid)/task"
        return try numericEntries(base).compactMap { tid in
            guard let stat = try? ProcFile(base + "/\(tid)/stat", keepOpen: false).withContents({ try ProcessStat.parse($0) }),
                  let comm = try? ProcFile.read(base + "/\(tid)/comm") else { return nil }
            return ThreadInfo(tid: tid, name: String(comm.dropLast(comm.hasSuffix("\n") ? 1 : 0)), state: stat.state)
        }
    }
}
