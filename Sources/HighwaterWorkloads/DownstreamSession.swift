import AsyncHTTPClient
import HighwaterRecords
import NIOCore
import NIOHTTP1
import HighwaterHost

/// One request on `/downstream`: call the downstream service and stream its body back as it arrives. A call that
/// fails before the downstream answers is answered 502 (reset, refused) or 504 (timeout) and recorded with its kind;
/// one that fails mid-body cuts the connection, as a proxy must.
final class DownstreamSession: RequestSession, @unchecked Sendable {
    private let index: Int
    private let workload: DownstreamWorkload
    private let recorder: RequestRecorder

    init(head: HTTPRequestHead, workload: DownstreamWorkload, recorder: RequestRecorder) {
        index = head.requestIndex
        self.workload = workload
        self.recorder = recorder
    }

    func receive(_ chunk: ByteBuffer) throws {}

    func finish() -> HostResponse {
        HostResponse(stream: DownstreamCall(index: index, workload: workload, recorder: recorder,
                                            start: recorder.start(i: index, route: DownstreamWorkload.route)))
    }

    func abort() {}
}

/// The call itself, run as the response stream so that no executor thread waits on the network.
struct DownstreamCall: ResponseStream {
    let index: Int
    let workload: DownstreamWorkload
    let recorder: RequestRecorder
    let start: RequestRecorder.Start

    func send(_ writer: ResponseWriter) async throws {
        let (client, owned) = workload.client()
        do {
            try await relay(client, writer)
        } catch {
            if owned { try? await client.shutdown() }
            throw error
        }
        if owned { try? await client.shutdown() }
    }

    private func relay(_ client: HTTPClient, _ writer: ResponseWriter) async throws {
        var request = HTTPClientRequest(url: (workload.url ?? "http://127.0.0.1:9") + "/data")
        request.headers.add(name: "x-highwater-request", value: "\(index)")
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .nanoseconds(Int64(workload.timeoutNs)))
        } catch {
            let kind = ConnectionErrorKind(error)
            let message = "downstream \(kind.rawValue): \(error)"
            recorder.finish(start, status: kind.httpStatus, error: message)
            var line = JSONLine()
            line.field("error", message)
            line.field("kind", kind.rawValue)
            line.finish()
            let body = ByteBuffer(bytes: line.bytes.dropLast())
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: "application/json")
            headers.add(name: "content-length", value: "\(body.readableBytes)")
            try await writer.head(HTTPResponseStatus(statusCode: kind.httpStatus), headers: headers)
            try await writer.body(.byteBuffer(body))
            return
        }
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: response.headers.first(name: "content-type") ?? "application/octet-stream")
        if let length = response.headers.first(name: "content-length") { headers.add(name: "content-length", value: length) }
        try await writer.head(response.status, headers: headers)
        do {
            for try await chunk in response.body { try await writer.body(.byteBuffer(chunk)) }
        } catch {
            recorder.finish(start, status: Int(response.status.code), error: "downstream \(ConnectionErrorKind(error).rawValue) mid-body: \(error)")
            throw error
        }
        recorder.finish(start, status: Int(response.status.code))
    }
}

/// What went wrong with a call over HTTP (the host's to its downstream, the load driver's to the host), in the
/// words the summary counts errors by.
package enum ConnectionErrorKind: String, Sendable, CaseIterable {
    case timeout, reset, refused, other

    package init(_ error: Error) {
        if let e = error as? HTTPClientError {
            switch e {
            case .deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout: self = .timeout; return
            case .remoteConnectionClosed: self = .reset; return
            default: break
            }
        }
        let text = "\(error)"
        if text.contains("reset") || text.contains("ECONNRESET") || text.contains("remoteConnectionClosed") { self = .reset }
        else if text.contains("refused") || text.contains("ECONNREFUSED") { self = .refused }
        else if text.contains("imeout") || text.contains("deadline") { self = .timeout }
        else { self = .other }
    }

    var httpStatus: Int { self == .timeout ? 504 : 502 }
}
