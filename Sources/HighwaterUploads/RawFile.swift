@preconcurrency import Glibc
import HighwaterSystem

/// The few file calls uploads make, on the system layer; a full filesystem becomes a `StorageError`
/// with the figures a user needs, any other failure an `UploadError` naming the call, the path and errno.
enum RawFile {
    /// Writes all of `bytes` at the descriptor's offset; a full filesystem becomes a `StorageError`.
    /// `fileOffset` is how much of the file precedes these bytes, to say how big it needed to be.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String, role: StorageError.Role, directory: String,
                         fileOffset: UInt64) throws(UploadError) {
        var done = 0
        while done < bytes.count {
            let err: Int32
            do throws(SystemError) {
                let n = try Syscall.write(fd, UnsafeRawBufferPointer(rebasing: bytes[done...]), path: path)
                if n > 0 { done += n; continue }
                err = ENOSPC
            } catch {
                err = error.errno
            }
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
        do { return try Syscall.read(fd, into: buffer, path: path) } catch { throw UploadError(error) }
    }

    /// A new file `prefix-XXXXXX` in `directory`, opened for writing and closed on exec.
    static func makeUnique(in directory: String, prefix: String, role: StorageError.Role) throws(UploadError) -> (fd: Int32, path: String) {
        let template = "\(directory)/\(prefix)XXXXXX"
        do {
            return try Syscall.mkstemp(template)
        } catch where error.errno == ENOSPC || error.errno == EDQUOT {
            throw UploadError(.insufficientStorage(StorageError.measure(
                role: role, directory: directory, path: template, bytesNeeded: 0, bytesWritten: 0, allocated: 0, errno: error.errno)))
        } catch {
            throw UploadError(error)
        }
    }

    static func open(_ path: String, flags: Int32, mode: mode_t = 0o644) throws(UploadError) -> Int32 {
        do { return try Syscall.open(path, flags, mode: mode) } catch { throw UploadError(error) }
    }

    static func close(_ fd: Int32) {
        Syscall.close(fd)
    }

    static func unlinkIfPresent(_ path: String) {
        Syscall.unlinkIfPresent(path)
    }

    static func rename(_ from: String, _ to: String) throws(UploadError) {
        do { try Syscall.rename(from, to) } catch { throw UploadError.system("rename", path: "\(from) -> \(to)", errno: error.errno) }
    }

    /// Bytes the file occupies on its filesystem (st_blocks is in 512-byte units whatever the block size).
    static func allocatedBytes(_ fd: Int32) -> UInt64 {
        guard let st = try? Syscall.status(descriptor: fd, path: "") else { return 0 }
        return UInt64(st.st_blocks) * 512
    }
}
