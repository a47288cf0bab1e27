@preconcurrency import Glibc
import HighwaterRecords
import HighwaterProbes
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization


/// The HTTP/1.1 server a configuration is hosted in: one event loop thread on loopback, handlers
/// on the configured executor.
public final class HostServer: Sendable {
    public let port: Int
    private let channel: Channel
    private let group: MultiThreadedEventLoopGroup
    private let stopped = Flag()

    final class Flag: Sendable {
        let value = Atomic<Bool>(false)
    }

    /// Binds and starts serving. `host` is 127.0.0.1 unless told otherwise.
    public init(host: String = "127.0.0.1", port: Int = 0, executor: WorkerExecutor,
                makeSession: @escaping SessionFactory) throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.group = group
        let stopped = self.stopped
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: false)
                    try channel.pipeline.syncOperations.addHandler(
                        HostHandler(executor: executor, makeSession: makeSession,
                                    onShutdown: { stopped.value.store(true, ordering: .releasing) }))
                }
            }
        do {
            channel = try bootstrap.bind(host: host, port: port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
        self.port = channel.localAddress?.port ?? port
    }

    /// True once a client asked the host to stop.
    public var shutdownRequested: Bool { stopped.value.load(ordering: .acquiring) }

    public func close() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }
}

/// The session of a compute workload: the body is ignored, the work runs at the end.
final class ComputeSession: RequestSession, @unchecked Sendable {
    let index: Int
    let route: String
    let workload: ComputeWorkload
    let recorder: RequestRecorder
    let failEvery: Int
    let crashAt: Int?

    init(index: Int, route: String, workload: ComputeWorkload, recorder: RequestRecorder, failEvery: Int, crashAt: Int?) {
        self.index = index; self.route = route; self.workload = workload; self.recorder = recorder
        self.failEvery = failEvery; self.crashAt = crashAt
    }

    func receive(_ chunk: ByteBuffer) throws {}

    func finish() -> HostResponse {
        let start = recorder.start(i: index, route: route)
        if index == crashAt {
            // For showing how a crashed child is reported: a message on stderr, then SIGABRT.
            let message = "highwater host: crashing on request \(index) as configured (crash_at)\n"
            _ = message.withCString { write(2, $0, strlen($0)) }
            Glibc.abort()
        }
        workload.run()
        if failEvery > 0 && index % failEvery == failEvery - 1 {
            // A handler that throws: recorded with its error text, answered with 500, the server goes on.
            let message = "injected failure on request \(index) (fail_every \(failEvery))"
            recorder.finish(start, status: 500, error: message)
            return HostResponse(status: .internalServerError, body: JSONText.error(message))
        }
        recorder.finish(start, status: 200)
        return HostResponse(status: .ok, body: "{\"i\":\(index)}")
    }

    func abort() {}
}

extension HTTPRequestHead {
    /// The request index the load driver sends, or -1.
    var requestIndex: Int {
        headers.first(name: "x-highwater-request").flatMap { Int($0) } ?? -1
    }
}
