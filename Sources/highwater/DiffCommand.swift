import ArgumentParser
import HighwaterSessions

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare two results directories: per configuration, each figure before and after, and the sites that moved.",
        discussion: """
            For every configuration A and B share: steady RSS, growth, peak, threads, arenas, live heap, p99 and \
            requests/s side by side with the ratio B/A, and whether the change goes beyond the spread the repeats showed \
            (`repeat:`) and --tolerance. A configuration is better or worse by its memory figures. With allocation \
            profiles, the sites whose retained bytes changed most (as `go tool pprof -top -diff_base A/…/profile.pb.gz \
            B/…/profile.pb.gz` shows them). A and B may also be two run directories (DIR/<scenario>/<run_id>).

            Exit codes: 0 compared; 2 not results directories, written by different versions, or nothing in common.
            """
    )

    @Argument(help: "The results before (the baseline).")
    var before: String

    @Argument(help: "The results after.")
    var after: String

    @Option(help: "The least change that counts, as a share of the figure (e.g. 10%).")
    var tolerance = ToleranceArgument(share: 0.10)

    @Option(help: "Write the comparison as a self-contained HTML page.")
    var html: String?

    @Option(help: "Write the comparison as Markdown.")
    var markdown: String?

    func run() throws {
        try DiffSession.run(before, after, tolerance: tolerance.share, html: html, markdown: markdown)
    }
}

/// `10%` or `0.1`: a share of a figure.
struct ToleranceArgument: ExpressibleByArgument {
    var share: Double
    init(share: Double) { self.share = share }
    init?(argument: String) {
        let percent = argument.hasSuffix("%")
        guard let v = Double(percent ? String(argument.dropLast()) : argument), v >= 0, v.isFinite else { return nil }
        share = percent ? v / 100 : v
        if share > 10 { return nil }
    }
    var defaultValueDescription: String { "\(Int((share * 100).rounded()))%" }
}
