@preconcurrency import Glibc
import Synchronization

/// How a child process ended.
package enum Termination: Equatable, Sendable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    package var description: String {
        switch self {
        case .exited(let code): return "exit \(code)"
        case .signaled(let sig):
            let names: [Int32: String] = [SIGKILL: "SIGKILL", SIGTERM: "SIGTERM", SIGINT: "SIGINT", SIGSEGV: "SIGSEGV",
                                          SIGABRT: "SIGABRT", SIGBUS: "SIGBUS", SIGILL: "SIGILL", SIGTRAP: "SIGTRAP",
                                          SIGPIPE: "SIGPIPE", SIGFPE: "SIGFPE"]
            return "signal \(sig)" + (names[sig].map { " (\($0))" } ?? "")
        }
    }

    package var succeeded: Bool { self == .exited(0) }

    init(status: Int32) {
        // WIFEXITED / WEXITSTATUS / WTERMSIG are macros; their arithmetic is fixed on Linux.
        if status & 0x7f == 0 { self = .exited((status >> 8) & 0xff) } else { self = .signaled(status & 0x7f) }
    }
}

/// A process Highwater started: spawned with posix_spawn, waited for, signalled, and never left behind.
///
/// The pid is reaped only under `state`'s lock, and signals are sent under the same lock while the
/// child is still unreaped, so a signal can never reach a recycled pid.
package final class ChildProcess: Sendable {
    package enum Output: Sendable {
        case inherit
        case null
        /// Created or truncated.
        case file(String)
    }

    enum State: Sendable {
        case running
        case ended(Termination)
    }

    package let pid: pid_t
    package let command: [String]
    private let state = Mutex(State.running)

    /// Starts `command[0]` (looked up in PATH) with the given arguments and environment.
    /// - Parameter lifeline: hand the child the end of `Lifeline` that tells it when Highwater is gone.
    /// - Parameter processGroup: start a process group of its own, so a signal to `-pid` reaches it and what it starts.
    package init(_ command: [String], environment: [String: String]? = nil, stdout: Output = .inherit,
                stderr: Output = .inherit, lifeline: Bool = false, processGroup: Bool = false) throws(SystemError) {
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
        var environment = environment ?? ProcessEnvironment.current
        environment[Lifeline.environmentKey] = nil
        if lifeline, let readEnd = Lifeline.parentReadEnd {
            posix_spawn_file_actions_adddup2(&actions, readEnd, Lifeline.childDescriptor)
            environment[Lifeline.environmentKey] = String(Lifeline.childDescriptor)
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
        var flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK
        if processGroup {
            flags |= POSIX_SPAWN_SETPGROUP
            posix_spawnattr_setpgroup(&attributes, 0)
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let argv = command.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let env = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { env.forEach { free($0) } }
        var child: pid_t = 0
        let rc = posix_spawnp(&child, command[0], &actions, &attributes, argv, env)
        if rc != 0 { throw SystemError("posix_spawnp", path: command[0], errno: rc) }
        pid = child
    }

    deinit {
        // Nothing we started outlives us.
        if poll() == nil { _ = terminate(grace: 200_000_000) }
    }

    /// The termination if the child has ended; nil while it runs. Reaps it once.
    package func poll() -> Termination? {
        state.withLock { state in
            if case .ended(let termination) = state { return termination }
            var status: Int32 = 0
            guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
            let termination = Termination(status: status)
            state = .ended(termination)
            return termination
        }
    }

    /// Sends `sig` if the child has not been reaped (so its pid is still its own).
    package func signal(_ sig: Int32) {
        state.withLock { state in
            if case .running = state { _ = kill(pid, sig) }
        }
    }

    /// Blocks the calling thread until the child ends or `timeoutNs` passes (nil: forever).
    /// For synchronous callers; async code uses `exit(timeoutNs:)`, which does not hold a pool thread.
    package func wait(timeoutNs: UInt64? = nil) -> Termination? {
        let deadline = timeoutNs.map { MonotonicClock.nanoseconds() &+ $0 }
        while true {
            if let t = poll() { return t }
            if let deadline, MonotonicClock.nanoseconds() >= deadline { return nil }
            MonotonicClock.sleep(nanoseconds: 2_000_000)
        }
    }

    /// Suspends until the child ends or `timeoutNs` passes (nil: forever), without blocking a thread.
    package func exit(timeoutNs: UInt64? = nil) async -> Termination? {
        let deadline = timeoutNs.map { MonotonicClock.nanoseconds() &+ $0 }
        while true {
            if let t = poll() { return t }
            if let deadline, MonotonicClock.nanoseconds() >= deadline { return nil }
            try? await Task.sleep(nanoseconds: 2_000_000)
        }
    }

    /// SIGTERM, then SIGKILL after `grace`; returns how it ended. Blocks the calling thread.
    @discardableResult
    package func terminate(grace: UInt64 = 2_000_000_000) -> Termination {
        if let t = poll() { return t }
        signal(SIGTERM)
        if let t = wait(timeoutNs: grace) { return t }
        signal(SIGKILL)
        return wait()!
    }

    /// SIGTERM, then SIGKILL after `grace`, without blocking a thread.
    @discardableResult
    package func terminate(grace: UInt64 = 2_000_000_000) async -> Termination {
        if let t = poll() { return t }
        signal(SIGTERM)
        if let t = await exit(timeoutNs: grace) { return t }
        signal(SIGKILL)
        return await exit()!
    }
}
