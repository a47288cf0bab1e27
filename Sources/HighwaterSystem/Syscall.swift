@preconcurrency import Glibc
import CHighwater

public typealias FileStatus = Glibc.stat
public typealias FilesystemStatus = Glibc.statvfs

/// One wrapper per system call Highwater makes: each retries EINTR and throws a `SystemError`
/// naming the call, the path and errno (after swift-nio's `NIOPosix/System.swift`).
public enum Syscall {
    /// Runs `body` until it returns something other than -1 with EINTR.
    @inline(__always)
    static func retrying<T: FixedWidthInteger>(_ call: String, path: String, _ body: () -> T) throws(SystemError) -> T {
        while true {
            let result = body()
            if result != -1 { return result }
            let err = Glibc.errno
            if err != EINTR { throw SystemError(call, path: path, errno: err) }
        }
    }

    /// open(2), always with O_CLOEXEC: no child Highwater starts inherits its files by accident.
    public static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o644) throws(SystemError) -> Int32 {
        try retrying("open", path: path) { Glibc.open(path, flags | O_CLOEXEC, mode) }
    }

    /// close(2) is not retried on EINTR: Linux has released the descriptor either way.
    public static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, path: String) throws(SystemError) -> Int {
        try retrying("read", path: path) { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    public static func pread(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int,
                             path: String) throws(SystemError) -> Int {
        try retrying("pread", path: path) { Glibc.pread(fd, buffer.baseAddress, buffer.count, off_t(offset)) }
    }

    /// One write(2); returns how many bytes the kernel took.
    public static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(SystemError) -> Int {
        try retrying("write", path: path) { Glibc.write(fd, bytes.baseAddress, bytes.count) }
    }

    /// Writes every byte (a short write is continued). A write that makes no progress is ENOSPC, as the kernel means it.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(SystemError) {
        var done = 0
        while done < bytes.count {
            let n = try write(fd, UnsafeRawBufferPointer(rebasing: bytes[done...]), path: path)
            if n == 0 { throw SystemError("write", path: path, errno: ENOSPC) }
            done += n
        }
    }

    public static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(SystemError) {
        var failure: SystemError?
        bytes.withUnsafeBytes { raw in
            do throws(SystemError) { try writeAll(fd, raw, path: path) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    public static func rename(_ from: String, _ to: String) throws(SystemError) {
        _ = try retrying("rename", path: to) { Glibc.rename(from, to) }
    }

    /// unlink(2); a path already gone is fine.
    public static func unlinkIfPresent(_ path: String) {
        _ = Glibc.unlink(path)
    }

    /// mkdir(2); an existing entry is fine.
    public static func mkdir(_ path: String, mode: mode_t = 0o755) throws(SystemError) {
        if Glibc.mkdir(path, mode) != 0 && Glibc.errno != EEXIST { throw SystemError("mkdir", path: path) }
    }

    /// lstat(2): the entry itself, a link not followed.
    public static func linkStatus(_ path: String) throws(SystemError) -> FileStatus {
        var st = FileStatus()
        _ = try retrying("lstat", path: path) { lstat(path, &st) }
        return st
    }

    /// stat(2).
    public static func status(_ path: String) throws(SystemError) -> FileStatus {
        var st = FileStatus()
        _ = try retrying("stat", path: path) { stat(path, &st) }
        return st
    }

    /// fstat(2); `path` only names the file in an error.
    public static func status(descriptor fd: Int32, path: String) throws(SystemError) -> FileStatus {
        var st = FileStatus()
        _ = try retrying("fstat", path: path) { fstat(fd, &st) }
        return st
    }

    /// statvfs(2): the filesystem holding `path`.
    public static func filesystemStatus(_ path: String) throws(SystemError) -> FilesystemStatus {
        var vfs = FilesystemStatus()
        _ = try retrying("statvfs", path: path) { statvfs(path, &vfs) }
        return vfs
    }

    /// Every name in a directory but `.` and `..`, unsorted.
    public static func directoryNames(_ path: String) throws(SystemError) -> [String] {
        guard let dir = opendir(path) else { throw SystemError("opendir", path: path) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// A new, empty, private directory from a `…XXXXXX` template.
    public static func mkdtemp(_ template: String) throws(SystemError) -> String {
        var bytes = Array(template.utf8CString)
        guard let made = Glibc.mkdtemp(&bytes) else { throw SystemError("mkdtemp", path: template) }
        return String(cString: made)
    }

    /// A new file from a `…XXXXXX` template, opened for writing and closed on exec.
    public static func mkstemp(_ template: String) throws(SystemError) -> (fd: Int32, path: String) {
        var bytes = Array(template.utf8CString)
        let fd = try retrying("mkstemp", path: template) { bytes.withUnsafeMutableBufferPointer { hw_mkstemp_cloexec($0.baseAddress!) } }
        return (fd, String(decoding: bytes.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    /// A pipe whose both ends close on exec.
    public static func pipe() throws(SystemError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        _ = try retrying("pipe2", path: "") { hw_pipe_cloexec(&fds) }
        return (fds[0], fds[1])
    }
}
