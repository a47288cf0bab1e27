import NIOCore
import NIOHTTP1
import NIOPosix

/// The HTTP side of `watch` on one event loop thread: GET /metrics (the registry in Prometheus's text format) and
/// GET /debug/pprof/heap?pid=PID (a gzipped pprof profile), each answered from what the samplers last set, so a
/// scrape never waits on a sample and a slow or absent scraper holds nothing up.
final class WatchServer: Sendable {
    /// What a path answers: a status, a content type and a body.
    struct Response: Sendable {
        var status: HTTPResponseStatus
        var contentType: String
        var body: [UInt8]

        static func text(_ status: HTTPResponseStatus, _ message: String) -> Response {
            Response(status: status, contentType: "text/plain; charset=utf-8", body: Array((message + "\n").utf8))
        }
    }

    typealias Route = @Sendable (_ path: String, _ query: [String: String]) -> Response

    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    /// The port bound (the one asked, or the kernel's pick for 0).
    let port: Int

    init(address: ListenAddress, route: @escaping Route) throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(RequestHandler(route: route))
                }
            }
        do {
            channel = try bootstrap.bind(host: address.host, port: address.port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
        port = channel.localAddress?.port ?? address.port
    }

    func close() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }

    private final class RequestHandler: ChannelInboundHandler, Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let route: Route

        init(route: @escaping Route) { self.route = route }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .head(let head) = unwrapInboundIn(data) else { return }
            let response: Response
            if head.method != .GET && head.method != .HEAD {
                response = .text(.methodNotAllowed, "watch answers GET only")
            } else {
                let (path, query) = Self.split(head.uri)
                response = route(path, query)
            }
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: response.contentType)
            headers.add(name: "Content-Length", value: String(response.body.count))
            if !head.isKeepAlive { headers.add(name: "Connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: response.status, headers: headers))), promise: nil)
            if head.method == .GET {
                context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: response.body)))), promise: nil)
            }
            let keepAlive = head.isKeepAlive
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                if !keepAlive { bound.value.close(promise: nil) }
            }
        }

        /// `/debug/pprof/heap?pid=12&seconds=0` -> ("/debug/pprof/heap", ["pid": "12", "seconds": "0"]).
        static func split(_ uri: String) -> (String, [String: String]) {
            guard let mark = uri.firstIndex(of: "?") else { return (uri, [:]) }
            var query: [String: String] = [:]
            for pair in uri[uri.index(after: mark)...].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1)
                query[String(kv[0])] = kv.count > 1 ? String(kv[1]) : ""
            }
            return (String(uri[..<mark]), query)
        }
    }
}
