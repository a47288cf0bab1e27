@preconcurrency import Glibc
import HighwaterProbes
import HighwaterSystem

/// The largest deleted file a process holds open on the watched directory's filesystem, now: a spooled upload
/// unlinked at once takes space that `df` counts and `ls` cannot see (`OpenDescriptors`, as record's open-file watch
/// reads them); no history is kept, so a long watch stays flat.
final class HeldDeletedFiles: Sendable {
    let directory: String
    private let device: UInt64

    init(directory: String) throws {
        do throws(SystemError) { device = UInt64(try Syscall.status(directory).st_dev) } catch { throw ProbeError(error) }
        self.directory = directory
    }

    /// Bytes of the largest deleted regular file on the filesystem that `pid` holds open; 0 when none.
    func largest(pid: Int32) -> UInt64 {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var largest: UInt64 = 0
        OpenDescriptors.forEachFile(of: pid, buffer: &buffer) { file in
            if file.deleted && file.device == device { largest = max(largest, file.size) }
        }
        return largest
    }
}
