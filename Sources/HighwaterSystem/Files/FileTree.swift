@preconcurrency import Glibc

/// The file operations Highwater needs, each written once on `Syscall`, with errors that name the path.
public enum FileTree {
    /// Creates a directory and its parents.
    public static func createDirectory(_ path: String, mode: mode_t = 0o755) throws(SystemError) {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            try Syscall.mkdir(current, mode: mode)
        }
    }

    /// Writes through a temporary file and a rename, so a reader never sees half a file.
    public static func writeAtomically(_ bytes: UnsafeRawBufferPointer, to path: String) throws(SystemError) {
        let temporary = path + ".partial"
        let fd = try Syscall.open(temporary, O_WRONLY | O_CREAT | O_TRUNC)
        do throws(SystemError) {
            try Syscall.writeAll(fd, bytes, path: temporary)
            Syscall.close(fd)
            try Syscall.rename(temporary, path)
        } catch {
            Syscall.close(fd)
            Syscall.unlinkIfPresent(temporary)
            throw error
        }
    }

    public static func writeAtomically(_ bytes: [UInt8], to path: String) throws(SystemError) {
        var failure: SystemError?
        bytes.withUnsafeBytes { raw in
            do throws(SystemError) { try writeAtomically(raw, to: path) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    public static func writeAtomically(_ text: String, to path: String) throws(SystemError) {
        try writeAtomically(Array(text.utf8), to: path)
    }

    /// The whole file, read to EOF (so /proc and /sys files, which report size 0, read whole too).
    /// The whole file. With a `limit`, a larger file (or /dev/zero) fails with EFBIG before more than
    /// `limit` + 64 KiB is held, and a FIFO with no writer reads as empty instead of hanging in open.
    public static func readBytes(_ path: String, limit: Int? = nil) throws(SystemError) -> [UInt8] {
        let fd = try Syscall.open(path, O_RDONLY | (limit == nil ? 0 : O_NONBLOCK))
        defer { Syscall.close(fd) }
        if limit != nil { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) }
        var bytes: [UInt8] = []
        var chunk = 65536
        while true {
            if let limit, bytes.count > limit { throw SystemError("read", path: path, errno: EFBIG) }
            let start = bytes.count
            bytes.append(contentsOf: repeatElement(0, count: chunk))
            var failure: SystemError?
            let n = bytes.withUnsafeMutableBytes { raw -> Int in
                do throws(SystemError) {
                    return try Syscall.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[start...]), path: path)
                } catch { failure = error; return 0 }
            }
            if let failure { throw failure }
            bytes.removeLast(chunk - n)
            if n == 0 { return bytes }
            chunk = limit == nil ? min(chunk * 2, 1 << 24) : 65536
        }
    }

    public static func readText(_ path: String, limit: Int? = nil) throws(SystemError) -> String {
        String(decoding: try readBytes(path, limit: limit), as: UTF8.self)
    }

    /// The last `lines` lines of a text file, or nil when it is absent or empty.
    public static func tail(_ path: String, lines: Int) -> String? {
        guard let text = try? readText(path), !text.isEmpty else { return nil }
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    public static func isDirectory(_ path: String) -> Bool {
        guard let st = try? Syscall.status(path) else { return false }
        return (st.st_mode & S_IFMT) == S_IFDIR
    }

    public static func size(_ path: String) throws(SystemError) -> Int {
        Int(try Syscall.status(path).st_size)
    }

    /// Paths in a directory whose names end in one of `suffixes`, hidden ones left out, sorted for a stable order.
    public static func list(_ directory: String, suffixes: [String]) throws(SystemError) -> [String] {
        let names = try Syscall.directoryNames(directory)
            .filter { name in !name.hasPrefix(".") && suffixes.contains { name.hasSuffix($0) } }
        return names.sorted().map { directory.hasSuffix("/") ? directory + $0 : directory + "/" + $0 }
    }

    /// The directory part of a path, as the path gives it: `.` for a bare name, `/` for a file at the root.
    public static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// A new, empty, private directory `DIR/PREFIXxxxxxx`.
    public static func makeTemporaryDirectory(in directory: String, prefix: String) throws(SystemError) -> String {
        try Syscall.mkdtemp(directory + "/" + prefix + "XXXXXX")
    }

    /// Removes `path` and everything under it, without following links or entering another filesystem
    /// (a mount left behind is skipped, not emptied); absent is fine.
    public static func removeTree(_ path: String) {
        guard let top = try? Syscall.linkStatus(path) else { return }
        removeTree(path, device: top.st_dev)
    }

    private static func removeTree(_ path: String, device: dev_t) {
        guard let st = try? Syscall.linkStatus(path) else { return }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { Syscall.unlinkIfPresent(path); return }
        guard st.st_dev == device, let names = try? Syscall.directoryNames(path) else { return }
        for name in names { removeTree(path + "/" + name, device: device) }
        _ = rmdir(path)
    }
}
