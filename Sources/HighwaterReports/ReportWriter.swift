/// The entry point: reads a results directory and writes its reports beside the data.
package enum ReportWriter {
    /// Writes `DIR/index.html`, `DIR/report.md`, `DIR/junit.xml` and `requests.csv` in each run's folder;
    /// returns the page and the Markdown.
    @discardableResult
    package static func write(resultsDirectory dir: String) throws -> (html: String, markdown: String) {
        let model = ReportModel(try ResultsLoader.load(resultsDirectory: dir))
        let html = HTMLReport.render(model)
        let markdown = MarkdownReport.render(model)
        do {
            try ReportFile.write(dir + "/index.html", html)
            try ReportFile.write(dir + "/report.md", markdown)
            try ReportFile.write(dir + "/junit.xml", JUnitReport.render(model))
            for run in model.allRuns where run.data.requests.count > 0 {
                _ = try CSVExport.write(run.data, facts: run.facts)
            }
        } catch let error as ReportError {
            throw ReportError(error.message + "; check that \(dir) is writable and its disk has room", kind: .output)
        }
        return (html, markdown)
    }
}
