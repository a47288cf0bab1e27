@preconcurrency import Glibc
import CHighwater
import HighwaterSystem
import Synchronization

/// Matches `--ready-log` against the lines a target writes, on a thread of its own, every 50 ms until stopped.
/// Each line is matched once (the scan resumes after the last complete line), and a match that backtracks without
/// end holds only this thread: the waiter keeps its timeout and Ctrl-C, and the process ends the thread.
final class LogPatternWatcher: @unchecked Sendable {
    private struct State { var matched = false; var stopped = false }
    private let state = Mutex(State())
    private let pattern: String
    private let logs: [String]
    /// Where the next scan of each log starts: after the last complete line already matched.
    private var offsets: [Int]

    /// The most of a log read per scan: a chatty target's output is matched from its last MiB.
    static let window = 1 << 20

    init(pattern: String, logs: [String]) {
        self.pattern = pattern
        self.logs = logs
        offsets = Array(repeating: 0, count: logs.count)
        let box = Unmanaged.passRetained(self)
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            let watcher = Unmanaged<LogPatternWatcher>.fromOpaque(raw!).takeRetainedValue()
            hw_set_thread_name("hw-ready-log")
            watcher.watch()
            return nil
        }, box.toOpaque())
        if rc == 0 { pthread_detach(thread) } else { box.release() }
    }

    var matched: Bool { state.withLock { $0.matched } }

    func stop() { state.withLock { $0.stopped = true } }

    private func watch() {
        guard let regex = try? Regex(pattern) else { return }
        while !state.withLock({ $0.stopped }) {
            for i in logs.indices where scan(i, regex) {
                state.withLock { $0.matched = true }
                return
            }
            MonotonicClock.sleep(nanoseconds: 50_000_000)
        }
    }

    /// Matches the lines of log `i` written since the last scan; a last line without its newline is matched now
    /// and again once complete.
    private func scan(_ i: Int, _ regex: Regex<AnyRegexOutput>) -> Bool {
        guard let fd = try? FileTree.openRegularFile(logs[i]) else { return false }
        defer { Syscall.close(fd) }
        guard let size = (try? Syscall.status(descriptor: fd, path: logs[i])).map({ Int($0.st_size) }), size > offsets[i] else { return false }
        let start = max(offsets[i], size - Self.window)
        var buffer = [UInt8](repeating: 0, count: size - start)
        let n = buffer.withUnsafeMutableBytes { (try? Syscall.pread(fd, into: $0, at: start, path: logs[i])) ?? 0 }
        let bytes = buffer.prefix(n)
        if let lastNewline = bytes.lastIndex(of: 10) { offsets[i] = start + lastNewline + 1 }
        let text = String(decoding: bytes, as: UTF8.self)
        return text.split(separator: "\n").contains { line in
            if state.withLock({ $0.stopped }) { return false }
            return line.contains(regex)
        }
    }
}
