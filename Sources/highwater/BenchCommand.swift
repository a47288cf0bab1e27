import ArgumentParser
import HighwaterSessions
@preconcurrency import Glibc
import HighwaterSystem

/// A thin front end: the benchmarks live in their own executable, `highwater-bench`, outside the product
/// modules; this runs it when it was built beside `highwater`.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure Highwater's own costs (sampler, host, request, report, agent, record, watch) with `highwater-bench`.",
        discussion: """
            Runs `highwater-bench` from beside this executable with the same arguments:
              highwater bench sampler | host | request | report | agent | record | watch [options]   (highwater bench help sampler)
            Build it with `swift build -c release --product highwater-bench` or `make bench`.
            """
    )

    @Argument(parsing: .captureForPassthrough, help: "The benchmark and its options.")
    var arguments: [String] = []

    func run() throws {
        let me = Executable.current
        let bench = String(me[..<(me.lastIndex(of: "/") ?? me.startIndex)]) + "/highwater-bench"
        // Help is this command's own to give, built or not: `bench --help` shows it, as `help bench` does.
        if arguments.isEmpty || arguments == ["--help"] || arguments == ["-h"] || arguments == ["help"], !Syscall.canAccess(bench, X_OK) {
            print(Highwater.helpMessage(for: Self.self))
            if arguments.isEmpty { throw HighwaterFailure.couldNotRun("\(bench) is not built; build it with `swift build -c release --product highwater-bench` (or `make bench`)") }
            return
        }
        guard Syscall.canAccess(bench, X_OK) else {
            throw HighwaterFailure.couldNotRun("\(bench) is not built; build it with `swift build -c release --product highwater-bench` (or `make bench`)")
        }
        let argv = ([bench] + arguments).map { strdup($0) } + [nil]
        execv(bench, argv)
        throw HighwaterFailure.couldNotRun("cannot run \(bench): \(String(cString: strerror(errno)))")
    }
}
