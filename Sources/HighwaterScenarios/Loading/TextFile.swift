@preconcurrency import Glibc
import HighwaterRecords
import HighwaterSystem

/// Reads input files and lists directories on the system layer; the errors name the path and say why.
enum TextFile {
    struct ReadError: Error, CustomStringConvertible {
        var path: String
        var reason: String
        var description: String { "cannot read \(path): \(reason)" }

        init(path: String, reason: String) {
            self.path = path
            self.reason = reason
        }

        init(_ error: SystemError) {
            path = error.path
            reason = error.reason
        }
    }

    /// Reads at most `limit` bytes: a larger file (or /dev/zero) is refused before it is read into memory,
    /// and a FIFO with no writer reads as empty instead of hanging.
    static func read(_ path: String, limit: Int = InputLimits.maxFileBytes) throws(ReadError) -> String {
        do { return try FileTree.readText(path, limit: limit) } catch {
            if error.errno == EFBIG {
                throw ReadError(path: path, reason: "it is larger than \(Quantity.formatBytes(limit)), the most a scenario or limits file may have; check that this is the file you meant")
            }
            throw ReadError(error)
        }
    }

    static func isDirectory(_ path: String) -> Bool { FileTree.isDirectory(path) }

    /// Paths in a directory ending in one of `suffixes`, sorted so runs come in a stable order.
    static func list(_ directory: String, suffixes: [String]) throws(ReadError) -> [String] {
        do { return try FileTree.list(directory, suffixes: suffixes) } catch { throw ReadError(error) }
    }
}
