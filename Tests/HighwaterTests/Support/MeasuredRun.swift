@preconcurrency import Glibc
import HighwaterProbes

/// A command run as a real child in its own process group, with what `wait4` says it cost: wall time from start
/// to exit, and the peak RSS of it and the descendants it waited for (`ru_maxrss`).
struct MeasuredRun {
    var status: Int32
    var stdout: String
    var stderr: String
    var seconds: Double
    var peakRSSBytes: UInt64
    /// Seconds from `signal` being sent to the group to the exit, when one was sent.
    var secondsAfterSignal: Double?

    var exitCode: Int32? { (status & 0x7f) == 0 ? (status >> 8) & 0xff : nil }
    var killedBy: Int32? { (status & 0x7f) != 0 ? status & 0x7f : nil }

    /// Starts `command`; `signalWhen` is polled every 10 ms and, once it says true, `signal` goes to the process
    /// group (as a terminal's Ctrl-C does). Killed after `timeout` seconds.
    static func run(_ command: [String], environment: [String: String] = ProcessEnvironment.current, timeout: Double = 60,
                    signal: Int32 = SIGINT, signalWhen: (() -> Bool)? = nil) -> MeasuredRun {
        let dir = TestSupport.makeTemporaryDirectory("hw-measured")
        defer { TestSupport.removeTree(dir) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, dir + "/out", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, dir + "/err", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)
        let argv = command.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        var pid: pid_t = 0
        let start = SystemFacts.monotonicNanoseconds()
        guard posix_spawn(&pid, command[0], &actions, &attributes, argv, envp) == 0 else {
            return MeasuredRun(status: 127 << 8, stdout: "", stderr: "cannot start \(command[0])", seconds: 0, peakRSSBytes: 0)
        }
        var status: Int32 = 0
        var usage = rusage()
        var signalledAt: UInt64?
        while true {
            let r = wait4(pid, &status, WNOHANG, &usage)
            if r == pid { break }
            let now = SystemFacts.monotonicNanoseconds()
            if signalledAt == nil, let signalWhen, signalWhen() {
                signalledAt = SystemFacts.monotonicNanoseconds()
                kill(-pid, signal)
            }
            if Double(now - start) / 1e9 > timeout { kill(-pid, SIGKILL) }
            usleep(2_000)
        }
        let end = SystemFacts.monotonicNanoseconds()
        // The process group may hold a hosted child the parent left: none may outlive the test.
        kill(-pid, SIGKILL)
        return MeasuredRun(status: status, stdout: (try? ProcFile.read(dir + "/out")) ?? "", stderr: (try? ProcFile.read(dir + "/err")) ?? "",
                           seconds: Double(end - start) / 1e9, peakRSSBytes: UInt64(max(0, usage.ru_maxrss)) * 1024,
                           secondsAfterSignal: signalledAt.map { Double(end - $0) / 1e9 })
    }
}
