import ArgumentParser
import HighwaterSessions
@preconcurrency import Glibc
import HighwaterRecords
import HighwaterSystem

@main
struct Highwater: AsyncParsableCommand {
    static let version = HighwaterVersion.current

    static let configuration = CommandConfiguration(
        commandName: "highwater",
        abstract: "Shows why a server's memory grows, and proves its limits before production does.",
        discussion: """
            Exit codes: 0 every expectation and limit holds; 1 an expectation or limit failed; \
            2 bad usage or a bad input file; 3 the run could not be carried out.
            """,
        version: version,
        subcommands: [RunCommand.self, CheckCommand.self, ReportCommand.self, DiffCommand.self, EnvCommand.self, SampleCommand.self, RecordCommand.self, WatchCommand.self, BenchCommand.self, HostCommand.self]
    )

    /// Maps every failure to the documented exit codes: usage errors are 2 (ArgumentParser says 64).
    static func main() async {
        do {
            var command = try parseAsRoot(joiningNegativePID(Array(CommandLine.arguments.dropFirst())))
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let failure as HighwaterFailure {
            Terminal.write(failure.message + "\n")
            Foundation_exit(failure.exitStatus)
        } catch {
            let code = exitCode(for: error)
            if code == .success || code == .failure && error is ExitCode {
                exit(withError: error)
            }
            let message = fullMessage(for: error)
            if !message.isEmpty { Terminal.write(message + "\n") }
            Foundation_exit(code == ExitCode.validationFailure ? ExitStatus.badInput.rawValue : code.rawValue)
        }
    }
}

/// `--pid -1` as `--pid=-1`: the parser would take `-1` for a flag and say the value is missing; joined, the value
/// reaches the check that says what is wrong with it. Arguments after `--` are the command's and stay as they are.
func joiningNegativePID(_ arguments: [String]) -> [String] {
    var out: [String] = []
    var i = 0
    while i < arguments.count {
        if arguments[i] == "--" { return out + arguments[i...] }
        if arguments[i] == "--pid", i + 1 < arguments.count, arguments[i + 1].hasPrefix("-"), Int(arguments[i + 1]) != nil {
            out.append("--pid=" + arguments[i + 1])
            i += 2
            continue
        }
        out.append(arguments[i])
        i += 1
    }
    return out
}

/// Ends the process with `code` (Glibc's exit, without Foundation).
func Foundation_exit(_ code: Int32) -> Never {
    Glibc.exit(code)
}

/// Exit codes others rely on (README, "Commands").
enum ExitStatus {
    static let held = ExitCode(0)
    static let failed = ExitCode(1)
    static let badInput = ExitCode(2)
    static let couldNotRun = ExitCode(3)
}

/// Parsers for option values with units.
struct DurationArgument: ExpressibleByArgument, CustomStringConvertible {
    var nanoseconds: UInt64
    init?(argument: String) {
        guard let parsed = try? Self.parse(argument) else { return nil }
        self = parsed
    }
    init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }
    static var defaultCompletionKind: CompletionKind { .default }

    /// The options' transform: a value out of bounds says which bound, and how to write one that is in.
    static func parse(_ text: String) throws -> DurationArgument {
        guard let magnitude = Quantity.durationMagnitude(text) else {
            throw ValidationError("not a duration: write a number and a unit, as 10ms, 0.5s, 2min or 1h")
        }
        guard magnitude > 0 else { throw ValidationError("a duration must be more than 0 (as 1ms or 1s)") }
        guard let ns = Quantity.nanoseconds(text), ns <= InputLimits.maxNanoseconds else {
            throw ValidationError("at most \(InputLimits.maxNanoseconds / 86_400_000_000_000) days (168h)")
        }
        return DurationArgument(nanoseconds: ns)
    }

    /// As a user writes it, so `--help` shows `10ms`: the largest unit that divides it.
    var defaultValueDescription: String {
        for (unit, size) in [("h", 3_600_000_000_000 as UInt64), ("min", 60_000_000_000), ("s", 1_000_000_000), ("ms", 1_000_000), ("us", 1_000)]
        where nanoseconds % size == 0 {
            return "\(nanoseconds / size)\(unit)"
        }
        return "\(nanoseconds)ns"
    }
    var description: String { defaultValueDescription }
}
