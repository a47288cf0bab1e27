import ArgumentParser
import HighwaterSessions

struct EnvCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "env",
        abstract: "Show how this machine and process look to each runtime that sizes a pool or an allocator.",
        discussion: """
            Prints CPUs (online, affinity, cgroup quota), the defaults runtimes derive from them (glibc arenas, \
            SwiftNIO's blocking pool, libdispatch, Swift concurrency, Python's ThreadPoolExecutor, anyio), memory \
            limits, and the temp dir as Python resolves it, each with the source of the figure.
            """
    )

    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false

    @Flag(name: .customLong("self-test"), help: "Also read this process's probes and allocator, and print a symbolized stack captured with libunwind.")
    var selfTest = false

    func run() throws {
        try EnvSession.run(json: json, selfTest: selfTest)
    }
}
