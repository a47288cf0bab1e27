@preconcurrency import Glibc
import HighwaterSystem

/// Appends bytes to a new file in large writes, for data too big to build in memory first.
final class FileAppender {
    private let fd: Int32
    private let path: String
    private var buffer: [UInt8] = []

    init(_ path: String) throws {
        self.path = path
        fd = try Syscall.open(path, O_WRONLY | O_CREAT | O_TRUNC)
        buffer.reserveCapacity(1 << 20)
    }

    func append(_ bytes: [UInt8]) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 20 { try flush() }
    }

    func flush() throws {
        try Syscall.writeAll(fd, buffer, path: path)
        buffer.removeAll(keepingCapacity: true)
    }

    func close() throws {
        try flush()
        Syscall.close(fd)
    }
}
