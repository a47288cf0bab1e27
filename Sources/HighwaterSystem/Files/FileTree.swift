@preconcurrency import Glibc

/// The file operations Highwater needs, each written once on `Syscall`, with errors that name the path.
package enum FileTree {
    /// Creates a directory and its parents.
    package static func createDirectory(_ path: String, mode: mode_t = 0o755) throws(SystemError) {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            try Syscall.mkdir(current, mode: mode)
        }
    }

    /// Writes through a temporary file and a rename, so a reader never sees half a file.
    package static func writeAtomically(_ bytes: UnsafeRawBufferPointer, to path: String) throws(SystemError) {
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

    package static func writeAtomically(_ bytes: [UInt8], to path: String) throws(SystemError) {
        var failure: SystemError?
        bytes.withUnsafeBytes { raw in
            do throws(SystemError) { try writeAtomically(raw, to: path) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    package static func writeAtomically(_ text: String, to path: String) throws(SystemError) {
        try writeAtomically(Array(text.utf8), to: path)
    }

    /// The most read whole of a file Highwater wrote itself and reads back (a phase's requests.jsonl): files a
    /// user names have their own, smaller limits.
    package static let largestReadBack = 1 << 30

    /// The whole of a regular file of at most `limit` bytes, read to EOF (so /proc and /sys files, which report
    /// size 0, read whole too). This is the one read of a file a user names or Highwater reads back: it opens
    /// without blocking (a FIFO does not hang it), refuses what is not a regular file (a FIFO, /dev/zero, a
    /// directory) and stops with EFBIG before more than `limit` + 64 KiB is held; both errors say so in words.
    package static func readBytes(_ path: String, limit: Int = largestReadBack) throws(SystemError) -> [UInt8] {
        let fd = try openRegularFile(path)
        defer { Syscall.close(fd) }
        var bytes: [UInt8] = []
        var chunk = 65536
        while true {
            if bytes.count > limit {
                throw SystemError("read", path: path, errno: EFBIG, detail: "it is larger than \(formatLimit(limit)), the most Highwater reads of this file")
            }
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
            chunk = min(chunk * 2, 1 << 22)
        }
    }

    /// Opens a regular file for reading without blocking in open(2), then reads it blocking (a regular file never
    /// waits); anything else is refused with its kind named, before a byte is read.
    package static func openRegularFile(_ path: String) throws(SystemError) -> Int32 {
        let fd = try Syscall.open(path, O_RDONLY | O_NONBLOCK)
        let st: FileStatus
        do { st = try Syscall.status(descriptor: fd, path: path) } catch { Syscall.close(fd); throw error }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            Syscall.close(fd)
            throw SystemError("open", path: path, errno: EINVAL, detail: "it is \(kind(st.st_mode)), not a regular file")
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return fd
    }

    private static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: return "a directory"
        case S_IFIFO: return "a FIFO"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        default: return "not a file"
        }
    }

    /// A byte limit in the largest binary unit that divides it (`64 MiB`, `1 MiB`, `512 KiB`).
    package static func formatLimit(_ bytes: Int) -> String {
        for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] where bytes >= 1 << shift && bytes % (1 << shift) == 0 {
            return "\(bytes >> shift) \(unit)"
        }
        return "\(bytes) bytes"
    }

    package static func readText(_ path: String, limit: Int = largestReadBack) throws(SystemError) -> String {
        String(decoding: try readBytes(path, limit: limit), as: UTF8.self)
    }

    /// The last `lines` lines of a text file (of at most 64 MiB), or nil when it is absent, empty or larger.
    package static func tail(_ path: String, lines: Int) -> String? {
        guard let text = try? readText(path, limit: 64 << 20), !text.isEmpty else { return nil }
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    package static func isDirectory(_ path: String) -> Bool {
        guard let st = try? Syscall.status(path) else { return false }
        return (st.st_mode & S_IFMT) == S_IFDIR
    }

    package static func size(_ path: String) throws(SystemError) -> Int {
        Int(try Syscall.status(path).st_size)
    }

    /// Paths in a directory whose names end in one of `suffixes`, hidden ones left out, sorted for a stable order.
    package static func list(_ directory: String, suffixes: [String]) throws(SystemError) -> [String] {
        let names = try Syscall.directoryNames(directory)
            .filter { name in !name.hasPrefix(".") && suffixes.contains { name.hasSuffix($0) } }
        return names.sorted().map { directory.hasSuffix("/") ? directory + $0 : directory + "/" + $0 }
    }

    /// The working directory, to make a relative path absolute before a child starts elsewhere; `.` if unreadable.
    package static var currentDirectory: String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        return getcwd(&buffer, buffer.count).map { String(cString: $0) } ?? "."
    }

    /// The directory part of a path, as the path gives it: `.` for a bare name, `/` for a file at the root.
    package static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// A new, empty, private directory `DIR/PREFIXxxxxxx`.
    package static func makeTemporaryDirectory(in directory: String, prefix: String) throws(SystemError) -> String {
        try Syscall.mkdtemp(directory + "/" + prefix + "XXXXXX")
    }

    /// Removes `path` and everything under it, without following links or entering another filesystem
    /// (a mount left behind is skipped, not emptied); absent is fine.
    package static func removeTree(_ path: String) {
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
