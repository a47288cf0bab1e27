import HighwaterSystem

/// Reads input files and lists directories on the system layer; the errors name the path and say why.
enum TextFile {
    struct ReadError: Error, CustomStringConvertible {
        var path: String
        var reason: String
        var description: String { "cannot read \(path): \(reason)" }

        init(_ error: SystemError) {
            path = error.path
            reason = error.reason
        }
    }

    static func read(_ path: String) throws(ReadError) -> String {
        do { return try FileTree.readText(path) } catch { throw ReadError(error) }
    }

    static func isDirectory(_ path: String) -> Bool { FileTree.isDirectory(path) }

    /// Paths in a directory ending in one of `suffixes`, sorted so runs come in a stable order.
    static func list(_ directory: String, suffixes: [String]) throws(ReadError) -> [String] {
        do { return try FileTree.list(directory, suffixes: suffixes) } catch { throw ReadError(error) }
    }
}
