import ArgumentParser
import FoundationEssentials
import HighwaterRecords
import HighwaterProbes

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
        let environment = RuntimeEnvironment.read()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(environment), as: UTF8.self))
        } else {
            print(environment.text(), terminator: "")
        }
        if selfTest { try runSelfTest() }
    }

    private func runSelfTest() throws {
        let probe = try ProcessProbe()
        let status = try probe.status()
        let heap = AllocatorProbe.totals()
        let arenas = try AllocatorProbe.arenas()
        print("\nSelf-test")
        print("  rss \(Quantity.formatBytes(status.vmRSS)), threads \(status.threads), fds \(try probe.fileDescriptorCount())")
        print("  heap in use \(Quantity.formatBytes(heap.inUse)), free \(Quantity.formatBytes(heap.free)), arenas \(arenas.count)")
        print("  stack (libunwind):")
        for frame in StackCapture.current(maxDepth: 12) {
            print("    " + frame.description)
        }
    }
}
