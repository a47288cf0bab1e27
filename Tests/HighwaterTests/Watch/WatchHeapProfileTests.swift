@preconcurrency import Glibc
import HighwaterHarness
import HighwaterSystem
import Testing

/// `watch --agent -- CMD` serves the command's heap profile where profilers pull it: `go tool pprof -top` on
/// /debug/pprof/heap?pid=PID names the function that leaks first in inuse_space, and the one that churns first in
/// alloc_space.
@Suite("watch heap profiles",
       .enabled(if: AgentPreload.library(besideExecutable: TestSupport.highwater) != nil, "libHighwaterAgent.so is not built beside highwater"),
       .enabled(if: TestSupport.which("go") != nil, "go is absent (Debian golang-go; make test installs it)"),
       .enabled(if: TestSupport.which("cc") != nil, "cc is absent"))
struct WatchHeapProfileTests {
    /// Keeps 64 KiB a round from hw_watch_leak, and allocates and frees 20 x 100 kB a round from hw_watch_churn.
    static let program = """
        #include <stdlib.h>
        #include <string.h>
        #include <unistd.h>
        void *kept[200000];
        __attribute__((noinline)) void hw_watch_leak(int i) { kept[i] = malloc(64 << 10); memset(kept[i], 1, 64 << 10); }
        __attribute__((noinline)) void hw_watch_churn(void) { char *p = malloc(100000); memset(p, 0, 100000); free(p); }
        int main(void) {
            for (int i = 0; i < 200000; i++) { hw_watch_leak(i); for (int j = 0; j < 20; j++) hw_watch_churn(); usleep(2000); }
            return 0;
        }
        """

    /// `go tool pprof -top` of the URL for one sample index: the rows' names, most first.
    static func top(_ url: String, index: String, home: String) async -> (names: [String], output: String) {
        var environment = ProcessEnvironment.current
        environment["HOME"] = home  // pprof keeps its settings and fetched profiles under $HOME
        let r = await TestSupport.run([TestSupport.which("go")!, "tool", "pprof", "-top", "-sample_index=\(index)", url], environment: environment)
        let rows = r.stdout.split(separator: "\n").drop { !$0.contains("flat%") }.dropFirst()
        return (rows.compactMap { $0.split(separator: " ").last.map(String.init) }, r.stdout + r.stderr)
    }

    @Test("go tool pprof -top on /debug/pprof/heap?pid=PID puts the leaking function first (inuse_space), the churning one first in alloc_space")
    func leakFirst() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-watch-heap")
        defer { TestSupport.removeTree(dir) }
        try FileTree.writeAtomically(Array(Self.program.utf8), to: dir + "/leaky.c")
        // -O0: an optimizer may drop allocations nothing reads.
        let cc = await TestSupport.run([TestSupport.which("cc")!, "-O0", "-o", dir + "/leaky", dir + "/leaky.c"])
        try #require(cc.termination == .exited(0), "\(cc.stderr)")
        let watch = try #require(await RunningWatch.start(["--agent", "--interval", "250ms", "--", dir + "/leaky"], dir: dir))
        defer { watch.child.signal(SIGINT); _ = watch.child.wait(timeoutNs: 10_000_000_000); TestSupport.end(watch.child) }

        // The leak is under way once the live heap the agent counts passes 8 MiB.
        let pid = await TestSupport.poll(seconds: 60, every: 100) { () -> Int32? in
            guard let text = watch.metrics, let line = text.split(separator: "\n").first(where: { $0.hasPrefix("highwater_heap_live_bytes{") }),
                  let value = line.split(separator: " ").last.flatMap({ Double($0) }), value > Double(8 << 20),
                  let range = line.range(of: "pid=\"") else { return nil }
            return Int32(line[range.upperBound...].prefix { $0.isNumber })
        }
        let target = try #require(pid, "no live heap on /metrics: \(watch.stderr)")
        let url = "http://127.0.0.1:\(watch.port)/debug/pprof/heap?pid=\(target)"
        let inuse = await Self.top(url, index: "inuse_space", home: dir)
        #expect(inuse.names.first == "hw_watch_leak", "\(inuse.output)")
        let alloc = await Self.top(url, index: "alloc_space", home: dir)
        #expect(alloc.names.first == "hw_watch_churn", "\(alloc.output)")

        // A PID that is not watched with the agent is told so, not answered with an empty profile.
        let unknown = HTTPGet.bytes(port: watch.port, path: "/debug/pprof/heap?pid=\(getpid())")
        #expect(unknown?.status == 404)
    }
}
