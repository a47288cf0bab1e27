@preconcurrency import Glibc
import HighwaterRecords

/// Reads input files and lists directories with plain syscalls; the errors name the path.
enum TextFile {
    struct ReadError: Error, CustomStringConvertible {
        var path: String
        var reason: String
        var description: String { "cannot read \(path): \(reason)" }
    }

    /// Reads at most `limit` bytes: a larger file (or /dev/zero) is refused before it is read into memory.
    /// Opened without blocking, so a FIFO with no writer reads as empty instead of hanging.
    static func read(_ path: String, limit: Int = InputLimits.maxFileBytes) throws(ReadError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        if fd < 0 { throw ReadError(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            if bytes.count > limit {
                throw ReadError(path: path, reason: "it is larger than \(Quantity.formatBytes(limit)), the most a scenario or limits file may have; check that this is the file you meant")
            }
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ReadError(path: path, reason: String(cString: strerror(errno)))
            }
            if n == 0 { break }
            bytes += buffer[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Names in a directory ending in one of `suffixes`, sorted so runs come in a stable order.
    static func list(_ directory: String, suffixes: [String]) throws(ReadError) -> [String] {
        guard let dir = opendir(directory) else { throw ReadError(path: directory, reason: String(cString: strerror(errno))) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if suffixes.contains(where: { name.hasSuffix($0) }), !name.hasPrefix(".") { names.append(name) }
        }
        return names.sorted().map { directory.hasSuffix("/") ? directory + $0 : directory + "/" + $0 }
    }
}
