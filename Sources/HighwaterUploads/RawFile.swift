@preconcurrency import Glibc

/// The few file calls uploads make, each retrying EINTR and naming the call, the path and errno when it fails.
enum RawFile {
    /// Writes all of `bytes` at the descriptor's offset; a full filesystem becomes a `StorageError`.
    /// `fileOffset` is how much of the file precedes these bytes, to say how big it needed to be.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String, role: StorageError.Role, directory: String,
                         fileOffset: UInt64) throws(UploadError) {
        var done = 0
        while done < bytes.count {
            let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n > 0 { done += n; continue }
            let err = n < 0 ? errno : ENOSPC
            if err == EINTR { continue }
            if err == ENOSPC || err == EDQUOT {
                let written = fileOffset + UInt64(done)
                throw UploadError(.insufficientStorage(StorageError.measure(
                    role: role, directory: directory, path: path, bytesNeeded: fileOffset + UInt64(bytes.count),
                    bytesWritten: written, allocated: allocatedBytes(fd), errno: err)))
            }
            throw UploadError.system("write", path: path, errno: err)
        }
    }

    /// `withUnsafeBytes` with the typed error kept (it only rethrows `any Error`).
    static func withBytes(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(UploadError) -> Void) throws(UploadError) {
        var failure: UploadError?
        bytes.withUnsafeBytes { raw in
            do throws(UploadError) { try body(raw) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Reads up to `buffer.count` bytes; 0 at end of file.
    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, path: String) throws(UploadError) -> Int {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress!, buffer.count)
            if n >= 0 { return n }
            if errno != EINTR { throw UploadError.system("read", path: path) }
        }
    }

    /// A new file `prefix-XXXXXX` in `directory`, opened for writing and closed on exec.
    static func makeUnique(in directory: String, prefix: String, role: StorageError.Role) throws(UploadError) -> (fd: Int32, path: String) {
        var template = Array("\(directory)/\(prefix)XXXXXX".utf8CString)
        var fd: Int32 = -1
        repeat {
            fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        } while fd < 0 && errno == EINTR
        // mkostemp is behind _GNU_SOURCE; the child must not inherit upload files either way.
        if fd >= 0 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        let path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if fd < 0 {
            let err = errno
            if err == ENOSPC || err == EDQUOT {
                throw UploadError(.insufficientStorage(StorageError.measure(
                    role: role, directory: directory, path: path, bytesNeeded: 0, bytesWritten: 0, allocated: 0, errno: err)))
            }
            throw UploadError.system("mkstemp", path: path, errno: err)
        }
        return (fd, path)
    }

    static func open(_ path: String, flags: Int32, mode: mode_t = 0o644) throws(UploadError) -> Int32 {
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno != EINTR { throw UploadError.system("open", path: path) }
        }
    }

    /// close(2) is not retried on EINTR: Linux has already released the descriptor.
    static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    static func unlinkIfPresent(_ path: String) {
        _ = unlink(path)
    }

    static func rename(_ from: String, _ to: String) throws(UploadError) {
        if Glibc.rename(from, to) != 0 { throw UploadError.system("rename", path: "\(from) -> \(to)") }
    }

    /// Bytes the file occupies on its filesystem (st_blocks is in 512-byte units whatever the block size).
    static func allocatedBytes(_ fd: Int32) -> UInt64 {
        var st = stat()
        return fstat(fd, &st) == 0 ? UInt64(st.st_blocks) * 512 : 0
    }

    /// The directory part of a path, for naming the filesystem of a file.
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
