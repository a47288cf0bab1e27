@preconcurrency import Glibc
import HighwaterRecords
import HighwaterSystem
import HighwaterUploads
import NIOCore
import NIOHTTP1
import HighwaterHost

/// One upload on the `/upload` route: the body streams through an `UploadReceiver` chunk by chunk on a worker
/// thread, and the answer says where its bytes went (200) or why it failed (400, 413, 507).
///
/// A failed upload keeps reading the rest of the body and discards it, so the client gets the answer on a
/// connection still in step instead of a reset; the receiver has already removed its files by then.
final class UploadSession: RequestSession, @unchecked Sendable {
    static let route = "/upload"

    private let index: Int
    private let payloadBytes: UInt64?
    private let workload: UploadWorkload
    private let recorder: RequestRecorder
    private var receiver: UploadReceiver?
    private var failure: UploadError?
    private var start: RequestRecorder.Start?

    /// The file name comes from the `x-highwater-file-name` header or the path (`/upload/NAME`); for a multipart
    /// body without either, from the file part. Whatever its source, `UploadReceiver` confines it.
    init(head: HTTPRequestHead, workload: UploadWorkload, recorder: RequestRecorder) {
        index = head.requestIndex
        payloadBytes = head.headers.first(name: "x-highwater-payload").flatMap { UInt64($0) }
        self.workload = workload
        self.recorder = recorder
        let pathName = head.uri.dropFirst(Self.route.count).drop { $0 == "/" }.prefix { $0 != "?" }
        let name = head.headers.first(name: "x-highwater-file-name") ?? (pathName.isEmpty ? nil : String(pathName))
        do {
            receiver = try UploadReceiver(
                contentType: head.headers.first(name: "content-type"), mode: workload.mode,
                destinationDirectory: workload.destinationDirectory, limits: workload.limits, fileName: name,
                expectedLength: head.headers.first(name: "content-length").flatMap { UInt64($0) })
        } catch {
            failure = error
        }
    }

    func receive(_ chunk: ByteBuffer) throws {
        if start == nil { start = recorder.start(i: index, route: Self.route) }
        guard failure == nil, let receiver else { return }
        do { try receiver.receive(chunk) } catch { failure = error }
    }

    func finish() -> HostResponse {
        let start = self.start ?? recorder.start(i: index, route: Self.route)
        if failure == nil, let receiver {
            do {
                let result = try receiver.finish()
                if !workload.keepFiles { Syscall.unlinkIfPresent(result.destinationPath) }
                record(start, status: 200, result: result)
                return HostResponse(status: .ok, body: result.jsonBody)
            } catch {
                failure = error
            }
        }
        let error = failure ?? UploadError(.aborted)
        record(start, status: error.httpStatus, error: error)
        return HostResponse(status: HTTPResponseStatus(statusCode: error.httpStatus), body: error.jsonBody)
    }

    func abort() {
        receiver?.abort()
        if let start { record(start, status: UploadError(.aborted).httpStatus, error: UploadError(.aborted)) }
    }

    private func record(_ start: RequestRecorder.Start, status: Int, result: UploadResult? = nil, error: UploadError? = nil) {
        recorder.finish(start, status: status, error: error?.description) { r in
            r.payload_bytes = payloadBytes
            r.bytes_received = result?.bytesReceived ?? receiver?.bytesReceived
            if let result {
                r.bytes_to_temp_dir = result.bytesWrittenToTempDir
                r.bytes_to_destination = result.bytesWrittenToDestination
                r.threshold_crossed = result.thresholdCrossed ? 1 : 0
                r.receive_ns = result.receiveNs
                r.copy_ns = result.copyNs
            }
        }
    }
}
