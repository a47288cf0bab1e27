import ArgumentParser
import HighwaterRecords
import HighwaterReports

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Render the reports of a results directory: a self-contained HTML page, Markdown, JUnit XML and CSV.",
        discussion: """
            Reads DIR/summary.json and each run's requests.jsonl and samples.jsonl, and writes DIR/index.html \
            (inline SVG charts, no script, no network, printable), DIR/report.md (tables and verdicts for a CI \
            summary or a pull-request comment), DIR/junit.xml (one test case per expectation) and \
            DIR/<scenario>/<run_id>/requests.csv. Each run gets a diagnosis computed from the data: stable, \
            plateau (at which thread count, growth per thread) or a probable leak (slope per request and per hour).
            """
    )

    @Argument(help: "The results directory written by `highwater run --out DIR`.")
    var directory = "results"

    func run() throws {
        let written: (html: String, markdown: String)
        do {
            written = try ReportWriter.write(resultsDirectory: directory)
        } catch let error as ReportError {
            throw error.kind == .input ? HighwaterFailure.badInput(error.description) : HighwaterFailure.couldNotRun(error.description)
        } catch {
            throw HighwaterFailure.badInput("cannot read the results in \(directory): \(DecodingExplanation.describe(error))")
        }
        print("wrote \(directory)/index.html (\(written.html.utf8.count) bytes), \(directory)/report.md, \(directory)/junit.xml")
    }
}
