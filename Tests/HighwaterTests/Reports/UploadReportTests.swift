import FoundationEssentials
import HighwaterRecords
import HighwaterReports
import HighwaterSynthetic
import Testing

/// The upload part of the report, from synthetic results of seed 001 in small: spooled uploads into a 64 MiB
/// tmpfs pass below 64 MiB and fail from it, streamed uploads pass every size.
@Suite("Upload reports")
struct UploadReportTests {
    static let mib: UInt64 = 1 << 20
    static let capacity = 64 * mib
    static let sizes: [UInt64] = [1, 16, 63, 64, 65, 128].map { $0 * mib }

    static func render() throws -> (dir: String, html: String, markdown: String) {
        let dir = TestSupport.makeTemporaryDirectory("hw-report-uploads")
        try SyntheticResults.write(directory: dir, runs: SyntheticResults.standard(requests: 300),
                                   uploads: SyntheticResults.uploads(scenario: "spooled-upload-enospc", tmpCapacity: capacity, sizes: sizes, requests: 2))
        let (html, markdown) = try ReportWriter.write(resultsDirectory: dir)
        return (dir, html, markdown)
    }

    /// The HTML of one scenario's section.
    static func section(_ name: String, in html: String) throws -> Substring {
        let start = try #require(html.firstRange(of: "<h2>\(name)</h2>"))
        let rest = html[start.lowerBound...]
        return rest[..<(rest.firstRange(of: "</section>\n")?.upperBound ?? rest.endIndex)]
    }

    @Test func boundarySentenceChartAndCapacityLine() throws {
        let (dir, html, markdown) = try Self.render()
        defer { TestSupport.removeTree(dir) }
        let spooled = "upload-spooled: largest passed 63 MiB, smallest failed 64 MiB, predicted boundary 64 MiB (tmpfs capacity 64 MiB)."
        let streamed = "upload-streamed passed every size (1 MiB to 128 MiB)."
        let uploads = try Self.section("spooled-upload-enospc", in: html)
        #expect(uploads.contains(spooled))
        #expect(uploads.contains(streamed))
        #expect(markdown.contains(spooled))
        #expect(markdown.contains(streamed))

        // The boundary chart: a row per workload, a pass mark per passing run and a cross per failing one.
        let chart = try #require(uploads.firstRange(of: "aria-label=\"Pass or fail by file size\"").map { uploads[$0.lowerBound...] })
        let boundary = chart[..<(chart.firstRange(of: "</svg>")?.lowerBound ?? chart.endIndex)]
        #expect(boundary.contains(">upload-spooled</text>"))
        #expect(boundary.contains(">upload-streamed</text>"))
        #expect(boundary.matches(of: /<circle [^>]*><title>[^<]* passed<\/title>/).count == 3 + 6)
        #expect(boundary.matches(of: /<path [^>]*><title>[^<]* failed<\/title>/).count == 3)
        #expect(boundary.contains("class=\"boundary\""))
        #expect(boundary.contains("predicted boundary 64 MiB (upload-spooled)"))

        // The temp dir chart draws the capacity as a limit line.
        let tmp = try #require(uploads.firstRange(of: "aria-label=\"Temp dir used during uploads\"").map { uploads[$0.lowerBound...] })
        let tmpChart = tmp[..<(tmp.firstRange(of: "</svg>")?.lowerBound ?? tmp.endIndex)]
        #expect(tmpChart.contains("tmpfs capacity 64 MiB"))
        #expect(tmpChart.contains("stroke-dasharray=\"6 3\""))
        #expect(tmpChart.contains("<title>upload-spooled-128MiB</title>"))
        #expect(!tmpChart.contains("<title>upload-streamed-128MiB</title>"))
        #expect(uploads.contains("upload-streamed-1MiB, upload-streamed-16MiB, upload-streamed-63MiB, upload-streamed-64MiB, upload-streamed-65MiB, upload-streamed-128MiB.</p>"))
        #expect(uploads.contains("aria-label=\"Bytes written per byte uploaded\""))
        #expect(uploads.contains("aria-label=\"Latency p50\""))

        // Markdown: a row per upload run with its result and bytes written per byte (2 spooled, 1 streamed).
        #expect(markdown.contains("| upload-spooled-63MiB | upload-spooled | 63 MiB | ✅ passed | 2 |"))
        #expect(markdown.contains("| upload-spooled-64MiB | upload-spooled | 64 MiB | ❌ failed |"))
        #expect(markdown.contains("| upload-streamed-128MiB | upload-streamed | 128 MiB | ✅ passed | 1 |"))
    }

    @Test func scenariosWithoutUploadsHaveNoUploadPart() throws {
        let (dir, html, markdown) = try Self.render()
        defer { TestSupport.removeTree(dir) }
        let memory = try Self.section("threadpool-growth", in: html)
        #expect(!memory.contains("Pass or fail by file size"))
        #expect(!memory.contains("Temp dir used during uploads"))
        let leak = try #require(markdown.firstRange(of: "\n## leak\n").map { markdown[$0.upperBound...] })
        let leakPart = leak[..<(leak.firstRange(of: "\n## ")?.lowerBound ?? leak.endIndex)]
        #expect(!leakPart.isEmpty)
        #expect(!leakPart.contains("### Uploads"))
        #expect(markdown.contains("### Uploads"))
    }

    @Test func missingFiguresFallBackToErrorsAndLeaveOutWhatIsUnknown() throws {
        let dir = TestSupport.makeTemporaryDirectory("hw-report-uploads-bare")
        defer { TestSupport.removeTree(dir) }
        var summary = try SyntheticResults.write(directory: dir, runs: [], uploads: SyntheticResults.uploads(
            scenario: "bare", tmpCapacity: Self.capacity, sizes: [Self.mib, 100 * Self.mib], requests: 1))
        // Only the file size is left: pass or fail comes from the error count, and no prediction is claimed.
        for k in summary.runs.indices { summary.runs[k].workload = summary.runs[k].workload.map { WorkloadFigures([.uploadFileBytes: $0[.uploadFileBytes]!]) } }
        try JSONEncoder().encode(summary).write(to: URL(filePath: dir + "/summary.json"))
        let (html, markdown) = try ReportWriter.write(resultsDirectory: dir)
        let sentence = "upload-spooled: largest passed 1 MiB, smallest failed 100 MiB."
        #expect(html.contains(sentence))
        #expect(markdown.contains(sentence))
        #expect(!html.contains("predicted boundary"))
        #expect(!html.contains("aria-label=\"Bytes written per byte uploaded\""))
    }
}
