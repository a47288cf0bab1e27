@preconcurrency import Glibc

/// A failure to read or write a report file, naming the path and errno.
public struct ReportError: Error, CustomStringConvertible, Sendable {
    /// Whether the results given were unreadable (bad input) or the report could not be written (environment).
    public enum Kind: Sendable { case input, output }
    public var message: String
    public var kind: Kind
    public init(_ message: String, kind: Kind = .input) { self.message = message; self.kind = kind }
    public var description: String { message }

    static func system(_ call: String, _ path: String) -> ReportError {
        ReportError("\(call) \(path): \(String(cString: strerror(errno)))")
    }
}

/// Whole-file reads and writes with plain syscalls: the module depends on nothing but HighwaterAnalysis.
enum ReportFile {
    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    static func readAll(_ path: String) throws -> [UInt8] {
        var out: [UInt8] = []
        try readChunks(path) { chunk in out.append(contentsOf: chunk) }
        return out
    }

    /// Calls `body` with each chunk read; chunks are cut anywhere, not at line ends.
    static func readChunks(_ path: String, chunkSize: Int = 4 << 20, _ body: (UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ReportError.system("open", path) }
        defer { close(fd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = read(fd, buffer.baseAddress, chunkSize)
            if n < 0 {
                if errno == EINTR { continue }
                throw ReportError.system("read", path)
            }
            if n == 0 { return }
            try body(UnsafeBufferPointer(start: buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), count: n))
        }
    }

    /// Calls `body` with each line (without its newline); a last line without a newline counts too.
    static func forEachLine(_ path: String, _ body: (UnsafePointer<UInt8>, Int, Int) -> Void) throws {
        var splitter = LineSplitter()
        try readChunks(path) { chunk in splitter.feed(chunk, body) }
        splitter.end(body)
    }

    static func write(_ path: String, _ text: String) throws {
        var text = text
        try text.withUTF8 { try write(path, UnsafeRawBufferPointer($0)) }
    }

    static func write(_ path: String, _ bytes: UnsafeRawBufferPointer) throws {
        // Write beside the target and rename, so a reader never sees half a report.
        let temporary = path + ".partial"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ReportError.system("open", temporary) }
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                let failure = ReportError.system("write", temporary)
                close(fd); unlink(temporary)
                throw failure
            }
            done += n
        }
        close(fd)
        guard rename(temporary, path) == 0 else { throw ReportError.system("rename", path) }
    }

    /// Creates a directory and its parents.
    static func makeDirectories(_ path: String) throws {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o755) != 0 && errno != EEXIST { throw ReportError.system("mkdir", current) }
        }
    }
}

/// Appends bytes to a new file in large writes, for data too big to build in memory first.
final class FileAppender {
    private let fd: Int32
    private let path: String
    private var buffer: [UInt8] = []

    init(_ path: String) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ReportError.system("open", path) }
        buffer.reserveCapacity(1 << 20)
    }

    func append(_ bytes: [UInt8]) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 20 { try flush() }
    }

    func flush() throws {
        try buffer.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 { if errno == EINTR { continue }; throw ReportError.system("write", path) }
                done += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    func close() throws {
        try flush()
        _ = Glibc.close(fd)
    }
}

extension ReportFile {
    static func size(_ path: String) throws -> Int {
        var st = stat()
        guard stat(path, &st) == 0 else { throw ReportError.system("stat", path) }
        return Int(st.st_size)
    }
}

/// Cuts chunks cut anywhere into lines, carrying a line that spans chunks over to the next one.
struct LineSplitter {
    private var carry: [UInt8] = []

    /// Calls `body(base, start, end)` for each line the chunk completes (without its newline; empty lines skipped).
    mutating func feed(_ chunk: UnsafeBufferPointer<UInt8>, _ body: (UnsafePointer<UInt8>, Int, Int) -> Void) {
        guard let base = chunk.baseAddress else { return }
        var lineStart = 0
        var p = 0
        let n = chunk.count
        while p < n {
            if base[p] == 10 {
                if carry.isEmpty {
                    if p > lineStart { body(base, lineStart, p) }
                } else {
                    carry.append(contentsOf: UnsafeBufferPointer(start: base + lineStart, count: p - lineStart))
                    carry.withUnsafeBufferPointer { c in body(c.baseAddress!, 0, c.count) }
                    carry.removeAll(keepingCapacity: true)
                }
                lineStart = p + 1
            }
            p += 1
        }
        if lineStart < n { carry.append(contentsOf: UnsafeBufferPointer(start: base + lineStart, count: n - lineStart)) }
    }

    /// The last line, when the input did not end with a newline.
    mutating func end(_ body: (UnsafePointer<UInt8>, Int, Int) -> Void) {
        if !carry.isEmpty { carry.withUnsafeBufferPointer { c in body(c.baseAddress!, 0, c.count) } }
        carry.removeAll()
    }
}
