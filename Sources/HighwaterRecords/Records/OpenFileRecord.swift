/// One line of `open-files.jsonl` (`record --watch-dir`): a file the target (or a descendant) held open on a
/// watched directory's filesystem, written when it is first seen and whenever its size changes. `deleted` files
/// are the ones `ls` no longer shows but `df` still counts (a spooled upload unlinked at once).
package struct OpenFileRecord: Codable, Equatable, Sendable {
    package var t_ns: UInt64
    package var t_unix_ns: UInt64?
    package var pid: Int32
    /// The process's name (`/proc/PID/comm`).
    package var process: String
    package var fd: Int32
    /// Where the descriptor points, without the kernel's ` (deleted)` suffix.
    package var path: String
    package var deleted: Bool
    package var size: UInt64
    /// The watched directory whose filesystem holds it.
    package var dir: String

    package init(t_ns: UInt64, pid: Int32, process: String, fd: Int32, path: String, deleted: Bool, size: UInt64, dir: String) {
        self.t_ns = t_ns; self.pid = pid; self.process = process; self.fd = fd; self.path = path; self.deleted = deleted
        self.size = size; self.dir = dir
    }

    package func write(to line: inout JSONLine) {
        line.reset()
        line.field("t_ns", t_ns)
        line.field("t_unix_ns", t_unix_ns)
        line.field("pid", Int(pid))
        line.field("process", process)
        line.field("fd", Int(fd))
        line.field("path", path)
        line.field("deleted", deleted)
        line.field("size", size)
        line.field("dir", dir)
        line.finish()
    }
}

/// A file held open on a watched filesystem over a run, at its largest: `summary.json`'s `temp_dir_holders`.
package struct TempFileHolder: Codable, Equatable, Sendable {
    package var dir: String
    package var pid: Int32
    package var process: String
    package var path: String
    package var deleted: Bool
    package var size_peak: UInt64
    package var first_seen_ns: UInt64
    package var last_seen_ns: UInt64

    package init(dir: String, pid: Int32, process: String, path: String, deleted: Bool, size_peak: UInt64,
                first_seen_ns: UInt64, last_seen_ns: UInt64) {
        self.dir = dir; self.pid = pid; self.process = process; self.path = path; self.deleted = deleted
        self.size_peak = size_peak; self.first_seen_ns = first_seen_ns; self.last_seen_ns = last_seen_ns
    }

    /// "python3 (pid 4121) held a deleted 31 MiB file /tmp/x/tmpab12 in /tmp/x".
    package var sentence: String {
        "\(process) (pid \(pid)) held \(deleted ? "a deleted" : "an open") \(Quantity.formatBytes(size_peak)) file \(path) in \(dir)"
    }
}
