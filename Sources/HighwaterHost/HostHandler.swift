import HighwaterRecords
import NIOCore
import NIOHTTP1

/// What a route does with a request: runs on the executor, once per request body chunk and once at
/// the end, one call at a time, so a body streams under backpressure without reordering.
package protocol RequestSession: AnyObject, Sendable {
    /// A chunk of the body (called on a worker thread).
    func receive(_ chunk: ByteBuffer) throws
    /// The body is complete: do the work and answer (called on a worker thread).
    func finish() -> HostResponse
    /// The client went away or the request failed: remove everything partial.
    func abort()
}

package struct HostResponse: Sendable {
    package var status: HTTPResponseStatus
    /// The body as text; `bytes`, when set, is sent instead.
    package var body: String
    /// A body that is not text (a user handler's answer).
    package var bytes: [UInt8]?
    package var contentType = "application/json"
    /// Headers besides content-type and content-length (`content-range`, `x-accel-redirect`, …).
    package var headers: [(String, String)] = []
    /// When set, the answer is written by the stream and `body` is unused.
    package var stream: ResponseStream?
    package init(status: HTTPResponseStatus, body: String, contentType: String = "application/json",
                headers: [(String, String)] = []) {
        self.status = status; self.body = body; self.contentType = contentType; self.headers = headers
    }

    package init(stream: ResponseStream) {
        self.init(status: .ok, body: "")
        self.stream = stream
    }

    /// How many bytes the body is.
    var bodyCount: Int { bytes?.count ?? body.utf8.count }
}

/// Makes the session for a request head; nil answers 404.
package typealias SessionFactory = @Sendable (HTTPRequestHead) -> RequestSession?

