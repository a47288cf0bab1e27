import HighwaterReports

/// `highwater diff` (and `check --baseline`): two results directories compared, said on the terminal and written
/// as HTML and Markdown.
package enum DiffSession {
    /// The comparison of `before` and `after`; results that cannot be compared are bad input (exit 2).
    package static func compare(_ before: String, _ after: String, tolerance: Double) throws -> ResultsComparison {
        do { return try ResultsComparison(before: before, after: after, tolerance: tolerance) } catch let error as ReportError {
            throw HighwaterFailure.badInput(error.description)
        }
    }

    package static func run(_ before: String, _ after: String, tolerance: Double, html: String?, markdown: String?,
                            say: (String) -> Void = { print($0, terminator: "") }) throws {
        let comparison = try compare(before, after, tolerance: tolerance)
        say(ComparisonReport.terminal(comparison))
        if let html { try ResultsFile.save(ComparisonReport.html(comparison), to: html) }
        if let markdown { try ResultsFile.save(ComparisonReport.markdown(comparison), to: markdown) }
    }
}
