@preconcurrency import Glibc

/// Whole-file reads and writes for the CLI's own files (a summary to check, JUnit and Markdown to write), with
/// errno in words for the error message rather than Foundation's `NSCocoaErrorDomain Code=260` dump.
enum ResultsFile {
    struct Failure: Error {
        /// `No such file or directory`, or what else is wrong with the path.
        var reason: String
        static func errno() -> Failure { Failure(reason: String(cString: strerror(Glibc.errno))) }
    }

    /// Reads a regular file of at most `limit` bytes (a summary lists runs, not requests: 64 MiB is far past any).
    static func read(_ path: String, limit: Int = 64 << 20) throws(Failure) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw .errno() }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .errno() }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw Failure(reason: "it is a directory") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw Failure(reason: "it is not a regular file") }
        guard st.st_size <= limit else { throw Failure(reason: "it is larger than \(limit >> 20) MiB") }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 { if Glibc.errno == EINTR { continue }; throw .errno() }
            if n == 0 { break }
            done += n
        }
        return Array(bytes[0..<done])
    }

    static func write(_ path: String, _ text: String) throws(Failure) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .errno() }
        defer { close(fd) }
        var text = text
        let failure: Failure? = text.withUTF8 { bytes in
            var done = 0
            while done < bytes.count {
                let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
                if n < 0 { if Glibc.errno == EINTR { continue }; return .errno() }
                done += n
            }
            return nil
        }
        if let failure { throw failure }
    }
}