/// The HTTP/1.1 handler: routes a request to its session and runs every step of it on the executor.
/// Reads are paused while a body chunk is being handled, so a slow handler slows the client
/// instead of buffering the body in memory.
///
/// Duplex, not only inbound: `read` is an outbound event, and only an outbound handler sees it to hold it back.
final class HostHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum Step {
        /// Every chunk that arrived since the last step: one trip to a worker for all of them.
        case chunks([ByteBuffer])
        case end
    }

    /// Reading pauses once this many body bytes wait for a worker: enough to keep the worker busy while the next
    /// read arrives, little enough that a slow handler slows the client instead of filling the heap.
    static let queuedBytesHighWater = 256 << 10

    private let executor: WorkerExecutor
    private let makeSession: SessionFactory
    private let onShutdown: @Sendable () -> Void
    private var head: HTTPRequestHead?
    private var session: RequestSession?
    private var queuedChunks: [ByteBuffer] = []
    private var queuedBytes = 0
    private var endReceived = false
    private var busy = false
    private var readPending = false
    private var closed = false

    init(executor: WorkerExecutor, makeSession: @escaping SessionFactory, onShutdown: @escaping @Sendable () -> Void) {
        self.executor = executor
        self.makeSession = makeSession
        self.onShutdown = onShutdown
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            if h.uri.hasPrefix("/_highwater/shutdown") {
                session = nil
            } else if h.uri.hasPrefix("/health") {
                session = nil
            } else {
                session = makeSession(h)
            }
        case .body(let chunk):
            if session != nil {
                queuedBytes += chunk.readableBytes
                queuedChunks.append(chunk)
            }
        case .end:
            guard let h = head else { return }
            if h.uri.hasPrefix("/_highwater/shutdown") {
                respond(context: context, HostResponse(status: .ok, body: "{\"shutdown\":true}"), keepAlive: false)
                onShutdown()
                return
            }
            if h.uri.hasPrefix("/health") {
                respond(context: context, HostResponse(status: .ok, body: "{\"ok\":true}"), keepAlive: h.isKeepAlive)
                return
            }
            guard session != nil else {
                respond(context: context, HostResponse(status: .notFound, body: Self.noRouteBody(h.uri)), keepAlive: h.isKeepAlive)
                return
            }
            endReceived = true
        }
        runNext(context: context)
    }

    func read(context: ChannelHandlerContext) {
        // Backpressure: no new reads while enough of the body waits for a worker.
        if queuedBytes >= Self.queuedBytesHighWater { readPending = true } else { context.read() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        clearQueue()
        // The client left mid-request. With a step on a worker, its completion aborts (a session never runs two
        // steps at once); otherwise the session cleans up now, on its executor.
        if !busy { abortSession() }
        context.fireChannelInactive()
    }

    private func abortSession() {
        guard let session else { return }
        self.session = nil
        executor.submit { session.abort() }
    }

    private func runNext(context: ChannelHandlerContext) {
        guard !busy, let session else { return }
        let step: Step
        if !queuedChunks.isEmpty {
            step = .chunks(queuedChunks)
            clearQueue()
            resumeReading(context: context)
        } else if endReceived {
            step = .end
            endReceived = false
        } else {
            return
        }
        busy = true
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let loop = context.eventLoop
        let keepAlive = head?.isKeepAlive ?? false
        executor.submit { () -> (@Sendable () -> Void)? in
            switch step {
            case .chunks(let chunks):
                let failure: HostResponse?
                do {
                    for chunk in chunks { try session.receive(chunk) }
                    failure = nil
                } catch {
                    session.abort()
                    failure = (error as? HostResponseConvertible)?.response
                        ?? HostResponse(status: .internalServerError, body: JSONText.error("\(error)"))
                }
                return { loop.execute {
                    let (handler, context) = bound.value
                    handler.busy = false
                    if handler.closed { handler.abortSession(); return }
                    if let failure {
                        handler.clearQueue()
                        handler.endReceived = false
                        handler.session = nil
                        handler.respond(context: context, failure, keepAlive: false)
                        return
                    }
                    handler.resumeReading(context: context)
                    handler.runNext(context: context)
                } }
            case .end:
                let response = session.finish()
                return { loop.execute {
                    let (handler, context) = bound.value
                    handler.busy = false
                    handler.session = nil
                    if let stream = response.stream {
                        handler.send(stream, context: context, keepAlive: keepAlive)
                        return
                    }
                    handler.respond(context: context, response, keepAlive: keepAlive)
                    handler.resumeReading(context: context)
                } }
            }
        }
    }

    private func clearQueue() {
        queuedChunks = []
        queuedBytes = 0
    }

    private func resumeReading(context: ChannelHandlerContext) {
        if readPending && !closed {
            readPending = false
            context.read()
        }
    }

    /// A streamed answer: the stream writes head and body off the event loop, then the end goes out here. Reading
    /// the next request waits until then, as HTTP/1.1 answers in order.
    private func send(_ stream: ResponseStream, context: ChannelHandlerContext, keepAlive: Bool) {
        guard !closed else { return }
        let writer = ResponseWriter(channel: context.channel, headOnly: head?.method == .HEAD, keepAlive: keepAlive)
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let loop = context.eventLoop
        Task {
            do {
                try await stream.send(writer)
                try await writer.end()
                if !keepAlive { writer.close() }
            } catch {
                writer.close()
            }
            loop.execute {
                let (handler, context) = bound.value
                handler.resumeReading(context: context)
            }
        }
    }

    private func respond(context: ChannelHandlerContext, _ response: HostResponse, keepAlive: Bool) {
        guard !closed else { return }
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: response.contentType)
        headers.add(name: "content-length", value: "\(response.bodyCount)")
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        if !keepAlive { headers.add(name: "connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: response.status, headers: headers))), promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: response.bodyCount)
        // HEAD: the same head as GET, no body.
        if head?.method != .HEAD {
            if let bytes = response.bytes { buffer.writeBytes(bytes) } else { buffer.writeString(response.body) }
        }
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        let done = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: done)
        if !keepAlive {
            let channel = context.channel
            done.futureResult.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A malformed request or a reset connection: answer if we can, then close.
        if error is HTTPParserError, !closed {
            respond(context: context, HostResponse(status: .badRequest, body: JSONText.error("malformed HTTP: \(error)")), keepAlive: false)
        } else {
            context.close(promise: nil)
        }
    }
}

/// An error that knows its HTTP answer (413, 507, …).
package protocol HostResponseConvertible {
    var response: HostResponse { get }
}

package enum JSONText {
    package static func error(_ message: String) -> String {
        var line = JSONLine()
        line.field("error", message)
        line.finish()
        return String(decoding: line.bytes.dropLast(), as: UTF8.self)
    }
}

extension HostHandler {
    /// The 404 body: the URI is the client's text, so it is escaped as a JSON string (a `"` or a newline in it
    /// must not break the object) and cut to a length worth echoing.
    static func noRouteBody(_ uri: String) -> String {
        var bytes = Array(#"{"error":"#.utf8)
        JSONLine.appendQuoted("no route " + String(uri.prefix(200)), to: &bytes)
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }
}
