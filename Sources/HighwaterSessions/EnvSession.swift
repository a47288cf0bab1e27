import FoundationEssentials
import HighwaterProbes
import HighwaterRecords

/// `highwater env`: how this machine and process look to each runtime that sizes a pool or an allocator, and with
/// the self-test this process's own probes, allocator and a stack captured with libunwind.
package enum EnvSession {
    /// Says the environment as text or JSON; `say` takes text as it is, newlines included.
    package static func run(json: Bool, selfTest: Bool, say: (String) -> Void = { print($0, terminator: "") }) throws {
        let environment = RuntimeEnvironment.read()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            say(String(decoding: try encoder.encode(environment), as: UTF8.self) + "\n")
        } else {
            say(environment.text())
        }
        if selfTest { try self.selfTest(say: say) }
    }

    private static func selfTest(say: (String) -> Void) throws {
        let probe = try ProcessProbe()
        let status = try probe.status()
        let heap = AllocatorProbe.totals()
        let arenas = try AllocatorProbe.arenas()
        say("\nSelf-test\n")
        say("  rss \(Quantity.formatBytes(status.vmRSS)), threads \(status.threads), fds \(try probe.fileDescriptorCount())\n")
        say("  heap in use \(Quantity.formatBytes(heap.inUse)), free \(Quantity.formatBytes(heap.free)), arenas \(arenas.count)\n")
        say("  stack (libunwind):\n")
        for frame in StackCapture.current(maxDepth: 12) {
            say("    " + frame.description + "\n")
        }
    }
}
