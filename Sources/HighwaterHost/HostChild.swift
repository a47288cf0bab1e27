@preconcurrency import Glibc
import HighwaterRecords
import HighwaterSystem
import HighwaterUploads

/// The child side of a run, as Highwater starts it: `EXECUTABLE host --plan PLAN --out DIR [--mount-tmpfs PATH=BYTES]…
/// [--no-record]`, with a lifeline on descriptor 3. `highwater host` (the built-in workloads) and a user's own host
/// (`Host.main`) are this one code path with different routes.
package enum HostChild {
    /// What the parent asked for on the command line.
    package struct Arguments: Equatable, Sendable {
        package var plan: String
        package var out: String
        package var mounts: [(path: String, bytes: UInt64)] = []
        package var record = true

        package init(plan: String, out: String, mounts: [(path: String, bytes: UInt64)] = [], record: Bool = true) {
            self.plan = plan; self.out = out; self.mounts = mounts; self.record = record
        }

        package static func == (a: Arguments, b: Arguments) -> Bool {
            a.plan == b.plan && a.out == b.out && a.record == b.record
                && a.mounts.map(\.path) == b.mounts.map(\.path) && a.mounts.map(\.bytes) == b.mounts.map(\.bytes)
        }

        /// Parses the arguments after the program's name; the first must be `host`.
        package static func parse(_ arguments: [String]) throws(HostFailure) -> Arguments {
            guard arguments.first == "host" else {
                throw .badInput("this program is a Highwater host: Highwater starts it as `\(arguments.first ?? "PROGRAM") host --plan PLAN --out DIR`; name it in a scenario (host: {command: PATH}) rather than running it by hand")
            }
            var plan: String?, out: String?, mounts: [(path: String, bytes: UInt64)] = [], record = true
            var rest = arguments.dropFirst()[...]
            while let word = rest.popFirst() {
                switch word {
                case "--plan", "--out", "--mount-tmpfs":
                    guard let value = rest.popFirst() else { throw .badInput("\(word) needs a value") }
                    if word == "--plan" { plan = value } else if word == "--out" { out = value } else {
                        guard let mount = parseMount(value) else { throw .badInput("--mount-tmpfs \(value): expected PATH=BYTES") }
                        mounts.append(mount)
                    }
                case "--no-record":
                    record = false
                default:
                    throw .badInput("unknown argument \(word); a host takes --plan PLAN --out DIR [--mount-tmpfs PATH=BYTES] [--no-record]")
                }
            }
            guard let plan, let out else { throw .badInput("a host needs --plan PLAN and --out DIR") }
            return Arguments(plan: plan, out: out, mounts: mounts, record: record)
        }
    }

    /// Parses one `--mount-tmpfs PATH=SIZE` argument.
    package static func parseMount(_ text: String) -> (path: String, bytes: UInt64)? {
        guard let eq = text.lastIndex(of: "="), let bytes = UInt64(text[text.index(after: eq)...]) else { return nil }
        return (String(text[..<eq]), bytes)
    }

    /// Reads the plan, mounts what was asked for, and serves the plan with `routes` until told to stop.
    package static func serve(_ arguments: Arguments, routes: RouteMaker) throws(HostFailure) {
        // Never outlive the parent that drives us (its lifeline, not the thread that spawned us).
        let lifeline = Lifeline.fromParent()
        lifeline?.endIfCut()
        Interruption.install()
        let data: [UInt8]
        do {
            data = try FileTree.readBytes(arguments.plan, limit: 16 << 20)
        } catch {
            throw .badInput("cannot read the run plan \(arguments.plan): \(error.reason); Highwater writes it for the host it starts")
        }
        let plan: RunPlan
        do {
            plan = try RecordCoding.decode(RunPlan.self, from: data)
        } catch {
            throw .badInput("\(arguments.plan) is not a run plan: \(DecodingExplanation.describe(error)); Highwater writes it for the host it starts")
        }
        for mount in arguments.mounts {
            guard PrivateMounts.isPrivate() else {
                throw .badInput("--mount-tmpfs needs a private mount namespace; `run` starts the host under `unshare --mount`")
            }
            do { try PrivateTmpfs.mount(at: mount.path, size: mount.bytes) } catch {
                throw .couldNotRun("cannot mount the tmpfs: \(error)")
            }
        }
        do {
            try HostedConfiguration.serve(plan: plan, files: .init(directory: arguments.out, portFile: arguments.out + "/port"),
                                          routes: routes, record: arguments.record, lifeline: lifeline)
        } catch let e as ExecutorError {
            throw .badInput(e.description)
        } catch let e as HostFailure {
            throw e
        } catch let e as CustomStringConvertible & Error {
            // A workload's own bad option (HarnessError) is the plan's fault, not the machine's.
            throw e is HostConfigurationError ? .badInput(e.description) : .couldNotRun(e.description)
        } catch {
            throw .couldNotRun("\(error)")
        }
    }
}

/// An error a route maker throws for a plan it cannot serve (a bad option): bad input, exit 2.
package protocol HostConfigurationError: Error, CustomStringConvertible {}

/// Why a host could not serve: the plan or arguments were wrong (exit 2), or the machine could not (exit 3).
package enum HostFailure: Error, CustomStringConvertible, Equatable {
    case badInput(String)
    case couldNotRun(String)

    package var description: String {
        switch self {
        case .badInput(let text), .couldNotRun(let text): return text
        }
    }

    /// The documented exit code: 2 bad input, 3 could not run.
    package var exitCode: Int32 {
        switch self {
        case .badInput: return 2
        case .couldNotRun: return 3
        }
    }
}
