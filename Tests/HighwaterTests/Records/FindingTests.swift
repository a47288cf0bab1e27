import FoundationEssentials
import HighwaterRecords
import HighwaterReports
import HighwaterSystem
import Testing

/// Notes as typed findings: readers ask a note's kind; `notes` stays an array of strings on disk, with the kinds in
/// `note_kinds` beside it, and results written before kinds were stored still give the kinds the report reads.
@Suite("Findings")
struct FindingTests {
    @Test("each finding a reader looks for, rendered once")
    func rendered() {
        #expect(Finding.uploadBoundary(UploadBoundary(largestPassed: 63 << 20, smallestFailed: 64 << 20, failedStatus: 507))?.text
            == "uploads started failing at 64 MiB with status 507; the largest that passed was 63 MiB")
        #expect(Finding.uploadBoundary(UploadBoundary(smallestFailed: 1 << 20, failedStatus: 0, failedError: "connection reset"))?.text
            == "uploads started failing at 1 MiB with no answer (connection reset)")
        #expect(Finding.recordsLost(RecordLosses(samples: 3, requests: 0, first_error: "write(requests.jsonl): ENOSPC")).text
            == "3 samples and 0 request records could not be written: write(requests.jsonl): ENOSPC")
        #expect(Finding.recordsLost(count: 12).text == "12 records could not be written: the results are incomplete")
        let heap = Finding.liveHeap(start: 1_048_576, end: 3 * 1_048_576, rssGrowth: 4 << 20, how: "read live from 1 process", census: nil)
        #expect(heap.kind == .liveHeap && heap.text == "The live heap (the agent, read live from 1 process) went from 1 MiB to 3 MiB over the phase, while RSS grew 4 MiB.")
    }

    @Test("kinds survive a round trip beside notes that stay strings, and later plain notes stay plain")
    func roundTrip() throws {
        var run = RunSummary(scenario: "record", run_id: "01-post", config: "01-post")
        run.notes = ["the first failed request: 507"]
        run.note(try #require(.uploadBoundary(UploadBoundary(largestPassed: 1 << 20, smallestFailed: 2 << 20, failedStatus: 507))))
        run.notes = (run.notes ?? []) + ["uploads started failing is also how this plain sentence begins"]
        run.note(Finding("a note for people"))
        let document = try RecordCoding.document(run)
        let read = try RecordCoding.decode(RunSummary.self, from: document)
        #expect(read.notes?.count == 4 && read.note_kinds == ["note", "upload_boundary", "note", "note"])
        #expect(read.findings.map(\.kind) == [.note, .uploadBoundary, .note, .note])
        #expect(read.notes(.uploadBoundary) == ["uploads started failing at 2 MiB with status 507; the largest that passed was 1 MiB"])
        let plain = try #require(try JSONDecoder().decode(SchemaDocument.Value.self, from: Data(document))["notes"]?.array)
        #expect(plain.allSatisfy { $0.string != nil })
    }

    @Test("a run without a finding of a kind a reader looks for writes no note_kinds")
    func plainNotesOnly() throws {
        var run = RunSummary(scenario: "s", run_id: "1", config: "c")
        run.note(Finding("only people read this"))
        #expect(run.note_kinds == nil && run.notes == ["only people read this"])
        #expect(!String(decoding: try RecordCoding.document(run), as: UTF8.self).contains("note_kinds"))
    }

    @Test("a record of an earlier build, without note_kinds, still gives its live-heap findings their kind")
    func storedRecordRecognised() throws {
        let runs = try RecordCoding.decode(ResultsSummary.self, from: StoredResultsTests.bytes("record-agent")).runs
        #expect(runs.allSatisfy { $0.note_kinds == nil })
        let heap = runs.flatMap { $0.notes(.liveHeap) }
        #expect(!heap.isEmpty && heap.allSatisfy { $0.hasPrefix("The live heap (the agent, ") })
        #expect(runs.flatMap { $0.findings }.filter { $0.kind == .note }.allSatisfy { !$0.text.hasPrefix("The live heap") })
        var older = RunSummary(scenario: "record", run_id: "01-post", config: "01-post")
        older.notes = ["uploads started failing at 64 MiB with status 507; the largest that passed was 63 MiB", "a plain note"]
        #expect(older.findings.map(\.kind) == [.uploadBoundary, .note])
    }

    @Test("the report's upload line comes from a note's kind, not its words")
    func reportReadsTheKind() throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-findings-report")
        defer { TestSupport.removeTree(dir) }
        var kinded = RunSummary(scenario: "record", run_id: "01-post", config: "01-post")
        kinded.note(Finding(.uploadBoundary, "a boundary worded otherwise"))
        var plain = RunSummary(scenario: "record", run_id: "02-post", config: "02-post")
        plain.note(Finding(.recordsLost, "1 records could not be written: the results are incomplete"))
        plain.notes?.append("uploads started failing at 1 MiB, says a plain note")
        try FileTree.writeAtomically(try RecordCoding.document(ResultsSummary(highwater_version: "0", runs: [kinded, plain])), to: dir + "/summary.json")
        let model = ReportModel(try ResultsLoader.load(resultsDirectory: dir))
        let lines = ScenarioFindings(try #require(model.scenarios.first)).lines.filter { $0.kind == .uploads }
        #expect(lines.map(\.configs) == [["01-post"]] && lines.first?.text.hasSuffix("a boundary worded otherwise") == true)
    }
}
