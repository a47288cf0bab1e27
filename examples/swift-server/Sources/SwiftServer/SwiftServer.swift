import Dispatch
import NIOCore
import NIOHTTP1
import NIOPosix
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

typealias HTTPConnection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

/// A small SwiftNIO HTTP server with the memory behaviours `highwater record` diagnoses: blocking work on a thread
/// pool (glibc gives each worker thread an arena, up to 8 x cores), uploads spooled to `TMPDIR`, a cache with no bound.
@main
struct SwiftServer {
    static func main() async throws {
        let config = Configuration.fromEnvironment()
        let pool = NIOThreadPool(numberOfThreads: config.workers)
        pool.start()
        let routes = Routes(pool: pool, leakBytes: config.leakBytes, spool: UploadSpool())

        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: config.host, port: config.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try HTTPConnection(wrappingChannelSynchronously: channel)
                }
            }
        logLine("listening on \(config.host):\(config.port), \(config.workers) workers")

        let sigterm = closeOnSIGTERM(server.channel)
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { connections in
                for try await connection in connections {
                    group.addTask { await routes.serve(connection) }
                }
            }
            group.cancelAll()  // idle keep-alive connections end with the server
        }
        sigterm.cancel()
        try await pool.shutdownGracefully()
    }

    /// SIGTERM closes the listening socket, so `main` returns and the process exits normally: exit handlers run
    /// (`highwater record --agent` needs them to write the allocation events of the target's last moments).
    private static func closeOnSIGTERM(_ channel: any Channel) -> any DispatchSourceSignal {
        signal(SIGTERM, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGTERM, queue: .global())
        source.setEventHandler { channel.close(promise: nil) }
        source.resume()
        return source
    }
}
