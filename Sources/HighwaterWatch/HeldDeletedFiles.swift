@preconcurrency import Glibc
import HighwaterProbes
import HighwaterSystem

/// The largest deleted file a process holds open on the watched directory's filesystem, now: a spooled upload
/// unlinked at once takes space that `df` counts and `ls` cannot see. Read from `/proc/PID/fd` (stat through the
/// link works after the unlink); no history is kept, so a long watch stays flat.
final class HeldDeletedFiles: Sendable {
    let directory: String
    private let device: UInt64

    init(directory: String) throws {
        do throws(SystemError) { device = UInt64(try Syscall.status(directory).st_dev) } catch { throw ProbeError(error) }
        self.directory = directory
    }

    /// Bytes of the largest deleted regular file on the filesystem that `pid` holds open; 0 when none.
    func largest(pid: Int32) -> UInt64 {
        let base = "/proc/\(pid)/fd"
        var fds: [Int32] = []
        try? Syscall.forEachDirectoryEntry(base) { name in
            if name[0] >= 48 && name[0] <= 57, let fd = Int32(String(decoding: name, as: UTF8.self)) { fds.append(fd) }
        }
        var buffer = [UInt8](repeating: 0, count: 4096)
        var largest: UInt64 = 0
        for fd in fds {
            let link = base + "/\(fd)"
            guard let n = Syscall.readLink(link, into: &buffer), buffer[0] == 47,
                  String(decoding: buffer[0..<n], as: UTF8.self).hasSuffix(" (deleted)"),
                  let st = try? Syscall.status(link), st.st_mode & S_IFMT == S_IFREG, UInt64(st.st_dev) == device else { continue }
            largest = max(largest, UInt64(max(0, st.st_size)))
        }
        return largest
    }
}
