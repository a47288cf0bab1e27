@preconcurrency import Glibc

/// Ties a child's life to Highwater's process, not to the thread that spawned it.
///
/// `PR_SET_PDEATHSIG` fires when the spawning *thread* exits, and Swift's pool retires idle threads
/// after a few seconds, so a child whose request took longer was killed mid-run. Instead Highwater
/// holds the write end of one pipe for its whole life and never writes to it; each child that opts
/// in gets the read end and a thread that blocks reading it. The read returns end-of-file only when
/// every holder of the write end is gone — Highwater exited, however it died — and the child then
/// ends itself.
package enum Lifeline {
    /// The environment variable naming the descriptor at which a child finds its end of the lifeline.
    package static let environmentKey = "HIGHWATER_LIFELINE_FD"
    /// Where the read end is placed in a child (`dup2`), above stdin, stdout and stderr.
    package static let childDescriptor: Int32 = 3

    /// The read end to hand to children; the write end is kept open, unused, until this process ends.
    /// Both sit above the low descriptors so `dup2` onto 3 always makes a fresh, inheritable copy.
    static let parentReadEnd: Int32? = {
        guard let (r, w) = try? Syscall.pipe() else { return nil }
        let readEnd = fcntl(r, F_DUPFD_CLOEXEC, 64)
        let writeEnd = fcntl(w, F_DUPFD_CLOEXEC, 64)
        Syscall.close(r)
        Syscall.close(w)
        // writeEnd stays open, unused, for the life of this process: the kernel closing it when we exit is the signal.
        return readEnd >= 0 && writeEnd >= 0 ? readEnd : nil
    }()

    /// In a child started with a lifeline: its end, taken out of the environment so our own children do not
    /// mistake it for theirs; nil when this process has none.
    package static func fromParent() -> End? {
        guard let text = getenv(environmentKey).map({ String(cString: $0) }), let fd = Int32(text), fd >= 0 else {
            return nil
        }
        unsetenv(environmentKey)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        return End(descriptor: fd)
    }

    /// A child's end of the lifeline. Checked from a loop the child already runs, so watching it costs
    /// no thread of its own (a thread would show in the thread counts Highwater measures).
    package struct End: Sendable {
        package let descriptor: Int32

        /// True once the parent is gone: the pipe reports hang-up (no writer is left).
        package var isCut: Bool {
            var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&entry, 1, 0)
            return ready > 0 && entry.revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0
        }

        /// Ends this process at once, as the kernel's parent-death signal would have.
        package func endIfCut() {
            if isCut { kill(getpid(), SIGKILL) }
        }
    }
}
