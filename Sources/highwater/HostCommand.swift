import ArgumentParser
import HighwaterHost
import HighwaterWorkloads

struct HostCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "host",
        abstract: "Serve one configuration as the child of a run (started by `run` and `check`).",
        discussion: """
            Binds 127.0.0.1 on an ephemeral port and writes it to DIR/port; samples itself into \
            DIR/samples.jsonl and records every request into DIR/requests.jsonl; stops on \
            POST /_highwater/shutdown or SIGTERM. Dies with its parent (the lifeline pipe). A user's own host \
            (HighwaterHost's Host.main) takes the same arguments.
            """,
        // Internal: only `run` and `check` start it.
        shouldDisplay: false
    )

    @Option(help: "The run plan (JSON) to serve.")
    var plan: String

    @Option(help: "The run directory.")
    var out: String

    @Option(name: .customLong("mount-tmpfs"), help: ArgumentHelp(
        "Mount a tmpfs of SIZE bytes at PATH first (PATH=SIZE; repeatable). Only inside a private mount namespace.",
        valueName: "path=size"))
    var mountTmpfs: [String] = []

    @Flag(name: .customLong("no-record"), help: "Do not record requests (for measuring the recording's cost).")
    var noRecord = false

    func run() throws {
        var mounts: [(path: String, bytes: UInt64)] = []
        for text in mountTmpfs {
            guard let mount = HostChild.parseMount(text) else { throw HighwaterFailure.badInput("--mount-tmpfs \(text): expected PATH=BYTES") }
            mounts.append(mount)
        }
        do {
            try HostChild.serve(.init(plan: plan, out: out, mounts: mounts, record: !noRecord), routes: BuiltInWorkloads.routes)
        } catch {
            switch error {
            case .badInput(let text): throw HighwaterFailure.badInput(text)
            case .couldNotRun(let text): throw HighwaterFailure.couldNotRun(text)
            }
        }
    }
}
