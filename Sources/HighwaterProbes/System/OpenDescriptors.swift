@preconcurrency import Glibc
import HighwaterSystem

/// The regular files a process holds open, from `/proc/PID/fd`: readlink for the path (` (deleted)` once unlinked),
/// stat through the link for the size and the filesystem, which works after the unlink. Sockets, pipes and anon
/// inodes are not files on a filesystem and are passed over. Used by record's open-file watch and by `watch`.
package enum OpenDescriptors {
    package struct File {
        package var fd: Int32
        /// The path as the kernel names it, without the ` (deleted)` suffix.
        package var path: String
        package var deleted: Bool
        package var device: UInt64
        package var size: UInt64
    }

    /// Calls `body` for each regular file `pid` holds open now; nothing for a process that has ended since it was
    /// listed (it has no fd directory). `buffer` is the caller's, reused across calls (readlink's target).
    package static func forEachFile(of pid: Int32, buffer: inout [UInt8], _ body: (File) -> Void) {
        let base = "/proc/\(pid)/fd"
        var fds: [Int32] = []
        try? Syscall.forEachDirectoryEntry(base) { name in
            if name[0] >= 48 && name[0] <= 57, let fd = Int32(String(decoding: name, as: UTF8.self)) { fds.append(fd) }
        }
        for fd in fds {
            let link = base + "/\(fd)"
            guard let n = Syscall.readLink(link, into: &buffer), buffer[0] == 47,
                  let st = try? Syscall.status(link), st.st_mode & S_IFMT == S_IFREG else { continue }
            var path = String(decoding: buffer[0..<n], as: UTF8.self)
            let deleted = path.hasSuffix(" (deleted)")
            if deleted { path.removeLast(" (deleted)".count) }
            body(File(fd: fd, path: path, deleted: deleted, device: UInt64(st.st_dev), size: UInt64(max(0, st.st_size))))
        }
    }
}
