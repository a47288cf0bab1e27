@preconcurrency import Glibc
import NIOCore
import HighwaterSystem

/// Consumes one request body as it arrives and stores its file: `receive` each chunk, then `finish`.
/// `multipart/form-data` bodies are parsed by the streaming `MultipartParser` (multipart-kit's, vendored); any other content type
/// is the file itself (a raw body). The file lands in `destinationDirectory` under a name from the request, through
/// a hidden partial file renamed into place at `finish`, so a failed or aborted upload leaves no file behind.
///
/// After a throw the receiver has already removed its files; later `receive` calls are ignored (the host may drain
/// the body) and `finish` throws the same error. Not thread-safe: the host calls it from one thread at a time.
package final class UploadReceiver: @unchecked Sendable {
    package let mode: UploadMode
    package let destinationDirectory: String
    package let limits: UploadLimits
    package private(set) var bytesReceived: UInt64 = 0
    /// Small non-file parts, by field name.
    package private(set) var fields: [String: String] = [:]

    private enum Body {
        case multipart(MultipartParser, boundary: [UInt8])
        case raw
    }

    private enum Part {
        case headers([String: String])
        case file
        case field(name: String, value: [UInt8])
        case none
    }

    private enum Sink {
        case spool(SpooledFile)
        case file(fd: Int32)
    }

    private var body: Body
    private var part: Part = .none
    private var sink: Sink?
    private let fileNameOverride: String?
    private let expectedLength: UInt64?
    private var fileName: String?
    private var partialPath: String?
    private var finalPath: String?
    private var fileBytes: UInt64 = 0
    private var destinationBytes: UInt64 = 0
    private var bodyOffsetAtFile: UInt64 = 0
    private var partsCompleted = 0
    private var fileComplete = false
    /// The last bytes of the body, to tell a closed body from a truncated one at `finish`.
    private var tail: [UInt8] = []
    /// Slices from the parser (cut at every CR) gathered into few writes, as a buffered file object would.
    private var pending: ByteBuffer
    private static let pendingCapacity = 64 << 10
    private var callbackError: UploadError?
    private var failure: UploadError?
    private var finished = false
    private let startNs: UInt64
    private var receiveEndNs: UInt64?

    /// Validates what the headers already tell: the content type and its boundary, the raw body's file name,
    /// and a `Content-Length` over the body limit.
    /// - Parameters:
    ///   - contentType: the request's `Content-Type`; `multipart/*` needs a boundary, anything else is a raw body.
    ///   - fileName: the name for a raw body (from a header or the path); for multipart it overrides the part's filename.
    ///   - expectedLength: the request's `Content-Length`, to refuse early and to say how many bytes a full disk needed.
    package init(contentType: String?, mode: UploadMode, destinationDirectory: String, limits: UploadLimits = UploadLimits(),
                fileName: String? = nil, expectedLength: UInt64? = nil) throws(UploadError) {
        self.mode = mode
        self.destinationDirectory = destinationDirectory
        self.limits = limits
        self.expectedLength = expectedLength
        self.startNs = MonotonicClock.nanoseconds()
        self.pending = ByteBufferAllocator().buffer(capacity: Self.pendingCapacity)
        do {
            self.fileNameOverride = try fileName.map { name throws(DestinationNameError) in try DestinationName.validate(name) }
        } catch {
            throw UploadError(.badFileName(error))
        }
        if let expectedLength, let max = limits.maxBodyBytes, expectedLength > max {
            throw UploadError(.tooLarge(what: "the request body (Content-Length \(expectedLength))", limit: max))
        }
        let header = HeaderParameters(parsing: contentType ?? "application/octet-stream")
        if header.value.hasPrefix("multipart/") {
            guard let boundary = header["boundary"], !boundary.isEmpty else {
                throw UploadError(.missingBoundary(contentType: contentType ?? ""))
            }
            // RFC 2046 caps a boundary at 70 characters; a longer one is given, and wrong, not missing.
            guard boundary.utf8.count <= 70 else {
                throw UploadError(.malformedMultipart("the boundary parameter is \(boundary.utf8.count) characters long; RFC 2046 allows at most 70"))
            }
            body = .multipart(MultipartParser(boundary: boundary), boundary: Array(boundary.utf8))
            if case .multipart(let parser, _) = body {
                parser.onHeader = { [unowned self] name, value in self.onHeader(name, value) }
                parser.onBody = { [unowned self] slice in self.onBody(&slice) }
                parser.onPartComplete = { [unowned self] in self.onPartComplete() }
            }
        } else {
            guard fileNameOverride != nil else { throw UploadError(.missingFileName) }
            body = .raw
        }
    }

    deinit {
        if !finished { removeFiles() }
    }

    /// Feeds the next chunk of the body.
    package func receive(_ chunk: ByteBuffer) throws(UploadError) {
        guard failure == nil, !finished else { return }
        bytesReceived += UInt64(chunk.readableBytes)
        if let max = limits.maxBodyBytes, bytesReceived > max {
            throw fail(UploadError(.tooLarge(what: "the request body", limit: max)))
        }
        switch body {
        case .raw:
            if sink == nil {
                do throws(UploadError) { try beginFile(name: fileNameOverride!) } catch { throw fail(error) }
            }
            var slice = chunk
            onBody(&slice)
        case .multipart(let parser, let boundary):
            keepTail(chunk, boundaryLength: boundary.count)
            do {
                try parser.execute(chunk)
            } catch {
                if callbackError == nil {
                    callbackError = UploadError(.malformedMultipart("syntax error within the first \(bytesReceived) bytes"))
                }
            }
        }
        if let error = callbackError { throw fail(error) }
    }

    /// Ends the body: checks it was complete, then (spooled) copies the spool to the destination and moves the file
    /// into place under its name.
    package func finish() throws(UploadError) -> UploadResult {
        if let failure { throw failure }
        precondition(!finished, "finish called twice")
        do throws(UploadError) {
            switch body {
            case .raw:
                if let expectedLength, bytesReceived < expectedLength { throw UploadError(.truncatedBody(bytesReceived: bytesReceived)) }
                if sink == nil { try beginFile(name: fileNameOverride!) }
                try flushPending()
                endFile()
            case .multipart(_, let boundary):
                guard bodyIsClosed(boundary: boundary), case .none = part else {
                    throw UploadError(.truncatedBody(bytesReceived: bytesReceived))
                }
                guard fileComplete else { throw UploadError(.noFilePart) }
            }
            var copyNs: UInt64 = 0
            if case .spool(let spool) = sink, let partialPath {
                let t0 = MonotonicClock.nanoseconds()
                let out = try RawFile.open(partialPath, flags: O_WRONLY | O_TRUNC)
                defer { RawFile.close(out) }
                destinationBytes = try spool.copy(toDescriptor: out, path: partialPath)
                copyNs = MonotonicClock.nanoseconds() - t0
            }
            if case .file(let fd) = sink { RawFile.close(fd); sink = nil }
            try RawFile.rename(partialPath!, finalPath!)
            partialPath = nil
            finished = true
            var result = UploadResult(
                mode: mode, bytesReceived: bytesReceived, fileBytes: fileBytes, bytesWrittenToMemory: 0,
                bytesWrittenToTempDir: 0, bytesWrittenToDestination: destinationBytes, thresholdCrossed: false,
                receiveNs: (receiveEndNs ?? MonotonicClock.nanoseconds()) - startNs, copyNs: copyNs,
                destinationPath: finalPath!, fileName: fileName!, fields: fields)
            if case .spool(let spool) = sink {
                result.bytesWrittenToMemory = spool.bytesWrittenToMemory
                result.bytesWrittenToTempDir = spool.bytesWrittenToDisk
                result.thresholdCrossed = spool.thresholdCrossed
                spool.close()
            }
            sink = nil
            return result
        } catch {
            throw fail(error)
        }
    }

    /// The client went away: removes the spool and the partial destination file. Safe at any point, more than once.
    package func abort() {
        guard !finished else { return }
        if failure == nil { failure = UploadError(.aborted) }
        removeFiles()
    }

    // MARK: - Parser callbacks (they cannot throw: the first error is kept and thrown after `execute`)

    private func onHeader(_ name: String, _ value: String) {
        guard callbackError == nil else { return }
        var headers: [String: String] = [:]
        switch part {
        case .headers(let h): headers = h
        case .none: break
        default:
            callbackError = UploadError(.malformedMultipart("a header inside a part's body"))
            return
        }
        // The part lets go of its copy first, so the dictionary grows in place: otherwise every header line
        // copies all the earlier ones, and a part with 100,000 header lines costs minutes.
        part = .none
        headers[name.lowercased()] = value
        part = .headers(headers)
    }

    /// The parser says nothing when a part's headers end; its first body bytes (or its end) do.
    private func beginPartIfNeeded() throws(UploadError) {
        guard case .headers(let headers) = part else {
            if case .none = part { part = .headers([:]); try beginPartIfNeeded() }
            return
        }
        guard partsCompleted < limits.maxParts else {
            throw UploadError(.tooLarge(what: "the number of parts", limit: UInt64(limits.maxParts)))
        }
        let disposition = HeaderParameters(parsing: headers["content-disposition"] ?? "")
        guard disposition.value == "form-data" || disposition.value == "attachment", let name = disposition["name"] ?? disposition["filename"] else {
            throw UploadError(.malformedMultipart("a part without Content-Disposition: form-data; name=…"))
        }
        if let requested = disposition["filename"] {
            guard sink == nil else { throw UploadError(.malformedMultipart("more than one file part")) }
            try beginFile(name: fileNameOverride ?? requested)
            part = .file
        } else {
            part = .field(name: name, value: [])
        }
    }

    private func onBody(_ slice: inout ByteBuffer) {
        guard callbackError == nil else { return }
        do throws(UploadError) {
            if case .multipart = body { try beginPartIfNeeded() }
            switch part {
            case .field(let name, var value):
                value.append(contentsOf: slice.readableBytesView)
                if value.count > limits.maxFieldBytes {
                    throw UploadError(.tooLarge(what: "the form field \"\(name)\"", limit: UInt64(limits.maxFieldBytes)))
                }
                part = .field(name: name, value: value)
            default:
                fileBytes += UInt64(slice.readableBytes)
                if let max = limits.maxFileBytes, fileBytes > max {
                    throw UploadError(.tooLarge(what: "the file part", limit: max))
                }
                if slice.readableBytes >= Self.pendingCapacity {
                    try flushPending()
                    try writeFile(slice)
                } else {
                    if pending.readableBytes + slice.readableBytes > Self.pendingCapacity { try flushPending() }
                    pending.writeBuffer(&slice)
                }
            }
        } catch {
            callbackError = error
        }
    }

    private func onPartComplete() {
        guard callbackError == nil else { return }
        do throws(UploadError) {
            try beginPartIfNeeded()
            switch part {
            case .file:
                try flushPending()
                endFile()
            case .field(let name, let value):
                fields[name] = String(decoding: value, as: UTF8.self)
            default:
                break
            }
            part = .none
            partsCompleted += 1
        } catch {
            callbackError = error
        }
    }

    // MARK: - The file

    private func beginFile(name: String) throws(UploadError) {
        let valid: String
        do throws(DestinationNameError) { valid = try DestinationName.validate(name) } catch { throw UploadError(.badFileName(error)) }
        fileName = valid
        finalPath = destinationDirectory.hasSuffix("/") ? destinationDirectory + valid : destinationDirectory + "/" + valid
        bodyOffsetAtFile = bytesReceived
        // The partial file is made first in both modes so a full destination is found before any byte is spooled.
        let partial = try RawFile.makeUnique(in: destinationDirectory, prefix: ".hw-partial-", role: .destination)
        partialPath = partial.path
        switch mode {
        case .spooled(let threshold, let tempDir):
            RawFile.close(partial.fd)
            sink = .spool(SpooledFile(threshold: threshold, directory: tempDir))
        case .streamed:
            sink = .file(fd: partial.fd)
        }
    }

    private func writeFile(_ buffer: ByteBuffer) throws(UploadError) {
        var failure: UploadError?
        buffer.withUnsafeReadableBytes { raw in
            do throws(UploadError) {
                switch sink {
                case .spool(let spool):
                    try spool.write(raw)
                case .file(let fd):
                    try RawFile.writeAll(fd, raw, path: partialPath ?? destinationDirectory, role: .destination,
                                         directory: destinationDirectory, fileOffset: destinationBytes)
                    destinationBytes += UInt64(raw.count)
                case nil:
                    break
                }
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
    }

    private func flushPending() throws(UploadError) {
        guard pending.readableBytes > 0 else { return }
        defer { pending.clear() }
        try writeFile(pending)
    }

    private func endFile() {
        fileComplete = true
        receiveEndNs = MonotonicClock.nanoseconds()
    }

    // MARK: - Failure and clean-up

    /// Removes every file of this upload, records the error (with the whole file's size when the disk filled), returns it.
    private func fail(_ error: UploadError) -> UploadError {
        var error = error
        if case .insufficientStorage(var storage) = error.code, let expectedLength, expectedLength > bodyOffsetAtFile {
            // The file is the rest of the body less the closing delimiter, so this is what it needed in all.
            let closing: UInt64 = if case .multipart(_, let b) = body { UInt64(b.count + 4) } else { 0 }
            storage.bytesNeeded = max(storage.bytesNeeded, expectedLength - bodyOffsetAtFile - min(closing, expectedLength - bodyOffsetAtFile))
            error = UploadError(.insufficientStorage(storage))
        }
        if failure == nil { failure = error }
        removeFiles()
        return error
    }

    private func removeFiles() {
        switch sink {
        case .spool(let spool): spool.close()
        case .file(let fd): RawFile.close(fd)
        case nil: break
        }
        sink = nil
        if let partialPath { RawFile.unlinkIfPresent(partialPath) }
        partialPath = nil
        pending.clear()
    }

    // MARK: - Is the multipart body closed?

    private func keepTail(_ chunk: ByteBuffer, boundaryLength: Int) {
        let keep = boundaryLength + 64
        tail.append(contentsOf: chunk.readableBytesView.suffix(keep))
        if tail.count > keep { tail.removeFirst(tail.count - keep) }
    }

    /// The body ends with the close delimiter `--boundary--` (then optional whitespace): the parser ignores the
    /// epilogue silently, so a body cut short would otherwise look complete.
    private func bodyIsClosed(boundary: [UInt8]) -> Bool {
        var end = tail.endIndex
        while end > tail.startIndex, [UInt8(ascii: "\r"), UInt8(ascii: "\n"), UInt8(ascii: " "), UInt8(ascii: "\t")].contains(tail[end - 1]) {
            end -= 1
        }
        let close = Array("--".utf8) + boundary + Array("--".utf8)
        return end - tail.startIndex >= close.count && tail[(end - close.count)..<end].elementsEqual(close)
    }
}
