@preconcurrency import Glibc
import HighwaterHost

/// The compute workloads (`alloc-churn`, `leak`, `sleep`, `cpu`) as a `Handler` on the public host API, the same one a
/// user's own host is written in: the body is ignored and the work runs on the executor's worker.
struct ComputeHandler: Handler {
    let workload: ComputeWorkload
    let failEvery: Int
    let crashAt: Int?

    /// A handler that throws, for showing how its requests are recorded: with this text, answered 500.
    struct InjectedFailure: Error, CustomStringConvertible {
        var index: Int
        var every: Int
        var description: String { "injected failure on request \(index) (fail_every \(every))" }
    }

    func respond(to request: Request) throws -> Response {
        let index = request.index
        if index == crashAt {
            // For showing how a crashed child is reported: a message on stderr, then SIGABRT.
            let message = "highwater host: crashing on request \(index) as configured (crash_at)\n"
            _ = message.withCString { write(2, $0, strlen($0)) }
            Glibc.abort()
        }
        workload.run()
        if failEvery > 0 && index % failEvery == failEvery - 1 {
            throw InjectedFailure(index: index, every: failEvery)
        }
        return Response(text: "{\"i\":\(index)}", contentType: "application/json")
    }
}
