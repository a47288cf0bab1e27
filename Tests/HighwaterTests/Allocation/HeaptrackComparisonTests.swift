@preconcurrency import Glibc
import HighwaterProbes
import HighwaterRecords
import HighwaterSystem
import Testing

/// The agent side by side with heaptrack (Debian's `heaptrack`, a tool nobody here wrote) on the same
/// allocation-heavy C program: 200 blocks of 100 000 bytes kept by `leaky`, and 128 000 blocks of 1-65 KiB
/// allocated and freed 64 at a time by `churn`. Both must agree on the peak heap, the bytes leaked and the site.
@Suite("The agent beside heaptrack")
struct HeaptrackComparisonTests {
    static let heaptrack = TestSupport.which("heaptrack")
    static let heaptrackPrint = TestSupport.which("heaptrack_print")
    static var compiler: String? { AllocationAgentTests.compiler }
    static var agentBuilt: Bool { AllocationAgentTests.agentBuilt }

    static let program = #"""
    #include <stdlib.h>
    #include <string.h>
    static void *keep[200];
    __attribute__((noinline)) void *leaky(size_t n) { void *p = malloc(n); memset(p, 1, n); return p; }
    __attribute__((noinline)) void churn(int rounds) {
        void *p[64];
        for (int r = 0; r < rounds; r++) {
            for (int i = 0; i < 64; i++) { p[i] = malloc(1024 + (size_t)(i * 997) % 65536); memset(p[i], 2, 64); }
            for (int i = 0; i < 64; i++) free(p[i]);
        }
    }
    int main(void) {
        for (int i = 0; i < 200; i++) { keep[i] = leaky(100000); churn(10); }
        return 0;
    }
    """#

    /// heaptrack_print's figures: "peak heap memory consumption: 22.15M" (K, M, G in thousands).
    static func figure(_ name: String, in text: String) -> Double? {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name + ": ") }) else { return nil }
        guard var value = line.dropFirst(name.count + 2).split(separator: " ").first.map(String.init) else { return nil }
        var scale = 1.0
        if let unit = value.last, let power = ["K": 1e3, "M": 1e6, "G": 1e9][String(unit)] { scale = power; value.removeLast() }
        if value.hasSuffix("B") { value.removeLast() }
        return Double(value).map { $0 * scale }
    }

    @Test("peak heap and leaked bytes agree within 10%, and the top site is the same function",
          .enabled(if: heaptrack != nil && heaptrackPrint != nil, "heaptrack is not installed (Debian heaptrack; make test installs it)"),
          .enabled(if: compiler != nil, "cc is not installed"),
          .enabled(if: agentBuilt, "libHighwaterAgent.so is not built beside the tests"))
    func agreesWithHeaptrack() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-heaptrack")
        defer { TestSupport.removeTree(dir) }
        try FileTree.writeAtomically(Self.program, to: dir + "/program.c")
        let build = await TestSupport.run([Self.compiler!, "-O1", "-g", "-o", dir + "/program", dir + "/program.c"])
        try #require(build.termination == .exited(0), "\(build.stderr)")

        let traced = await TestSupport.run([Self.heaptrack!, "-o", dir + "/trace", dir + "/program"])
        try #require(traced.termination == .exited(0), "\(traced.stdout)\n\(traced.stderr)")
        let trace = try #require(try FileTree.list(dir, suffixes: [".zst", ".gz"]).first { $0.contains("trace") }, "heaptrack wrote no trace")
        let printed = await TestSupport.run([Self.heaptrackPrint!, trace.hasPrefix("/") ? trace : dir + "/" + trace])
        let theirs = printed.stdout
        let theirPeak = try #require(Self.figure("peak heap memory consumption", in: theirs), "\(theirs.suffix(600))")
        let theirLeak = try #require(Self.figure("total memory leaked", in: theirs), "\(theirs.suffix(600))")
        // The first function named under PEAK MEMORY CONSUMERS.
        let consumers = try #require(theirs.range(of: "PEAK MEMORY CONSUMERS"))
        let theirTop = theirs[consumers.upperBound...].split(separator: "\n").dropFirst().first.map(String.init)

        var environment = ProcessEnvironment.current
        environment["HIGHWATER_AGENT_SAMPLE_BYTES"] = "0"
        let ours = await TestSupport.run([TestSupport.highwater, "sample", "--agent", "--out", dir + "/out", "--", dir + "/program"],
                                         environment: environment)
        try #require(ours.termination == .exited(0), "\(ours.stderr)")
        let sites = RecordCoding.lines(AllocationSite.self, from: try FileTree.readBytes(dir + "/out/alloc-sites.jsonl"))
        let ourLeak = Double(sites.reduce(0) { $0 + $1.retained_bytes })
        let peakLine = try #require(ours.stdout.split(separator: "\n").first { $0.hasPrefix("heap: peak ") }, "\(ours.stdout)")
        // "heap: peak 21.1 MiB live, …"
        let words = peakLine.split(separator: " ")
        let ourPeak = Double(try #require(words.count > 3 ? Quantity.bytes(words[2] + " " + words[3]) : nil, "\(peakLine)"))

        // The issue asks for 10%; the two agree to 0.2% on this deterministic program, and a peak read from the
        // millisecond timeline instead of event by event drifted 7.7% low while still inside 10%.
        #expect(abs(ourPeak - theirPeak) <= 0.03 * theirPeak, "peak heap: ours \(ourPeak), heaptrack's \(theirPeak)")
        #expect(abs(ourLeak - theirLeak) <= 0.1 * theirLeak, "leaked: ours \(ourLeak), heaptrack's \(theirLeak)")
        #expect(theirTop == "leaky" && sites.first?.site == "leaky", "heaptrack's top \(theirTop ?? "?"), ours \(sites.first?.site ?? "?")")
    }
}
