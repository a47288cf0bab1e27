@preconcurrency import Glibc
import HighwaterRecords
import HighwaterSystem
import NIOCore
import NIOHTTP1
import HighwaterHost

/// One download on the `/download` route, `GET` or `HEAD`, whole or one `Range`: the file goes out in chunks read
/// on the executor, as one file region for the kernel's `sendfile`, or as an `X-Accel-Redirect` for nginx.
/// A range that starts past the end is answered 416 by every path.
final class DownloadSession: RequestSession, @unchecked Sendable {
    private let index: Int
    private let rangeHeader: String?
    private let workload: DownloadWorkload
    private let executor: WorkerExecutor
    private let recorder: RequestRecorder

    init(head: HTTPRequestHead, workload: DownloadWorkload, executor: WorkerExecutor, recorder: RequestRecorder) {
        index = head.requestIndex
        rangeHeader = head.headers.first(name: "range")
        self.workload = workload
        self.executor = executor
        self.recorder = recorder
    }

    func receive(_ chunk: ByteBuffer) throws {}

    func finish() -> HostResponse {
        let start = recorder.start(i: index, route: DownloadWorkload.route)
        if workload.mode == .accel {
            // Access is checked here; nginx reads the file, and handles HEAD and Range itself.
            recorder.finish(start, status: 200)
            return HostResponse(status: .ok, body: "", contentType: "application/octet-stream",
                                headers: [("x-accel-redirect", DownloadWorkload.accelLocation + workload.fileName)])
        }
        let file: ServedFile
        do {
            file = try ServedFile(path: workload.path ?? "")
        } catch {
            recorder.finish(start, status: 404, error: "\(error)")
            return HostResponse(status: .notFound, body: JSONText.error("\(error)"))
        }
        let range = ByteRange(header: rangeHeader, size: file.size)
        if range == .unsatisfiable {
            let message = "range \(rangeHeader ?? "") starts past the end of the \(file.size)-byte file"
            recorder.finish(start, status: 416, error: message)
            return HostResponse(status: .rangeNotSatisfiable, body: JSONText.error(message),
                                headers: [("content-range", "bytes */\(file.size)")])
        }
        let (offset, count) = range.span(size: file.size)
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/octet-stream")
        headers.add(name: "content-length", value: "\(count)")
        headers.add(name: "accept-ranges", value: "bytes")
        var status = HTTPResponseStatus.ok
        if case .slice(let first, let last) = range {
            status = .partialContent
            headers.add(name: "content-range", value: "bytes \(first)-\(last)/\(file.size)")
        }
        let body = FileBody(file: file, offset: offset, count: count, chunkBytes: workload.mode == .chunked ? workload.chunkBytes : nil,
                            executor: executor)
        return HostResponse(stream: RecordedStream(status: status, headers: headers, body: body, recorder: recorder, start: start))
    }

    func abort() {}
}

/// An open file being served; closed when the last answer using it is done.
final class ServedFile: Sendable {
    let descriptor: Int32
    let size: Int

    init(path: String) throws {
        let fd = try Syscall.open(path, O_RDONLY)
        do {
            size = Int(try Syscall.status(descriptor: fd, path: path).st_size)
        } catch {
            Syscall.close(fd)
            throw error
        }
        descriptor = fd
    }

    deinit { Syscall.close(descriptor) }
}

/// A slice of a file as a response body: chunk by chunk (read on the executor, written, awaited) or, without a
/// chunk size, one file region the kernel sends.
struct FileBody: Sendable {
    let file: ServedFile
    let offset: Int
    let count: Int
    let chunkBytes: Int?
    let executor: WorkerExecutor

    func write(to writer: ResponseWriter) async throws {
        guard !writer.headOnly, count > 0 else { return }
        guard let chunkBytes else {
            let handle = NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: dup(file.descriptor))
            defer { try? handle.close() }
            try await writer.body(.fileRegion(FileRegion(fileHandle: handle, readerIndex: offset, endIndex: offset + count)))
            return
        }
        var position = offset
        let end = offset + count
        while position < end {
            let want = min(chunkBytes, end - position)
            let at = position
            let file = self.file
            let chunk = try await executor.run { () throws -> ByteBuffer in
                var buffer = ByteBufferAllocator().buffer(capacity: want)
                let n = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: want) { raw in
                    try Syscall.pread(file.descriptor, into: UnsafeMutableRawBufferPointer(rebasing: raw.prefix(want)), at: at,
                                      path: "fd \(file.descriptor)")
                }
                // The file is shorter than when it was opened: what is missing cannot be sent.
                if n == 0 { throw SystemError("pread", path: "fd \(file.descriptor)", errno: EIO) }
                return buffer
            }
            position += chunk.readableBytes
            try await writer.body(.byteBuffer(chunk))
        }
    }
}

/// A streamed answer with a known head, recorded in requests.jsonl once its body has gone out (or failed).
struct RecordedStream: ResponseStream {
    let status: HTTPResponseStatus
    let headers: HTTPHeaders
    let body: FileBody
    let recorder: RequestRecorder
    let start: RequestRecorder.Start

    func send(_ writer: ResponseWriter) async throws {
        do {
            try await writer.head(status, headers: headers)
            try await body.write(to: writer)
            recorder.finish(start, status: Int(status.code))
        } catch {
            recorder.finish(start, status: Int(status.code), error: "the body was cut short: \(error)")
            throw error
        }
    }
}

extension WorkerExecutor {
    /// Runs `body` on one of the executor's threads and waits for it without blocking a thread.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            submit { continuation.resume(with: Result { try body() }) }
        }
    }
}
