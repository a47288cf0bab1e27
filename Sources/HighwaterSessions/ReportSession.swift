import HighwaterRecords
import HighwaterReports

/// `highwater report`: a results directory's pages rendered again from the verdicts it stores.
package enum ReportSession {
    /// Writes DIR/index.html, report.md, junit.xml and each run's requests.csv, and says so; results that cannot be
    /// read are bad input (exit 2), pages that cannot be written could not run (exit 3).
    package static func run(directory: String, say: (String) -> Void = { print($0) }) throws {
        let written: (html: String, markdown: String)
        do {
            written = try ReportWriter.write(resultsDirectory: directory)
        } catch let error as ReportError {
            throw error.kind == .input ? HighwaterFailure.badInput(error.description) : HighwaterFailure.couldNotRun(error.description)
        } catch {
            throw HighwaterFailure.badInput("cannot read the results in \(directory): \(DecodingExplanation.describe(error))")
        }
        say("wrote \(directory)/index.html (\(written.html.utf8.count) bytes), \(directory)/report.md, \(directory)/junit.xml")
    }
}
