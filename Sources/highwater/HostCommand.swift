import ArgumentParser
import CHighwater
import FoundationEssentials
@preconcurrency import Glibc
import HighwaterRecords
import HighwaterHarness
import HighwaterProbes
import HighwaterUploads
import HighwaterSystem

struct HostCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "host",
        abstract: "Serve one configuration as the child of a run (started by `run` and `check`).",
        discussion: """
            Binds 127.0.0.1 on an ephemeral port and writes it to DIR/port; samples itself into \
            DIR/samples.jsonl and records every request into DIR/requests.jsonl; stops on \
            POST /_highwater/shutdown or SIGTERM. Dies with its parent (the lifeline pipe).
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
        // Never outlive the parent that drives us (its lifeline, not the thread that spawned us).
        let lifeline = Lifeline.fromParent()
        lifeline?.endIfCut()
        Interruption.install()
        let data: [UInt8]
        do {
            data = try ResultsFile.read(plan)
        } catch {
            throw HighwaterFailure.badInput("cannot read the run plan \(plan): \(error.reason); `highwater run` writes it for the host it starts")
        }
        let runPlan: RunPlan
        do {
            runPlan = try RecordCoding.decode(RunPlan.self, from: data)
        } catch {
            throw HighwaterFailure.badInput("\(plan) is not a run plan: \(DecodingExplanation.describe(error)); `highwater run` writes it for the host it starts")
        }
        for text in mountTmpfs {
            guard let (path, bytes) = RunStorage.parseMount(text) else {
                throw HighwaterFailure.badInput("--mount-tmpfs \(text): expected PATH=BYTES")
            }
            guard PrivateMounts.isPrivate() else {
                throw HighwaterFailure.badInput("--mount-tmpfs needs a private mount namespace; `run` starts the host under `unshare --mount`")
            }
            do {
                try PrivateTmpfs.mount(at: path, size: bytes)
            } catch {
                throw HighwaterFailure.couldNotRun("cannot mount the tmpfs: \(error)")
            }
        }
        do {
            try HostedConfiguration.serve(plan: runPlan, files: .init(directory: out, portFile: out + "/port"), record: !noRecord,
                                          lifeline: lifeline)
        } catch let e as ExecutorError {
            throw HighwaterFailure.badInput(e.description)
        } catch let e as HarnessError {
            throw HighwaterFailure.badInput(e.description)
        } catch {
            throw HighwaterFailure.couldNotRun("\(error)")
        }
    }
}
