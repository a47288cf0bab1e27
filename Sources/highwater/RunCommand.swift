import ArgumentParser
@preconcurrency import Glibc
import HighwaterAnalysis
import HighwaterHarness
import HighwaterProbes

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run scenarios, each configuration in its own child process, and write the results.",
        discussion: """
            Writes DIR/summary.json (every run), and per run DIR/<scenario>/<run-id>/ with summary.json,
            requests.jsonl and samples.jsonl. Ctrl-C stops after the request in flight; what finished is kept.
            """
    )

    @Option(help: "Where to write results.")
    var out = "results"

    @Flag(help: "Shrink request counts for a smoke run.")
    var quick = false

    @Option(help: "Requests per configuration (overrides the scenario).")
    var requests: Int?

    func validate() throws {
        if let requests, requests < 1 { throw ValidationError("--requests must be 1 or more.") }
    }

    func run() async throws {
        Interruption.install()
        let count = requests ?? (quick ? 200 : 2000)
        let plans = BuiltInScenarios.threadpoolGrowth(requests: count) + BuiltInScenarios.leakVsPlateau(requests: count)
        let session = RunSession(outDirectory: out, executable: Executable.path, version: Highwater.version)
        let summaries: [RunSummary]
        do {
            summaries = try await session.run(plans)
        } catch {
            throw HighwaterFailure.couldNotRun("\(error)")
        }
        Terminal.line("wrote \(out)/summary.json (\(summaries.count) runs)")
        if Interruption.requested { throw HighwaterFailure.couldNotRun("interrupted; the finished runs are in \(out)") }
        let failed = summaries.flatMap(\.expectations).filter { !$0.passed }
        if !failed.isEmpty { throw ExitStatus.failed }
    }
}

enum Executable {
    /// This executable, to start as the hosted child.
    static var path: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return CommandLine.arguments[0] }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
