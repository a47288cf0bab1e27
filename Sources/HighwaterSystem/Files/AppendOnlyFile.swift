@preconcurrency import Glibc
import Synchronization

/// A JSON Lines file that records are appended to a whole line at a time, from any thread.
///
/// O_APPEND and one write per record keep every line whole, so an interrupted run still reads back.
/// A failed write is counted, not ignored: the run says how many records it lost.
package final class AppendOnlyFile: Sendable {
    package let path: String
    private let fd: Int32
    private let state = Mutex(Losses())

    /// Records that could not be written, and why the first failed.
    package struct Losses: Sendable, Equatable {
        package var records = 0
        package var firstError: SystemError?
        package init() {}
    }

    /// Opens `path` for appending, creating it (or emptying it with `truncate`).
    package init(_ path: String, truncate: Bool = false) throws(SystemError) {
        self.path = path
        fd = try Syscall.open(path, O_WRONLY | O_CREAT | O_APPEND | (truncate ? O_TRUNC : 0))
    }

    deinit {
        Syscall.close(fd)
    }

    /// Appends one record's bytes; a failure is counted and thrown. Under the lock, so a short write
    /// that is continued cannot interleave with another thread's record.
    /// - Parameter records: how many records `bytes` holds (a batch of lines), counted as lost if the write fails.
    package func append(_ bytes: UnsafeRawBufferPointer, records: Int = 1) throws(SystemError) {
        let failure: SystemError? = state.withLock { losses in
            do throws(SystemError) {
                try Syscall.writeAll(fd, bytes, path: path)
                return nil
            } catch {
                losses.records += records
                if losses.firstError == nil { losses.firstError = error }
                return error
            }
        }
        if let failure { throw failure }
    }

    package func append(_ bytes: [UInt8], records: Int = 1) throws(SystemError) {
        var failure: SystemError?
        bytes.withUnsafeBytes { raw in
            do throws(SystemError) { try append(raw, records: records) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    package var losses: Losses { state.withLock { $0 } }
}
