@preconcurrency import Glibc
import HighwaterSystem

/// The files `check` and `host` read and write, with reasons a user can act on.
package enum ResultsFile {
    package struct Failure: Error {
        /// `No such file or directory`, or what else is wrong with the path.
        package var reason: String
    }

    /// Reads a regular file of at most `limit` bytes (a summary lists runs, not requests: 64 MiB is far past any).
    package static func read(_ path: String, limit: Int = 64 << 20) throws(Failure) -> [UInt8] {
        if FileTree.isDirectory(path) { throw Failure(reason: "it is a directory") }
        do { return try FileTree.readBytes(path, limit: limit) } catch {
            throw Failure(reason: error.errno == EFBIG ? "it is larger than \(limit >> 20) MiB" : error.reason)
        }
    }

    package static func write(_ path: String, _ text: String) throws(Failure) {
        do { try FileTree.writeAtomically(Array(text.utf8), to: path) } catch { throw Failure(reason: error.reason) }
    }
}
