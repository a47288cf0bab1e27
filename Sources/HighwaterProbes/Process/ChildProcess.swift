@preconcurrency import Glibc
import Synchronization

/// How a child process ended.
public enum Termination: Equatable, Sendable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    public var description: String {
        switch self {
        case .exited(let code): return "exit \(code)"
        case .signaled(let sig):
            let names: [Int32: String] = [SIGKILL: "SIGKILL", SIGTERM: "SIGTERM", SIGINT: "SIGINT", SIGSEGV: "SIGSEGV",
                                          SIGABRT: "SIGABRT", SIGBUS: "SIGBUS", SIGILL: "SIGILL", SIGTRAP: "SIGTRAP",
                                          SIGPIPE: "SIGPIPE", SIGFPE: "SIGFPE"]
            return "signal \(sig)" + (names[sig].map { " (\($0))" } ?? "")
        }
    }

    public var succeeded: Bool { self == .exited(0) }

    init(status: Int32) {
        // WIFEXITED / WEXITSTATUS / WTERMSIG are macros; their arithmetic is fixed on Linux.
        if status & 0x7f == 0 { self = .exited((status >> 8) & 0xff) } else { self = .signaled(status & 0x7f) }
    }
}

/// A process Highwater started: spawned with posix_spawn, waited for, signalled, and never left behind.
public final class ChildProcess: @unchecked Sendable {
    public enum Output: Sendable {
        case inherit
        case null
        /// Created or truncated.
        case file(String)
    }

    public let pid: pid_t
    public let command: [String]
    /// Set once the child is reaped; polled from several tasks at once.
    private let reaped = Mutex<Termination?>(nil)
    private var ended: Termination? { reaped.withLock { $0 } }

    /// Starts `command[0]` (looked up in PATH) with the given arguments and environment.
    public init(_ command: [String], environment: [String: String]? = nil, stdout: Output = .inherit,
                stderr: Output = .inherit) throws {
        precondition(!command.isEmpty, "a command needs an executable")
        self.command = command
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (fd, output) in [(Int32(1), stdout), (Int32(2), stderr)] {
            switch output {
            case .inherit: break
            case .null: posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_WRONLY, 0)
            case .file(let path): posix_spawn_file_actions_addopen(&actions, fd, path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            }
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The child starts with default signal handling, whatever Highwater installed.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGINT); sigaddset(&defaults, SIGTERM); sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = command.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let env = (environment ?? ProcessEnvironment.current).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { env.forEach { free($0) } }
        var child: pid_t = 0
        let rc = posix_spawnp(&child, command[0], &actions, &attributes, argv, env)
        if rc != 0 { throw ProbeError.system("posix_spawnp", path: command[0], errno: rc) }
        pid = child
    }

    deinit {
        // Nothing we started outlives us.
        if ended == nil { _ = terminate(grace: 200_000_000) }
    }

    /// The termination if the child has ended; nil while it runs. Reaps it once.
    public func poll() -> Termination? {
        reaped.withLock { ended in
            if let ended { return ended }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { ended = Termination(status: status) }
            return ended
        }
    }

    /// Waits until the child ends or `timeoutNs` passes (nil: forever).
    public func wait(timeoutNs: UInt64? = nil) -> Termination? {
        if let ended { return ended }
        if timeoutNs == nil {
            while true {
                if let t = poll() { return t }
                usleep(2_000)
            }
        }
        let deadline = SystemFacts.monotonicNanoseconds() + timeoutNs!
        while SystemFacts.monotonicNanoseconds() < deadline {
            if let t = poll() { return t }
            usleep(2_000)
        }
        return poll()
    }

    public func signal(_ sig: Int32) {
        if ended == nil { kill(pid, sig) }
    }

    /// SIGTERM, then SIGKILL after `grace`; returns how it ended.
    @discardableResult
    public func terminate(grace: UInt64 = 2_000_000_000) -> Termination {
        if let t = poll() { return t }
        signal(SIGTERM)
        if let t = wait(timeoutNs: grace) { return t }
        signal(SIGKILL)
        return wait()!
    }
}
