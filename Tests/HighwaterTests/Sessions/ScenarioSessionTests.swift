@preconcurrency import Glibc
import HighwaterRecords
import HighwaterSessions
import HighwaterSystem
import Testing

/// `run`'s session driven in process: a scenario of two configurations, each served by the built `highwater host`
/// in its own child, its results stored and its broken expectation said as a failure line.
@Suite("The scenario session, in process")
struct ScenarioSessionTests {
    static let scenario = """
        name: session-run
        executor: {kind: fixed, size: 2}
        load: {requests: 60, concurrency: 2}
        sweep:
          workload.name: [leak, alloc-churn]
        expect:
          - errors == 0
          - {that: requests > 1000, where: {config: "*leak*"}}
        """

    @Test("each configuration runs in a child, summary.json holds both, and the expectation that cannot hold is a failure line")
    func runsAndJudges() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-scenario-session")
        defer { TestSupport.removeTree(dir) }
        try FileTree.writeAtomically(Array(Self.scenario.utf8), to: dir + "/session-run.yaml")
        var spec = ScenarioSession.Spec()
        spec.scenarios = [dir + "/session-run.yaml"]
        spec.out = dir + "/results"
        spec.executable = TestSupport.highwater
        let outcome = try await ScenarioSession(spec).run()
        #expect(outcome.runs.count == 2 && outcome.runs.allSatisfy { $0.requests == 60 && $0.run_error == nil }, "\(outcome.runs.map(\.config))")
        let stored = try RecordCoding.decode(ResultsSummary.self, from: FileTree.readBytes(dir + "/results/summary.json"))
        #expect(Set(stored.runs.map(\.run_id)) == Set(outcome.runs.map(\.run_id)))
        for run in outcome.runs {
            #expect(Syscall.canAccess(dir + "/results/session-run/\(run.run_id)/requests.jsonl", F_OK))
        }
        #expect(Syscall.canAccess(dir + "/results/index.html", F_OK))
        // errors == 0 holds for both; the request count fails for the leak alone.
        #expect(outcome.outcomes.count == 3 && outcome.outcomes.filter { !$0.passed }.count == 1, "\(outcome.outcomes)")
        #expect(outcome.failureLines.count == 1 && outcome.failureLines[0].contains("requests > 1000"), "\(outcome.failureLines)")
    }

    @Test("request and core counts beyond the bounds are bad usage before anything runs")
    func bounds() async throws {
        var spec = ScenarioSession.Spec()
        spec.requests = 0
        #expect(spec.problems().first?.hasPrefix("--requests must be between 1 and ") == true)
        spec.requests = nil
        spec.cores = 0
        #expect(spec.problems().first?.hasPrefix("--cores must be between 1 and ") == true)
        await #expect {
            try await ScenarioSession(spec).run()
        } throws: { error in
            (error as? HighwaterFailure)?.exitStatus == 2
        }
    }
}
