import NIOCore
import NIOHTTP1
import NIOPosix

typealias RequestParts = NIOAsyncChannelInboundStream<HTTPServerRequestPart>.AsyncIterator

struct Response {
    var status: HTTPResponseStatus
    var body: String

    init(_ status: HTTPResponseStatus, _ body: String) {
        self.status = status
        self.body = body
    }
}

/// The endpoints, and one connection's requests answered in turn (HTTP/1.1 keep-alive).
struct Routes: Sendable {
    let pool: NIOThreadPool
    let leakBytes: Int
    let spool: UploadSpool

    func serve(_ connection: HTTPConnection) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                var parts = inbound.makeAsyncIterator()
                while let part = try await parts.next() {
                    guard case .head(let head) = part else { continue }
                    let response = try await respond(to: head, body: &parts)
                    var headers = HTTPHeaders([("content-length", String(response.body.utf8.count))])
                    if !head.isKeepAlive { headers.add(name: "connection", value: "close") }
                    try await outbound.write(.head(HTTPResponseHead(version: head.version, status: response.status, headers: headers)))
                    try await outbound.write(.body(.byteBuffer(ByteBuffer(string: response.body))))
                    try await outbound.write(.end(nil))
                    if !head.isKeepAlive { return }
                }
            }
        } catch {
            // A client that went away mid-request: nothing to answer.
        }
    }

    private func respond(to head: HTTPRequestHead, body: inout RequestParts) async throws -> Response {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        switch (head.method, path) {
        case (.POST, "/upload"):
            return try await spool.receive(&body)
        case (.GET, "/health"):
            try await Self.drain(&body)
            return Response(.ok, "ok\n")
        case (.GET, "/work"):
            try await Self.drain(&body)
            let checksum = try await pool.runIfActive { Work.churn() }
            return Response(.ok, "\(checksum)\n")
        case (_, "/leak"):
            try await Self.drain(&body)
            return Response(.ok, "\(LeakyCache.shared.keep(leakBytes)) entries\n")
        default:
            try await Self.drain(&body)
            return Response(.notFound, "no route for \(head.method) \(path)\n")
        }
    }

    /// Reads the rest of a request's body, so the next request on the connection starts at its head.
    static func drain(_ body: inout RequestParts) async throws {
        while let part = try await body.next() {
            if case .end = part { return }
        }
    }
}
