@preconcurrency import Glibc
import CHighwater

package typealias FileStatus = Glibc.stat
package typealias FilesystemStatus = Glibc.statvfs

/// One wrapper per system call Highwater makes: each retries EINTR and throws a `SystemError`
/// naming the call, the path and errno (after swift-nio's `NIOPosix/System.swift`).
package enum Syscall {
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
    package static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o644) throws(SystemError) -> Int32 {
        try retrying("open", path: path) { Glibc.open(path, flags | O_CLOEXEC, mode) }
    }

    /// close(2) is not retried on EINTR: Linux has released the descriptor either way.
    package static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    package static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, path: String) throws(SystemError) -> Int {
        try retrying("read", path: path) { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    package static func pread(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int,
                             path: String) throws(SystemError) -> Int {
        try retrying("pread", path: path) { Glibc.pread(fd, buffer.baseAddress, buffer.count, off_t(offset)) }
    }

    /// One write(2); returns how many bytes the kernel took.
    package static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(SystemError) -> Int {
        try retrying("write", path: path) { Glibc.write(fd, bytes.baseAddress, bytes.count) }
    }

    /// Writes every byte (a short write is continued). A write that makes no progress is ENOSPC, as the kernel means it.
    package static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(SystemError) {
        var done = 0
        while done < bytes.count {
            let n = try write(fd, UnsafeRawBufferPointer(rebasing: bytes[done...]), path: path)
            if n == 0 { throw SystemError("write", path: path, errno: ENOSPC) }
            done += n
        }
    }

    package static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(SystemError) {
        var failure: SystemError?
        bytes.withUnsafeBytes { raw in
            do throws(SystemError) { try writeAll(fd, raw, path: path) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    package static func rename(_ from: String, _ to: String) throws(SystemError) {
        _ = try retrying("rename", path: to) { Glibc.rename(from, to) }
    }

    /// unlink(2); a path already gone is fine.
    package static func unlinkIfPresent(_ path: String) {
        _ = Glibc.unlink(path)
    }

    /// mkdir(2); an existing entry is fine.
    package static func mkdir(_ path: String, mode: mode_t = 0o755) throws(SystemError) {
        if Glibc.mkdir(path, mode) != 0 && Glibc.errno != EEXIST { throw SystemError("mkdir", path: path) }
    }

    /// rmdir(2): only an empty directory goes.
    package static func removeEmptyDirectory(_ path: String) throws(SystemError) {
        _ = try retrying("rmdir", path: path) { Glibc.rmdir(path) }
    }

    /// lstat(2): the entry itself, a link not followed.
    package static func linkStatus(_ path: String) throws(SystemError) -> FileStatus {
        var st = FileStatus()
        _ = try retrying("lstat", path: path) { lstat(path, &st) }
        return st
    }

    /// stat(2).
    package static func status(_ path: String) throws(SystemError) -> FileStatus {
        var st = FileStatus()
        _ = try retrying("stat", path: path) { stat(path, &st) }
        return st
    }

    /// fstat(2); `path` only names the file in an error.
    package static func status(descriptor fd: Int32, path: String) throws(SystemError) -> FileStatus {
        var st = FileStatus()
        _ = try retrying("fstat", path: path) { fstat(fd, &st) }
        return st
    }

    /// statvfs(2): the filesystem holding `path`.
    package static func filesystemStatus(_ path: String) throws(SystemError) -> FilesystemStatus {
        var vfs = FilesystemStatus()
        _ = try retrying("statvfs", path: path) { statvfs(path, &vfs) }
        return vfs
    }

    /// Every name in a directory but `.` and `..`, unsorted.
    package static func directoryNames(_ path: String) throws(SystemError) -> [String] {
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
    package static func mkdtemp(_ template: String) throws(SystemError) -> String {
        var bytes = Array(template.utf8CString)
        guard let made = Glibc.mkdtemp(&bytes) else { throw SystemError("mkdtemp", path: template) }
        return String(cString: made)
    }

    /// A new file from a `…XXXXXX` template, opened for writing and closed on exec.
    package static func mkstemp(_ template: String) throws(SystemError) -> (fd: Int32, path: String) {
        var bytes = Array(template.utf8CString)
        let fd = try retrying("mkstemp", path: template) { bytes.withUnsafeMutableBufferPointer { hw_mkstemp_cloexec($0.baseAddress!) } }
        return (fd, String(decoding: bytes.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    /// A pipe whose both ends close on exec.
    package static func pipe() throws(SystemError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        _ = try retrying("pipe2", path: "") { hw_pipe_cloexec(&fds) }
        return (fds[0], fds[1])
    }

    /// Visits every name in a directory but `.` and `..`, unsorted, without building an array (the sampler counts
    /// a process's tasks and descriptors so each tick).
    package static func forEachDirectoryEntry(_ path: String, _ body: (UnsafeRawBufferPointer) -> Void) throws(SystemError) {
        guard let dir = opendir(path) else { throw SystemError("opendir", path: path) }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            withUnsafeBytes(of: entry.pointee.d_name) { raw in
                let name = UnsafeRawBufferPointer(rebasing: raw.prefix { $0 != 0 })
                if !(name.count == 1 && name[0] == 0x2E) && !(name.count == 2 && name[0] == 0x2E && name[1] == 0x2E) {
                    body(name)
                }
            }
        }
    }

    /// readlink(2) into a buffer the caller keeps (the sampler reads every descriptor's link each tick): how many
    /// bytes it wrote, or nil (not a link, gone, or unreadable).
    package static func readLink(_ path: String, into buffer: inout [UInt8]) -> Int? {
        let n = buffer.withUnsafeMutableBufferPointer { b in
            b.withMemoryRebound(to: CChar.self) { Glibc.readlink(path, $0.baseAddress!, $0.count) }
        }
        return n > 0 ? n : nil
    }

    /// readlink(2): where a symbolic link points, or nil (not a link, gone, or unreadable).
    package static func readLink(_ path: String) -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        return readLink(path, into: &buffer).map { String(decoding: buffer.prefix($0), as: UTF8.self) }
    }

    /// realpath(3): the path with every link and `..` resolved, or nil when some part does not exist.
    package static func realPath(_ path: String) -> String? {
        guard let real = Glibc.realpath(path, nil) else { return nil }
        defer { free(real) }
        return String(cString: real)
    }

    /// access(2) for the real user: R_OK, W_OK, X_OK or F_OK.
    package static func canAccess(_ path: String, _ mode: Int32) -> Bool {
        Glibc.access(path, mode) == 0
    }

    /// chmod(2).
    package static func chmod(_ path: String, _ mode: mode_t) throws(SystemError) {
        _ = try retrying("chmod", path: path) { Glibc.chmod(path, mode) }
    }

    /// kill(2): sends `signal` to a process (a negative `pid`: its process group); false when there is none to
    /// receive it or it is not ours.
    @discardableResult
    package static func signal(_ pid: pid_t, _ signal: Int32) -> Bool {
        Glibc.kill(pid, signal) == 0
    }

    /// Whether a process with this PID exists: kill(pid, 0), where EPERM means it exists but is not ours.
    package static func processExists(_ pid: pid_t) -> Bool {
        Glibc.kill(pid, 0) == 0 || Glibc.errno == EPERM
    }

    /// mount(2) of a tmpfs at `path` with `options` (such as `size=16m,mode=0700`), nosuid and nodev: what lands
    /// on it is untrusted.
    package static func mountTmpfs(at path: String, options: String) throws(SystemError) {
        _ = try retrying("mount(tmpfs, \(options))", path: path) {
            Glibc.mount("tmpfs", path, "tmpfs", UInt(MS_NOSUID | MS_NODEV), options)
        }
    }

    /// umount2(2) with MNT_DETACH: the mount goes at once, and its memory when the last open file on it closes.
    package static func unmountDetached(_ path: String) throws(SystemError) {
        _ = try retrying("umount2", path: path) { Glibc.umount2(path, Int32(MNT_DETACH)) }
    }

    /// A file mapped shared and writable (another process's live table), or nil for an empty file.
    package static func mapShared(_ fd: Int32, size: Int, path: String) throws(SystemError) -> UnsafeMutableRawPointer {
        guard let m = Glibc.mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), m != MAP_FAILED else {
            throw SystemError("mmap", path: path)
        }
        return m
    }

    /// munmap(2) of a mapping this layer made.
    package static func unmap(_ address: UnsafeMutableRawPointer, size: Int) {
        _ = Glibc.munmap(address, size)
    }
}
