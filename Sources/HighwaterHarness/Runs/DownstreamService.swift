@preconcurrency import Glibc
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import HighwaterWorkloads

/// The service a downstream workload calls, started by the run on 127.0.0.1 (in the parent, so its sockets and
/// memory are not the host's): it waits `delay`, then answers `responseBytes`, and counts the connections it
/// accepts, which is how a client per request shows itself. A fault makes every `faultEvery`th call stall (no
/// answer until the service stops) or reset (RST instead of an answer).
package final class DownstreamService: Sendable {
    package struct Counts: Sendable, Equatable {
        package var connectionsOpened: Int
        package var connectionsPeak: Int
        package var requests: Int
    }

    package let port: Int
    private let channel: Channel
    private let group: MultiThreadedEventLoopGroup
    private let state: Tally

    final class Tally: Sendable {
        let opened = Atomic<Int>(0)
        let open = Atomic<Int>(0)
        let peak = Atomic<Int>(0)
        let requests = Atomic<Int>(0)
        let stopped = Atomic<Bool>(false)
    }

    package init(responseBytes: Int, delayNs: UInt64, fault: DownstreamWorkload.Fault = .none, faultEvery: Int = 10) throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let tally = Tally()
        var body = ByteBufferAllocator().buffer(capacity: responseBytes)
        for i in 0..<responseBytes { body.writeInteger(UInt8(ascii: "a") + UInt8(i % 26)) }
        let answer = body
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                tally.opened.wrappingAdd(1, ordering: .relaxed)
                let now = tally.open.wrappingAdd(1, ordering: .relaxed).newValue
                tally.peak.max(now, ordering: .relaxed)
                channel.closeFuture.whenComplete { _ in tally.open.wrappingSubtract(1, ordering: .relaxed) }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(
                        DownstreamHandler(answer: answer, delayNs: delayNs, fault: fault, faultEvery: max(1, faultEvery), tally: tally))
                }
            }
        do {
            channel = try bootstrap.bind(host: "127.0.0.1", port: 0).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
        self.group = group
        self.state = tally
        port = channel.localAddress?.port ?? 0
    }

    package var url: String { "http://127.0.0.1:\(port)" }

    package var counts: Counts {
        Counts(connectionsOpened: state.opened.load(ordering: .relaxed), connectionsPeak: state.peak.load(ordering: .relaxed),
               requests: state.requests.load(ordering: .relaxed))
    }

    /// Closes the listener and every connection, stalled ones included. Once: a second close would wait on a loop
    /// that no longer runs.
    package func stop() {
        guard !state.stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }
}

final class DownstreamHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let answer: ByteBuffer
    let delayNs: UInt64
    let fault: DownstreamWorkload.Fault
    let faultEvery: Int
    let tally: DownstreamService.Tally
    private var keepAlive = true

    init(answer: ByteBuffer, delayNs: UInt64, fault: DownstreamWorkload.Fault, faultEvery: Int, tally: DownstreamService.Tally) {
        self.answer = answer; self.delayNs = delayNs; self.fault = fault; self.faultEvery = faultEvery; self.tally = tally
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): keepAlive = head.isKeepAlive
        case .body: break
        case .end:
            let n = tally.requests.wrappingAdd(1, ordering: .relaxed).oldValue
            if fault != .none && n % faultEvery == faultEvery - 1 {
                if fault == .reset {
                    // SO_LINGER 0: close sends RST, as a crashed or overloaded service does.
                    let channel = context.channel
                    let lingering = (channel as? SocketOptionProvider)?.setSoLinger(linger(l_onoff: 1, l_linger: 0))
                    (lingering ?? context.eventLoop.makeSucceededVoidFuture()).whenComplete { _ in channel.close(promise: nil) }
                }
                // A stall answers nothing; the connection stays open until the caller gives up or the service stops.
                return
            }
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: .nanoseconds(Int64(delayNs))) {
                let (handler, context) = bound.value
                handler.respond(context: context)
            }
        }
    }

    private func respond(context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/octet-stream")
        headers.add(name: "content-length", value: "\(answer.readableBytes)")
        if !keepAlive { headers.add(name: "connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(answer))), promise: nil)
        let channel = context.channel
        let keepAlive = self.keepAlive
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in if !keepAlive { channel.close(promise: nil) } }
    }
}
