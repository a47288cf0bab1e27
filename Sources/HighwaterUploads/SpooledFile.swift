@preconcurrency import Glibc
import HighwaterProbes
import NIOCore
import HighwaterSystem

/// Python's `SpooledTemporaryFile` as Starlette's `UploadFile` uses it: bytes stay in memory up to `threshold`,
/// and the write that would pass it moves everything to a file in the temp dir, where the rest goes.
/// The file is made with mkstemp and unlinked at once (as Python's `TemporaryFile` does), so it holds space
/// only while open and leaves no name behind on any path, SIGKILL included.
/// Not thread-safe: one upload drives it.
package final class SpooledFile {
    package static let defaultThreshold = 1 << 20

    package let threshold: Int
    /// The temp dir the file goes to once the threshold is crossed.
    package let directory: String
    /// Bytes written so far.
    package private(set) var size: UInt64 = 0
    /// Bytes that went into the in-memory buffer.
    package private(set) var bytesWrittenToMemory: UInt64 = 0
    /// Bytes written to the temp file, the memory buffer's copy at rollover included.
    package private(set) var bytesWrittenToDisk: UInt64 = 0
    /// Bytes written to destinations by `copy(to:)`.
    package private(set) var bytesCopied: UInt64 = 0
    /// The name the temp file had in the temp dir (it is unlinked as soon as it is made).
    package private(set) var tempPath: String?

    private var memory: [UInt8] = []
    private var fd: Int32 = -1
    private var closed = false

    /// Did the data pass the threshold and go to the temp dir?
    package var thresholdCrossed: Bool { tempPath != nil }

    package init(threshold: Int = SpooledFile.defaultThreshold, directory: String) {
        self.threshold = max(0, threshold)
        self.directory = directory
    }

    /// With the temp dir chosen as Python's tempfile does (TMPDIR, TEMP, TMP, /tmp, …).
    package convenience init(threshold: Int = SpooledFile.defaultThreshold,
                            environment: [String: String] = ProcessEnvironment.current) {
        self.init(threshold: threshold, directory: TempDirectory.resolve(environment: environment).path)
    }

    deinit {
        close()
    }

    package func write(_ buffer: ByteBuffer) throws(UploadError) {
        var failure: UploadError?
        buffer.withUnsafeReadableBytes { raw in
            do throws(UploadError) { try write(raw) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    package func write(_ bytes: [UInt8]) throws(UploadError) {
        try RawFile.withBytes(bytes) { raw throws(UploadError) in try write(raw) }
    }

    /// On ENOSPC the temp file is closed (its space freed) and the error names the temp dir, its capacity and free space.
    package func write(_ bytes: UnsafeRawBufferPointer) throws(UploadError) {
        precondition(!closed, "write to a closed SpooledFile")
        guard bytes.count > 0 else { return }
        if fd < 0 && Int(size) + bytes.count <= threshold {
            memory.append(contentsOf: bytes)
            bytesWrittenToMemory += UInt64(bytes.count)
            size += UInt64(bytes.count)
            return
        }
        do throws(UploadError) {
            if fd < 0 { try rollover() }
            try RawFile.writeAll(fd, bytes, path: tempPath ?? directory, role: .tempDir, directory: directory, fileOffset: size)
        } catch {
            close()
            throw error
        }
        bytesWrittenToDisk += UInt64(bytes.count)
        size += UInt64(bytes.count)
    }

    /// Moves the memory buffer to a new temp file: the second copy of those bytes, as in Python.
    private func rollover() throws(UploadError) {
        let made = try RawFile.makeUnique(in: directory, prefix: "hw-spool-", role: .tempDir)
        fd = made.fd
        tempPath = made.path
        RawFile.unlinkIfPresent(made.path)
        let held = memory
        memory = []
        try RawFile.withBytes(held) { raw throws(UploadError) in
            try RawFile.writeAll(fd, raw, path: made.path, role: .tempDir, directory: directory, fileOffset: 0)
        }
        bytesWrittenToDisk += UInt64(held.count)
    }

    /// Writes the whole content to `destinationPath` (created or truncated), like Starlette's `UploadFile` then a save.
    /// Returns the bytes written there; a failed copy removes the destination file.
    @discardableResult
    package func copy(to destinationPath: String) throws(UploadError) -> UInt64 {
        precondition(!closed, "copy from a closed SpooledFile")
        let out = try RawFile.open(destinationPath, flags: O_WRONLY | O_CREAT | O_TRUNC)
        defer { RawFile.close(out) }
        var written: UInt64 = 0
        do throws(UploadError) {
            written = try copy(toDescriptor: out, path: destinationPath)
        } catch {
            RawFile.unlinkIfPresent(destinationPath)
            bytesCopied += written
            throw error
        }
        bytesCopied += written
        return written
    }

    func copy(toDescriptor out: Int32, path: String) throws(UploadError) -> UInt64 {
        let destinationDirectory = FileTree.directory(of: path)
        if fd < 0 {
            try RawFile.withBytes(memory) { raw throws(UploadError) in
                try RawFile.writeAll(out, raw, path: path, role: .destination, directory: destinationDirectory, fileOffset: 0)
            }
            return UInt64(memory.count)
        }
        // A chunk the size Python's shutil.copyfileobj uses on Linux would mean 4x the syscalls; 256 KiB keeps them few.
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 << 10, alignment: 16)
        defer { chunk.deallocate() }
        var offset: UInt64 = 0
        while offset < size {
            let want = Int(min(UInt64(chunk.count), size - offset))
            let n: Int
            do { n = try Syscall.pread(fd, into: UnsafeMutableRawBufferPointer(rebasing: chunk[..<want]), at: Int(offset),
                                       path: tempPath ?? directory) }
            catch { throw UploadError(error) }
            if n == 0 { break }
            try RawFile.writeAll(out, UnsafeRawBufferPointer(rebasing: chunk[0..<n]), path: path, role: .destination,
                                 directory: destinationDirectory, fileOffset: offset)
            offset += UInt64(n)
        }
        return offset
    }

    /// Frees the memory and closes the temp file, which releases its space. Safe to call more than once.
    package func close() {
        guard !closed else { return }
        closed = true
        memory = []
        if fd >= 0 {
            RawFile.close(fd)
            fd = -1
        }
    }
}
