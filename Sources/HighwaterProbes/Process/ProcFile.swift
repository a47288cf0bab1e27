@preconcurrency import Glibc
import HighwaterSystem

/// Reads a /proc or /sys file to EOF into a buffer kept between reads.
///
/// Such files report size 0, so the buffer grows until a read comes back short. Keeping the
/// file open and reading it again from offset 0 makes the kernel generate fresh text each
/// time without the cost of open and close; that is what keeps a sample cheap.
package final class ProcFile {
    package let path: String
    private var fd: Int32 = -1
    private var buffer: [UInt8]
    private let keepOpen: Bool
    private let shortReadEnds: Bool

    /// - Parameter shortReadEnds: the file is written by one `show` call (stat, statm, status: `single_open` in
    ///   the kernel), so a read that comes back shorter than asked holds all of it and the read that would
    ///   return 0 is saved: one system call per sample and file instead of two. Not for files of many records
    ///   (mountinfo, maps), where a short read can stop before a record that did not fit.
    package init(_ path: String, keepOpen: Bool = true, capacity: Int = 4096, shortReadEnds: Bool = false) {
        self.path = path
        self.keepOpen = keepOpen
        self.shortReadEnds = shortReadEnds
        self.buffer = [UInt8](repeating: 0, count: capacity)
    }

    deinit {
        if fd >= 0 { Syscall.close(fd) }
    }

    /// Reads the whole file and hands its bytes to `body`; the bytes are valid only inside it.
    package func withContents<T>(_ body: (UnsafeBufferPointer<UInt8>) throws -> T) throws -> T {
        if fd < 0 {
            do { fd = try Syscall.open(path, O_RDONLY) } catch { throw ProbeError(error) }
        }
        defer {
            if !keepOpen { Syscall.close(fd); fd = -1 }
        }
        var total = 0
        while true {
            if total == buffer.count { buffer.append(contentsOf: repeatElement(0, count: buffer.count)) }
            var failure: SystemError?
            let n = buffer.withUnsafeMutableBytes { raw -> Int in
                do throws(SystemError) {
                    return try Syscall.pread(fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[total...]), at: total, path: path)
                } catch { failure = error; return 0 }
            }
            if let failure {
                Syscall.close(fd); fd = -1
                throw ProbeError(failure)
            }
            if n == 0 { break }
            let asked = buffer.count - total
            total += n
            if shortReadEnds && n < asked { break }
        }
        return try buffer.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[0..<total])) }
    }

    /// The whole file as text.
    package func text() throws -> String {
        try withContents { String(decoding: $0, as: UTF8.self) }
    }

    /// Reads a small file once, as text.
    package static func read(_ path: String) throws -> String {
        try ProcFile(path, keepOpen: false).text()
    }
}
