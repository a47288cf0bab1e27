@preconcurrency import Glibc
import HighwaterProbes

/// A write that found its filesystem full (ENOSPC or EDQUOT): where, how big that filesystem is, and what was asked of it.
package struct StorageError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Which directory of the upload filled: the spool's temp dir or the destination.
    package enum Role: String, Equatable, Sendable {
        case tempDir = "temp_dir"
        case destination = "destination_dir"
    }

    package var role: Role
    /// The directory whose filesystem is full (the temp dir or the destination directory).
    package var directory: String
    /// The file being written when space ran out.
    package var path: String
    /// The filesystem's size (statvfs f_blocks x f_frsize), 0 if it could not be read.
    package var capacity: UInt64
    /// Free bytes not counting this upload's partial file: what another upload of the same size would find.
    package var free: UInt64
    /// The size the file needed: at least the bytes written plus the write that failed, the whole file when known.
    package var bytesNeeded: UInt64
    /// Bytes of the file that did reach the filesystem before it filled.
    package var bytesWritten: UInt64
    package var errno: Int32

    package init(role: Role, directory: String, path: String, capacity: UInt64, free: UInt64, bytesNeeded: UInt64,
                bytesWritten: UInt64, errno: Int32 = ENOSPC) {
        self.role = role
        self.directory = directory
        self.path = path
        self.capacity = capacity
        self.free = free
        self.bytesNeeded = bytesNeeded
        self.bytesWritten = bytesWritten
        self.errno = errno
    }

    /// Reads the filesystem's figures now; `allocated` (the partial file's blocks) is added back to its free space.
    static func measure(role: Role, directory: String, path: String, bytesNeeded: UInt64, bytesWritten: UInt64,
                        allocated: UInt64, errno: Int32) -> StorageError {
        let usage = try? FilesystemProbe.usage(of: directory)
        let capacity = usage?.capacity ?? 0
        let free = min(capacity, (usage?.free ?? 0) + allocated)
        return StorageError(role: role, directory: directory, path: path, capacity: capacity, free: free,
                            bytesNeeded: bytesNeeded, bytesWritten: bytesWritten, errno: errno)
    }

    package var description: String {
        "no space left in \(role == .tempDir ? "the temp dir" : "the destination") \(directory) (errno \(errno)) writing \(path): needs \(bytesNeeded) bytes, "
            + "\(free) free of \(capacity)"
    }
}
