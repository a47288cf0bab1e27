@preconcurrency import Glibc
import HighwaterRecords
import HighwaterSystem
import Testing

/// Two records of one server into one results directory (`record --name`): both kept, one report comparing them as
/// a sweep's configurations; a name recorded again is replaced, with a notice, and the other kept.
@Suite("Records side by side", .enabled(if: RecordTestServer.python != nil, "python3 is not installed"))
struct RecordsSideBySideTests {
    @Test("record --name adds a configuration; the same name replaces its own phases only")
    func twoRecordsOneReport() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-records-side")
        defer { TestSupport.removeTree(dir) }
        for (name, environment) in [("default", "HIGHWATER_TEST=1"), ("arena2", "MALLOC_ARENA_MAX=2"), ("default", "HIGHWATER_TEST=2")] {
            let r = try await RecordTestServer.record(in: dir) { port in
                ["--name", name, "--env", environment, "--load", "GET http://127.0.0.1:\(port)/work n=60 c=4"]
            }
            #expect(r.termination == .exited(0), "\(r.stdout)\n\(r.stderr)")
            if name == "default" && environment.hasSuffix("2") {
                #expect((r.stdout + r.stderr).contains("replacing the record named default"), "\(r.stdout)\n\(r.stderr)")
            }
        }
        let out = dir + "/results"
        let runs = try RecordTestServer.results(out).runs
        #expect(runs.map(\.run_id).sorted() == ["arena2-01-get-work", "default-01-get-work"], "\(runs.map(\.run_id))")
        #expect(runs.allSatisfy { $0.scenario == "record" })
        #expect(runs.first { $0.run_id.hasPrefix("default") }?.configuration?.environment["HIGHWATER_TEST"] == "2")
        #expect(runs.first { $0.run_id.hasPrefix("arena2") }?.configuration?.config == "arena2")
        #expect(runs.allSatisfy { $0.configuration?.phase == "01-get-work" })
        // Filed under its name from the start: each phase's own summary.json says what DIR/summary.json says.
        #expect(try RecordTestServer.phaseSummaries(out) == runs)
        let markdown = (try? FileTree.readText(out + "/report.md")) ?? ""
        for run in runs {
            #expect(markdown.contains("| record | \(run.config) | "), "\(run.config) is not in the runs table")
        }
        let html = (try? FileTree.readText(out + "/index.html")) ?? ""
        #expect(html.contains("aria-label=\"record: RSS over requests, every configuration\""))
    }
}
