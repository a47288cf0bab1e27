@preconcurrency import Glibc
import HighwaterHarness
import HighwaterProbes
import HighwaterRecords
import HighwaterSystem
import Testing
import HighwaterHost
import HighwaterWorkloads

/// Per-request heap fields from the agent preloaded into real `highwater host` children, under real load.
@Suite("Per-request heap counts from the allocation agent", .serialized)
struct RequestHeapTests {
    static let agentBuilt = AgentPreload.library(besideExecutable: TestSupport.highwater) != nil

    /// glibc's usable size of an arena block of `n` bytes: with its 8-byte size field, rounded up to 16, less that field.
    static func usable(_ n: Int) -> Int64 { Int64((n + 8 + 15) / 16 * 16 - 8) }

    static func requests(_ plan: RunPlan) async throws -> [RequestRecord] {
        let out = TestSupport.makeTemporaryDirectory("hw-heap")
        defer { TestSupport.removeTree(out) }
        let session = RunSession(outDirectory: out, executable: TestSupport.highwater, showProgress: false, version: "test")
        let s = try #require(try await session.run([plan]).first)
        #expect(s.errors == 0 && s.child_exit == "exit 0", "\(s.notes ?? [])")
        return RecordCoding.lines(RequestRecord.self, from: try FileTree.readBytes("\(out)/test/\(s.run_id)/requests.jsonl"))
    }

    static func plan(_ config: String, workload: String, options: [String: String] = [:], env: [String: String] = [:],
                     requests: Int = 60) -> RunPlan {
        RunPlan(scenario: "test", config: config, executor: .init(kind: "fixed", size: 2),
                workload: .init(name: workload, options: options), environment: env,
                load: .init(requests: requests, concurrency: 2), sampleIntervalNs: 10_000_000)
    }

    @Test("a leak's requests each keep what it leaks on the live heap", .enabled(if: agentBuilt, "libHighwaterAgent.so is not built beside highwater"))
    func leakDelta() async throws {
        let leaked = 64 << 10  // the leak workload's default bytes_per_request
        let records = try await Self.requests(Self.plan("leak", workload: "leak"))
        try #require(records.count == 60)
        for r in records {
            // One malloc of 64 KiB, kept; the handler's own code between the two readings allocates nothing.
            #expect(r.heap_live_delta == Self.usable(leaked), "request \(r.i): \(String(describing: r.heap_live_delta))")
            #expect(r.heap_allocs == 1 && r.heap_alloc_bytes == UInt64(Self.usable(leaked)) && r.heap_freed_bytes == 0, "request \(r.i)")
        }
    }

    @Test("alloc-churn frees all it allocates, but for its pin once per thread", .enabled(if: agentBuilt, "libHighwaterAgent.so is not built beside highwater"))
    func churnDelta() async throws {
        let workingSet = 1 << 20, chunk = 64 << 10, pin = 4096  // ComputeWorkload's pin
        let records = try await Self.requests(Self.plan("churn", workload: "alloc-churn",
                                                        options: ["working_set": "1 MiB", "chunk": "64 KiB"]))
        try #require(records.count == 60)
        let blocks = workingSet / chunk
        for r in records {
            // The blocks, the array of their pointers, and the first request on each thread its pin.
            let delta = try #require(r.heap_live_delta, "request \(r.i) has no heap_live_delta")
            #expect(delta == 0 || delta == Self.usable(pin), "request \(r.i): \(delta)")
            #expect(r.heap_allocs.map { $0 >= UInt64(blocks + 1) } == true, "request \(r.i)")
            #expect(r.heap_alloc_bytes.map { $0 >= UInt64(workingSet) } == true, "request \(r.i)")
        }
        let pinned = records.filter { $0.heap_live_delta == Self.usable(pin) }
        #expect(pinned.count == Set(records.map(\.tid)).count, "one pin per worker thread: \(pinned.map(\.i))")
    }

    // Only telling when the agent is built: without it the fields are absent whatever HIGHWATER_AGENT says.
    @Test("without the agent the fields are absent, not 0", .enabled(if: agentBuilt, "libHighwaterAgent.so is not built beside highwater"))
    func absentWithoutAgent() async throws {
        let records = try await Self.requests(Self.plan("no-agent", workload: "leak", env: ["HIGHWATER_AGENT": "off"], requests: 10))
        try #require(records.count == 10)
        #expect(records.allSatisfy { $0.heap_allocs == nil && $0.heap_alloc_bytes == nil && $0.heap_freed_bytes == nil && $0.heap_live_delta == nil })
    }
}
