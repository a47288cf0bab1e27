@preconcurrency import Glibc
import HighwaterHarness
import HighwaterRecords
import HighwaterSystem
import Testing

/// HighwaterHost's public API, from outside: examples/minimal-host is a package of its own that depends on
/// Highwater by path and imports nothing but HighwaterHost. It is built here and run as a real run's child.
@Suite("A host built from the public library API alone", .serialized)
struct PublicHostTests {
    /// The checkout this test file is in.
    static let packageRoot: String = {
        var path = "\(#filePath)"
        for _ in 0..<4 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path
    }()
    static var packageDirectory: String { packageRoot + "/examples/minimal-host" }

    @Test("examples/minimal-host builds against HighwaterHost and serves a run's requests, recorded as the built-in host's are")
    func minimalHost() async throws {
        let scratch = Self.packageRoot + "/.build-minimal-host"
        let build = await TestSupport.run(["swift", "build", "--package-path", Self.packageDirectory, "--scratch-path", scratch,
                                           "--product", "minimal-host"], timeoutNs: 900_000_000_000)
        try #require(build.termination == .exited(0), "swift build of examples/minimal-host failed:\n\(build.stderr.suffix(4000))\(build.stdout.suffix(4000))")
        let binary = scratch + "/debug/minimal-host"

        let out = TestSupport.makeTemporaryDirectory("hw-public-host")
        defer { TestSupport.removeTree(out) }
        let plan = RunPlan(scenario: "public-host", config: "hello", executor: .init(kind: "fixed", size: 2),
                           workload: .init(name: "alloc-churn"), load: .init(requests: 20, concurrency: 2),
                           sampleIntervalNs: 10_000_000)
        let session = RunSession(outDirectory: out, executable: binary, showProgress: false, version: "test")
        let summary = try #require(try await session.run([plan]).first)
        #expect(summary.run_error == nil, "\(summary.run_error ?? "")")
        #expect(summary.requests == 20 && summary.errors == 0, "requests \(summary.requests), errors \(summary.errors)")
        #expect(summary.child_exit == "exit 0")
        let lines = try FileTree.readText("\(out)/public-host/\(summary.run_id)/requests.jsonl").split(separator: "\n")
        #expect(lines.count == 20)
        let record = try RecordCoding.decode(RequestRecord.self, from: Array(lines[0].utf8))
        #expect(record.route == "/work" && record.status == 200 && record.rss_after > 0)
        // The agent beside Highwater is preloaded into the user's host as into the built-in one.
        #expect(record.heap_allocs != nil && record.heap_live_delta != nil, "no heap counters: \(lines[0])")
    }
}
