import FoundationEssentials
import HighwaterRecords
import HighwaterReports
import HighwaterSystem
import Testing

/// Results directories written by earlier builds (Tests/StoredResults: hosted runs of every shipped kind of workload,
/// a named record of uvicorn, a record with the allocation agent) still load, and write back what they held.
@Suite("Stored results")
struct StoredResultsTests {
    static let directory = "Tests/StoredResults"
    static let stored = ["hosted", "record-named", "record-agent"]

    static func bytes(_ name: String) throws -> [UInt8] { try FileTree.readBytes(directory + "/" + name + "/summary.json") }
    static func json(_ bytes: [UInt8]) throws -> SchemaDocument.Value { try JSONDecoder().decode(SchemaDocument.Value.self, from: Data(bytes)) }

    @Test("an old summary.json decodes and re-encodes to the same JSON, key for key", arguments: stored)
    func roundTrip(_ name: String) throws {
        let original = try Self.bytes(name)
        let summary = try RecordCoding.decode(ResultsSummary.self, from: original)
        let written = try RecordCoding.document(summary)
        #expect(try Self.json(written) == Self.json(original))
        #expect(try RecordCoding.decode(ResultsSummary.self, from: written) == summary)
    }

    @Test("every workload name an earlier build wrote is a listed figure, and reads back as the same name", arguments: stored)
    func everyWrittenNameIsListed(_ name: String) throws {
        let runs = try Self.json(Self.bytes(name))["runs"]?.array ?? []
        let names = Set(runs.flatMap { $0["workload"]?.object.keys.map { $0 } ?? [] })
        for written in names {
            let figure = WorkloadFigure(name: written)
            #expect(figure.name == written)
            if case .unlisted = figure { Issue.record("\(written) is written but not listed in WorkloadFigure") }
        }
    }

    @Test("a figure this build does not list is kept through a round trip and shown in the report as a plain number")
    func unlistedFigureKept() throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-stored-unlisted")
        defer { TestSupport.removeTree(dir) }
        var run = RunSummary(scenario: "older", run_id: "1-a", config: "a")
        run.workload = try RecordCoding.decode(WorkloadFigures.self, from: Array(#"{"tmp_size": 4096.5, "tmp_capacity": 1048576}"#.utf8))
        #expect(run.workload?[.unlisted("tmp_size")] == 4096.5 && run.workload?[.tmpCapacity] == 1_048_576)
        let document = try RecordCoding.document(ResultsSummary(highwater_version: "0", runs: [run]))
        #expect(String(decoding: document, as: UTF8.self).contains(#""tmp_size" : 4096.5"#))
        try FileTree.writeAtomically(document, to: dir + "/summary.json")
        let (html, _) = try ReportWriter.write(resultsDirectory: dir)
        #expect(html.contains("<th>tmp_size</th>") && html.contains("<td>4097</td>") && html.contains("<td>1 MiB</td>"))
    }

    @Test("each unit as a person reads it", arguments: [
        (FigureUnit.bytes, 63 * 1_048_576.0, "63 MiB"), (.bytesPerSecond, 12 * 1_048_576, "12 MiB/s"), (.seconds, 4.2, "4.2 s"),
        (.secondsPerGiB, 0.8, "0.8 s/GiB"), (.milliseconds, 0.85, "850 µs"), (.milliseconds, 12.3, "12.3 ms"), (.count, 12, "12"),
        (.share, 0.4, "40%"), (.ratio, 2, "2"), (.factor, 1.5, "1.5x"), (.statusCode, 507, "507"), (.number, 7.25, "7.25"),
    ])
    func unitRendered(_ unit: FigureUnit, _ value: Double, _ text: String) {
        #expect(unit.format(value) == text)
    }

    @Test("every unit has a rendering test above, and every listed figure a unit other than `number`")
    func unitsCovered() {
        #expect(FigureUnit.allCases.count == 11)
        #expect(WorkloadFigure.listed.allSatisfy { $0.unit != .number && WorkloadFigure(name: $0.name) == $0 })
        #expect(Set(WorkloadFigure.listed.map(\.name)).count == WorkloadFigure.listed.count)
    }

    @Test("the report shows each stored figure in its unit")
    func reportFormatsByUnit() throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-stored-report")
        defer { TestSupport.removeTree(dir) }
        try FileTree.writeAtomically(try Self.bytes("hosted"), to: dir + "/summary.json")
        let (html, _) = try ReportWriter.write(resultsDirectory: dir)
        let runs = try RecordCoding.decode(ResultsSummary.self, from: Self.bytes("hosted")).runs
        var units = Set<FigureUnit>()
        for run in runs {
            for (figure, value) in run.workload?.all ?? [] {
                units.insert(figure.unit)
                #expect(html.contains("<td>\(figure.unit.format(value))</td>"), "\(run.config): \(figure.name)")
            }
        }
        #expect(units.isSuperset(of: [.bytes, .bytesPerSecond, .seconds, .secondsPerGiB, .milliseconds, .count, .share, .ratio, .factor]))
    }
}
