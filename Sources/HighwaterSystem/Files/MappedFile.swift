@preconcurrency import Glibc

/// A file mapped read-only and private: its bytes read where they lie, not copied (a library's symbol tables, an
/// allocation events file of hundreds of MiB). Unmapped when the last reference goes.
package final class MappedFile: @unchecked Sendable {
    /// The file's bytes; empty for an empty file.
    package let bytes: UnsafeRawBufferPointer

    package init(path: String) throws(SystemError) {
        // A FIFO would block the open and /dev/zero map without end: a regular file only.
        let fd = try FileTree.openRegularFile(path)
        defer { Syscall.close(fd) }
        let size = Int(try Syscall.status(descriptor: fd, path: path).st_size)
        guard size > 0 else {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let m = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), m != MAP_FAILED else { throw SystemError("mmap", path: path) }
        bytes = UnsafeRawBufferPointer(start: m, count: size)
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }
}
