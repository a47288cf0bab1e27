@preconcurrency import Glibc
import HighwaterSystem

/// A failure to read or write a report file, naming the path and errno.
package struct ReportError: Error, CustomStringConvertible, Sendable {
    /// Whether the results given were unreadable (bad input) or the report could not be written (environment).
    package enum Kind: Sendable { case input, output }
    package var message: String
    package var kind: Kind
    package init(_ message: String, kind: Kind = .input) { self.message = message; self.kind = kind }
    package var description: String { message }

    init(_ error: SystemError) {
        self.init(error.description)
    }
}

/// The report's file work on the system layer: whole files through `FileTree`, and results files of any
/// size streamed a chunk at a time, since a million-request `requests.jsonl` must not be read whole.
enum ReportFile {
    static func exists(_ path: String) -> Bool { Syscall.canAccess(path, F_OK) }

    static func isDirectory(_ path: String) -> Bool { FileTree.isDirectory(path) }

    /// A whole file of at most `limit` bytes: a summary lists runs, not requests, so 64 MiB is far past any.
    static func readAll(_ path: String, limit: Int = 64 << 20) throws -> [UInt8] {
        do { return try FileTree.readBytes(path, limit: limit) } catch { throw ReportError(error) }
    }

    /// Calls `body` with each chunk read; chunks are cut anywhere, not at line ends.
    static func readChunks(_ path: String, chunkSize: Int = 4 << 20, _ body: (UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        let fd: Int32
        // A FIFO or /dev/zero in a results directory must not hang or fill memory: regular files only.
        do { fd = try FileTree.openRegularFile(path) } catch { throw ReportError(error) }
        defer { Syscall.close(fd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n: Int
            do { n = try Syscall.read(fd, into: buffer, path: path) } catch { throw ReportError(error) }
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
        do { try FileTree.writeAtomically(text, to: path) } catch { throw ReportError(error) }
    }

    static func write(_ path: String, _ bytes: UnsafeRawBufferPointer) throws {
        do { try FileTree.writeAtomically(bytes, to: path) } catch { throw ReportError(error) }
    }

    static func makeDirectories(_ path: String) throws {
        do { try FileTree.createDirectory(path) } catch { throw ReportError(error) }
    }
}

extension ReportFile {
    static func size(_ path: String) throws -> Int {
        do { return try FileTree.size(path) } catch { throw ReportError(error) }
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
