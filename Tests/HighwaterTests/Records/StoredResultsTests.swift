import FoundationEssentials
import HighwaterRecords
import HighwaterReports
import HighwaterScenarios
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

    @Test("every configuration key an earlier build wrote reads into a typed property, and by its key as before", arguments: stored)
    func configurationTyped(_ name: String) throws {
        let raw = try Self.json(Self.bytes(name))["runs"]?.array ?? []
        let runs = try RecordCoding.decode(ResultsSummary.self, from: Self.bytes(name)).runs
        for (stored, run) in zip(raw, runs) {
            let c = try #require(run.configuration)
            #expect(c.unlisted.isEmpty, "\(run.config): \(c.unlisted)")
            for (key, value) in stored["configuration"]?.object ?? [:] { #expect(c[key: key] == value.string, "\(key)") }
        }
    }

    @Test("a named record of an earlier build: its configuration, phase, environment and load as typed values")
    func recordConfiguration() throws {
        let runs = try RecordCoding.decode(ResultsSummary.self, from: Self.bytes("record-named")).runs
        let arena2 = try #require(runs.first { $0.configuration?.config == "arena2" }?.configuration)
        #expect(arena2.phase == "01-get-work" && arena2.environment == ["MALLOC_ARENA_MAX": "2"])
        #expect(arena2.requests == 3000 && arena2.concurrency == 40 && arena2.executor == "external")
        #expect(arena2.loadSpec?.hasPrefix("GET http://127.0.0.1:") == true && arena2.target?.contains("uvicorn") == true)
        let hosted = try RecordCoding.decode(ResultsSummary.self, from: Self.bytes("hosted")).runs
        let download = try #require(hosted.first { $0.config == "accel-file-size-10MB-c10" }?.configuration)
        #expect(download.workload == "download-accel" && download.workloadOptions["file_size"] == "10 MB" && download.concurrency == 10)
        #expect(hosted.contains { $0.configuration?.rate != nil })
    }

    @Test("where filters address a stored run's configuration by its keys", arguments: [
        ("workload.file_size", "10 MB", true), ("workload.file_size", "10MB", true), ("workload.file_size", "1 MB", false), ("concurrency", "10", true),
        ("env.MALLOC_ARENA_MAX", "unset", true), ("workload", "download-*", true),
    ])
    func filterByConfigurationKey(_ path: String, _ pattern: String, _ held: Bool) throws {
        let hosted = try RecordCoding.decode(ResultsSummary.self, from: Self.bytes("hosted")).runs
        let run = try #require(hosted.first { $0.config == "accel-file-size-10MB-c10" })
        var expectation = try Expectation.parse(commandLine: "rss_growth < 1 GiB", cores: 2)
        expectation.filter.conditions = [(path, [pattern], expectation.location)]
        #expect(expectation.applies(to: run, setting: { _ in nil }) == held)
        let record = try RecordCoding.decode(ResultsSummary.self, from: Self.bytes("record-named")).runs
        expectation.filter.conditions = [("env.MALLOC_ARENA_MAX", ["2"], expectation.location), ("phase", ["01-*"], expectation.location)]
        #expect(record.map { expectation.applies(to: $0, setting: { _ in nil }) } == record.map { $0.configuration?.config == "arena2" })
    }

    @Test("a value that would not be written back as read stays under its key")
    func configurationOddValuesKept() throws {
        let object = #"{"concurrency": "040", "rate": "5", "requests": "many", "storage.tmpfs": "64MiB", "workload.load": "GET /"}"#
        let c = try RecordCoding.decode(RunConfiguration.self, from: Array(object.utf8))
        #expect(c.concurrency == nil && c.rate == nil && c.requests == nil && c.loadSpec == "GET /")
        #expect(c.unlisted == ["concurrency": "040", "rate": "5", "requests": "many", "storage.tmpfs": "64MiB"])
        #expect(try RecordCoding.decode(RunConfiguration.self, from: RecordCoding.document(c)) == c)
        #expect(c.flat.count == 5)
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
