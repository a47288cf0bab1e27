@preconcurrency import Glibc
import HighwaterProbes
import HighwaterSystem

/// The file a download run serves, made by the run in a directory of its own and removed after it. Its bytes come
/// from a fixed pseudo-random sequence, so a slice served from the wrong offset cannot pass a hash check, and two
/// runs serve the same file.
package enum DownloadFile {
    /// Writes `bytes` bytes to `path`.
    package static func make(at path: String, bytes: Int) throws {
        let fd: Int32
        do { fd = try Syscall.open(path, O_WRONLY | O_CREAT | O_TRUNC) } catch { throw ProbeError(error) }
        defer { Syscall.close(fd) }
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var left = bytes
        while left > 0 {
            let n = min(left, buffer.count)
            buffer.withUnsafeMutableBytes { raw in
                var i = 0
                while i < n {
                    // xorshift64: cheap, and never a long run of equal bytes.
                    state ^= state << 13; state ^= state >> 7; state ^= state << 17
                    withUnsafeBytes(of: state.littleEndian) { word in
                        for j in 0..<min(8, n - i) { raw[i + j] = word[j] }
                    }
                    i += 8
                }
            }
            let failure: SystemError? = buffer.withUnsafeBytes { raw in
                do throws(SystemError) { try Syscall.writeAll(fd, UnsafeRawBufferPointer(rebasing: raw[..<n]), path: path) } catch { return error }
                return nil
            }
            if let failure { throw ProbeError(failure) }
            left -= n
        }
    }
}
