@preconcurrency import Glibc
import FoundationEssentials
import HighwaterProbes

/// The few file operations the harness needs, with errors that name the path.
public enum FileTree {
    public static func createDirectory(_ path: String) throws {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o755) != 0 && errno != EEXIST { throw ProbeError.system("mkdir", path: current) }
        }
    }

    /// Writes through a temporary file and a rename, so a reader never sees half a file.
    public static func write(_ data: Data, to path: String) throws {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 { throw ProbeError.system("open", path: temporary) }
        defer { close(fd) }
        try data.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + off, raw.count - off)
                if n < 0 { if errno == EINTR { continue }; throw ProbeError.system("write", path: temporary) }
                off += n
            }
        }
        if rename(temporary, path) != 0 { throw ProbeError.system("rename", path: path) }
    }

    public static func write(_ text: String, to path: String) throws {
        try write(Data(text.utf8), to: path)
    }

    /// A new, empty, private directory `DIR/PREFIXxxxxxx`.
    public static func makeTemporaryDirectory(in directory: String, prefix: String) throws -> String {
        var template = Array((directory + "/" + prefix + "XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw ProbeError.system("mkdtemp", path: directory) }
        return String(cString: made)
    }

    /// Removes `path` and everything under it, without following links or entering another filesystem
    /// (a mount left behind is skipped, not emptied); absent is fine.
    public static func removeTree(_ path: String) {
        var top = stat()
        guard lstat(path, &top) == 0 else { return }
        removeTree(path, device: top.st_dev)
    }

    private static func removeTree(_ path: String, device: dev_t) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { _ = unlink(path); return }
        guard st.st_dev == device, let names = try? ProcDirectory.names(path) else { return }
        for name in names { removeTree(path + "/" + name, device: device) }
        _ = rmdir(path)
    }

    /// One JSON document from a file (`summary.json`, `plan.json`).
    public static func readJSON<T: Decodable>(_ type: T.Type, from path: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(try ProcFile.read(path).utf8))
    }

    /// The last `lines` lines of a text file, or nil.
    public static func tail(_ path: String, lines: Int) -> String? {
        guard let text = try? ProcFile.read(path), !text.isEmpty else { return nil }
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }
}

/// Reading JSON Lines back: one record per line; a torn last line (an interrupted run) is skipped.
public enum JSONLines {
    public static func read<T: Decodable>(_ path: String) -> [T] {
        guard let text = try? ProcFile.read(path) else { return [] }
        let decoder = JSONDecoder()
        var records: [T] = []
        for line in text.split(separator: "\n") where !line.isEmpty {
            if let r = try? decoder.decode(T.self, from: Data(line.utf8)) { records.append(r) }
        }
        return records
    }
}
