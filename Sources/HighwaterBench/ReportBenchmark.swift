import HighwaterRecords
import HighwaterReports
import HighwaterSynthetic
import HighwaterSystem

/// How long the report takes for a big run, and how big the page is: issue 6 asks for a
/// 1,000,000-request run rendered in under 10 s into under 5 MiB.
package enum ReportBenchmark {
    package struct Result: Sendable, CustomStringConvertible {
        package var requests: Int
        package var generateSeconds: Double
        package var renderSeconds: Double
        package var htmlBytes: Int
        package var markdownBytes: Int
        package var requestsFileBytes: Int

        package var description: String {
            "report of \(requests) requests (requests.jsonl \(Quantity.formatBytes(requestsFileBytes))): rendered in "
                + "\(Quantity.format(renderSeconds)) s, index.html \(Quantity.formatBytes(htmlBytes)), report.md \(Quantity.formatBytes(markdownBytes)) "
                + "(synthetic data written in \(Quantity.format(generateSeconds)) s)"
        }
    }

    /// Writes a synthetic results directory with one run of `requests` requests (a lazy pool filling up)
    /// into `directory`, then renders every report of it and times that.
    package static func run(requests: Int, directory: String) throws -> Result {
        let clock = ContinuousClock()
        let generateStart = clock.now
        try SyntheticResults.write(directory: directory, runs: [
            .init(scenario: "threadpool-growth", config: "lazy-16", shape: .plateau(threads: 16, perThread: 25 << 20), requests: requests)
        ])
        let generated = clock.now - generateStart
        let renderStart = clock.now
        let (html, markdown) = try ReportWriter.write(resultsDirectory: directory)
        let rendered = clock.now - renderStart
        let size = (try? FileTree.size(directory + "/threadpool-growth/run-1/requests.jsonl")) ?? 0
        return Result(requests: requests, generateSeconds: seconds(generated), renderSeconds: seconds(rendered),
                      htmlBytes: html.utf8.count, markdownBytes: markdown.utf8.count, requestsFileBytes: size)
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
