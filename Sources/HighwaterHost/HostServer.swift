@preconcurrency import Glibc
import HighwaterRecords
import HighwaterProbes
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization


/// The HTTP/1.1 server a configuration is hosted in: one event loop thread on loopback, handlers
/// on the configured executor.
package final class HostServer: Sendable {
    package let port: Int
    private let channel: Channel
    private let group: MultiThreadedEventLoopGroup
    private let stopped = Flag()

    final class Flag: Sendable {
        let value = Atomic<Bool>(false)
    }

    /// Binds and starts serving. `host` is 127.0.0.1 unless told otherwise.
    package init(host: String = "127.0.0.1", port: Int = 0, executor: WorkerExecutor,
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
    package var shutdownRequested: Bool { stopped.value.load(ordering: .acquiring) }

    package func close() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }
}

extension HTTPRequestHead {
    /// The request index the load driver sends, or -1.
    package var requestIndex: Int {
        headers.first(name: "x-highwater-request").flatMap { Int($0) } ?? -1
    }
}
