import NIOCore
import NIOHTTP1

/// An answer whose body is written as it is produced (a file in chunks, a file region, a downstream's body),
/// instead of a string known up front. It writes its own head, because a proxied answer's status is known only
/// once the downstream has answered; the handler writes the end.
package protocol ResponseStream: Sendable {
    /// Writes the head and the body through `writer`. Throwing after the head closes the connection, so the
    /// client sees a truncated body rather than a well-framed wrong one.
    func send(_ writer: ResponseWriter) async throws
}

/// The connection as a response stream sees it: every call hops to the channel's event loop, and a body write
/// completes once the bytes have left, so a producer runs no faster than the client reads (backpressure).
package struct ResponseWriter: Sendable {
    let channel: Channel
    /// HEAD: the head says what GET would send, and no body follows.
    package let headOnly: Bool
    let keepAlive: Bool

    package func head(_ status: HTTPResponseStatus, headers: HTTPHeaders) async throws {
        var headers = headers
        if !keepAlive { headers.replaceOrAdd(name: "connection", value: "close") }
        let part = HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))
        try await channel.writeAndFlush(part)
    }

    package func body(_ data: IOData) async throws {
        guard !headOnly else { return }
        try await channel.writeAndFlush(HTTPServerResponsePart.body(data))
    }

    func end() async throws {
        try await channel.writeAndFlush(HTTPServerResponsePart.end(nil))
    }

    func close() {
        channel.close(promise: nil)
    }
}
