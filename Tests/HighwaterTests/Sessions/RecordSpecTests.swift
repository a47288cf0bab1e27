@preconcurrency import Glibc
import HighwaterRecords
import HighwaterSessions
import HighwaterSystem
import Testing

/// `record`'s spec and run driven in process: the spec judges itself as the command's arguments, and a real Python
/// server is recorded under a name with expectations, one of which cannot hold.
@Suite("The record spec and run, in process", .enabled(if: RecordTestServer.python != nil, "python3 is not installed"))
struct RecordSpecTests {
    @Test("a named record with expectations: its phase filed under the name, each expectation stored, the failed one exit 1")
    func namedRecordWithExpectations() async throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-record-spec")
        defer { TestSupport.removeTree(dir) }
        let port = RecordTestServer.freePort()
        var spec = RecordSpec()
        spec.command = try RecordTestServer.command(dir: dir, port: port)
        spec.ready = "http://127.0.0.1:\(port)/"
        spec.loads = ["GET http://127.0.0.1:\(port)/work n=20"]
        spec.expectations = ["requests == 20", "01-*: requests > 1000"]
        spec.name = "arena2"
        spec.out = dir + "/results"
        #expect(spec.problems().isEmpty, "\(spec.problems())")
        await #expect {
            try await RecordRun(spec).run()
        } throws: { error in
            guard let failure = error as? HighwaterFailure else { return false }
            return failure.exitStatus == 1 && failure.description.hasPrefix("1 of 2 expectations failed")
        }
        let runs = try RecordTestServer.results(dir + "/results").runs
        let run = try #require(runs.first)
        #expect(runs.count == 1 && run.scenario == "record" && run.run_id == "arena2-01-get-work", "\(runs.map(\.run_id))")
        #expect(run.requests == 20 && run.errors == 0)
        #expect(run.expectations.map(\.passed) == [true, false], "\(run.expectations)")
        for pid in RecordTestServer.pids(dir: dir) { #expect(!RecordTestServer.isAlive(pid), "PID \(pid) outlived the record") }
    }

    @Test("a spec says what is wrong with it before anything starts, in the order the command says it")
    func problems() {
        var spec = RecordSpec()
        spec.pid = getpid()
        spec.environment = ["=x"]
        spec.name = "a/b"
        spec.loads = ["GET http://example.com/ n=3"]
        spec.expectations = ["rss_growth ~ 8"]
        let found = spec.problems()
        #expect(found.count == 5, "\(found)")
        #expect(found.first?.contains("example.com") == true, "a load spec's problem first: \(found)")
        #expect(found[1].hasPrefix("--expect 'rss_growth ~ 8': "), "\(found)")
        #expect(found[2] == "--env =x: give KEY=VALUE.")
        #expect(found[3] == "--env sets a started command's environment; an attached process keeps its own.")
        #expect(found[4] == "--name a/b: give a plain name of letters, digits, `-`, `_` or `.`.")
        var both = RecordSpec()
        both.command = ["true"]
        both.ready = "http://127.0.0.1:1/"
        both.readyLog = "["
        #expect(both.problems().prefix(2) == ["Give --ready or --ready-log, not both.", "--ready-log '[' is not a regular expression."])
    }
}
