@preconcurrency import Glibc
import HighwaterSystem

/// Turns a program into a Highwater host: the child Highwater starts for each configuration of a scenario that
/// names the program (`host: {command: PATH}`). It reads the plan Highwater hands it, builds the executor the
/// plan asks for (kind and size), serves `routes` on 127.0.0.1, records every request's RSS and heap counters and
/// samples the process, exactly as Highwater's own host does; it ends when Highwater asks, or when Highwater is
/// gone.
///
/// ```swift
/// import HighwaterHost
///
/// struct Resize: Handler {
///     func respond(to request: Request) throws -> Response { … }
/// }
///
/// var routes = Routes()
/// routes.add("/resize", Resize())
/// Host.main(routes)
/// ```
public enum Host {
    /// Serves `routes` as the run's child and exits: 0 when the run ended as asked, 2 when the plan or the
    /// arguments are wrong (with the reason on stderr), 3 when it could not serve.
    public static func main(_ routes: Routes, arguments: [String] = Array(CommandLine.arguments.dropFirst())) -> Never {
        do {
            let parsed = try HostChild.Arguments.parse(arguments)
            try HostChild.serve(parsed, routes: { context in try routes.table(context) })
            exit(0)
        } catch {
            Terminal.write("\(CommandLine.arguments.first ?? "host"): \(error.description)\n")
            exit(error.exitCode)
        }
    }
}
