@preconcurrency import Glibc
import FoundationEssentials
import HighwaterAnalysis
import HighwaterHarness
import HighwaterRecords
import HighwaterSystem

/// What the allocation agent costs a hosted handler that allocates as real work does: the `alloc-churn` workload
/// (8 MiB in 64 KiB blocks, every page touched, per request) on a pool of one thread per core, driven at twice that
/// concurrency, with the agent left out (`HIGHWATER_AGENT=off`), counting only, sampling at 512 KiB, and recording
/// every allocation. Each mode starts a fresh host a round, modes alternate within a round. The figure compared is
/// the host's CPU time a request (its own clock, all threads), median of the rounds: on a shared machine the
/// throughput swings with what else runs, the CPU a request takes far less. The throughput is printed beside it.
enum AgentHostBenchmark {
    struct Result: Sendable {
        var name: String
        var requestsPerSecond: [Double]
        var cpuNsPerRequest: [Double]
        var medianCPU: Double { Percentiles.of(cpuNsPerRequest).p50 }
        var medianThroughput: Double { Percentiles.of(requestsPerSecond).p50 }
    }

    static let modes: [(name: String, environment: [String: String])] = [
        ("bare (agent off)", ["HIGHWATER_AGENT": "off"]),
        ("counters", ["HIGHWATER_AGENT_SAMPLE_BYTES": "off"]),
        ("sampled 512 KiB", ["HIGHWATER_AGENT_SAMPLE_BYTES": "524288"]),
        ("every allocation", ["HIGHWATER_AGENT_SAMPLE_BYTES": "0"]),
    ]

    static func run(executable: String, requests: Int, rounds: Int, scratch: String) async throws -> [Result] {
        let cores = SystemFacts.onlineCPUs
        try FileTree.createDirectory(scratch)
        defer { FileTree.removeTree(scratch) }
        var results = modes.map { Result(name: $0.name, requestsPerSecond: [], cpuNsPerRequest: []) }
        for _ in 0..<rounds {
            for (i, mode) in modes.enumerated() {
                if Interruption.requested { return results }
                let plan = RunPlan(scenario: "bench", config: "alloc-churn", executor: .init(kind: "fixed", size: cores),
                                   workload: .init(name: "alloc-churn"), environment: mode.environment,
                                   load: .init(requests: requests, concurrency: 2 * cores))
                let directory = scratch + "/mode\(i)"
                try FileTree.createDirectory(directory)
                let planPath = directory + "/plan.json"
                try FileTree.writeAtomically(try RecordCoding.document(plan), to: planPath)
                let round = try await HostBenchmark.round(plan: plan, planPath: planPath, directory: directory, executable: executable)
                results[i].requestsPerSecond.append(round.requestsPerSecond)
                results[i].cpuNsPerRequest.append(round.cpuNsPerRequest)
                FileTree.removeTree(directory)
            }
        }
        return results
    }
}
