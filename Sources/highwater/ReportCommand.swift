import ArgumentParser
import HighwaterSessions

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Render the reports of a results directory: a self-contained HTML page, Markdown, JUnit XML and CSV.",
        discussion: """
            Reads DIR/summary.json and each run's requests.jsonl and samples.jsonl, and writes DIR/index.html \
            (one self-contained page, no network, printable: the findings per scenario first, then the runs by \
            severity, an overlay chart of every configuration per scenario, each run's charts, and flame graphs that \
            zoom on a click and highlight a search), DIR/report.md (the same findings and tables in at most 60,000 \
            characters, for a CI summary or a pull-request comment), DIR/junit.xml (one test case per expectation, \
            with each run's duration) and DIR/<scenario>/<run_id>/requests.csv. The verdicts are those summary.json \
            stores: stable, plateau, retention, a leak, still growing, inconclusive.
            """
    )

    @Argument(help: "The results directory written by `highwater run --out DIR`.")
    var directory = "results"

    func run() throws {
        try ReportSession.run(directory: directory)
    }
}
